// Integration tests of pulling: Debian's docker-registry on 127.0.0.1, images built here (a
// busybox-static rootfs layer, a layer with a whiteout and an opaque dir, gzip and zstd
// variants, a two-platform index), pushed with registry::Client and pulled with image::Puller
// through the RegistryFetcher wiring; then the snapshot tree, sharing, re-pulls, rm + gc, a pull
// SIGKILLed mid-download, and the berth-image binary.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "archive/archive.h"
#include "archive/compression.h"
#include "base/scope_guard.h"
#include "daemon/registry_fetcher.h"
#include "image/content/content_store.h"
#include "image/image_service.h"
#include "image/metadata.h"
#include "image/pull.h"
#include "image/snapshot/snapshotter.h"
#include "oci/image_spec.h"
#include "registry/client.h"
#include "registry/fake_server.h"
#include "registry/registry_process.h"
#include "sys/file.h"
#include "test_support.h"

namespace berth::image {
namespace {
using berth::test_support::Blob;
using berth::test_support::DescriptorJson;
using berth::test_support::MakeBlob;

namespace fs = std::filesystem;
using nlohmann::json;

using registry::testing_registry::kRegistryBinary;
using registry::testing_registry::RegistryProcess;

struct Layer {
  Blob blob;
  oci::Digest diff_id;
};

// Tars `dir` (as an overlay upper dir when `diff`) and compresses it.
Layer MakeLayer(const std::string& dir, archive::Compression c, bool diff) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << dir;
  archive::StringSink tar;
  auto s = diff ? archive::WriteDiff(fd, tar) : archive::WriteTree(fd, tar);
  EXPECT_TRUE(s) << s.error().message();
  close(fd);
  Layer l;
  l.diff_id = oci::Sha256Of(tar.data());
  std::string media = oci::media::kOciLayer;
  std::string bytes = tar.Take();
  if (c != archive::Compression::kNone) {
    archive::StringSink out;
    archive::CompressingSink z(out, c);
    EXPECT_TRUE(z.Write(bytes.data(), bytes.size()));
    EXPECT_TRUE(z.Close());
    bytes = out.Take();
    media =
        c == archive::Compression::kGzip ? oci::media::kOciLayerGzip : oci::media::kOciLayerZstd;
  }
  l.blob = MakeBlob(std::move(bytes), media);
  return l;
}

struct TestImage {
  std::vector<Layer> layers;
  Blob config, manifest;
};

TestImage MakeImage(std::vector<Layer> layers, const std::string& arch, const std::string& cmd) {
  TestImage img;
  img.layers = std::move(layers);
  json diff_ids = json::array(), layer_descs = json::array(), history = json::array();
  for (const auto& l : img.layers) {
    diff_ids.push_back(l.diff_id.ToString());
    layer_descs.push_back(DescriptorJson(l.blob.desc));
    history.push_back({{"created", "2024-01-02T03:04:05Z"}, {"created_by", "ADD layer"}});
  }
  history.push_back({{"created", "2024-01-02T03:04:06Z"},
                     {"created_by", "CMD [\"" + cmd + "\"]"},
                     {"empty_layer", true}});
  json config = {{"architecture", arch},
                 {"os", "linux"},
                 {"created", "2024-01-02T03:04:06Z"},
                 {"config",
                  {{"Cmd", {cmd}},
                   {"Env", {"PATH=/bin"}},
                   {"Labels", {{"org.berth.test", "yes"}}},
                   {"ExposedPorts", {{"80/tcp", json::object()}}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                 {"history", history}};
  img.config = MakeBlob(config.dump(), oci::media::kOciConfig);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", oci::media::kOciManifest},
                   {"config", DescriptorJson(img.config.desc)},
                   {"layers", layer_descs}};
  img.manifest = MakeBlob(manifest.dump(), oci::media::kOciManifest);
  return img;
}

void PushBlob(registry::Client& c, const registry::Repository& repo, const Blob& b) {
  auto exists = c.BlobExists(repo, b.desc.digest);
  ASSERT_TRUE(exists) << exists.error().message();
  if (*exists) return;
  registry::StringSource source(b.bytes);
  auto s = c.PushBlob(repo, b.desc, source);
  ASSERT_TRUE(s) << s.error().message();
}

void PushImage(registry::Client& c, const registry::Repository& repo, const TestImage& img,
               const std::string& tag) {
  for (const auto& l : img.layers) ASSERT_NO_FATAL_FAILURE(PushBlob(c, repo, l.blob));
  ASSERT_NO_FATAL_FAILURE(PushBlob(c, repo, img.config));
  auto d = c.PushManifest(repo, tag.empty() ? img.manifest.desc.digest.ToString() : tag,
                          img.manifest.desc.media_type, img.manifest.bytes);
  ASSERT_TRUE(d) << d.error().message();
}

// The stores of one berth root.
struct Stores {
  explicit Stores(const std::string& root) {
    content = std::make_unique<ContentStore>(*ContentStore::Open(root + "/content"));
    meta = std::move(*MetadataStore::Open(root));
    snapshots = std::move(*Snapshotter::Open(root + "/snapshots", meta.get()));
    service = std::make_unique<ImageService>(content.get(), meta.get(), snapshots.get(), nullptr);
  }
  std::unique_ptr<ContentStore> content;
  std::unique_ptr<MetadataStore> meta;
  std::unique_ptr<Snapshotter> snapshots;
  std::unique_ptr<ImageService> service;
};

class ImagePullTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kRegistryBinary, X_OK) != 0 || access("/bin/busybox", X_OK) != 0) return;
    registry_ = RegistryProcess::Start("", &error_).release();
    if (!registry_) return;
    char tmpl[] = "/tmp/berth-pull-src-XXXXXX";
    src_ = mkdtemp(tmpl);
    // Layer 1: a busybox-static rootfs (tests/integration/make-bundle.sh's layout, fewer
    // applets).
    std::string r = src_ + "/rootfs";
    for (const char* d : {"bin", "etc", "tmp", "root", "home/user", "home/other", "var/tmp"})
      fs::create_directories(r + "/" + d);
    fs::copy_file("/bin/busybox", r + "/bin/busybox");
    chmod((r + "/bin/busybox").c_str(), 0755);
    for (const char* a : {"sh", "ls", "cat", "true", "echo"})
      fs::create_symlink("busybox", r + "/bin/" + a);
    std::ofstream(r + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
    std::ofstream(r + "/etc/group") << "root:x:0:\n";
    std::ofstream(r + "/home/other/old") << "old\n";
    // Layer 2, an overlay upper dir: /etc/group whited out, /home opaque with one new file.
    std::string u = src_ + "/upper";
    fs::create_directories(u + "/etc");
    fs::create_directories(u + "/home");
    mknod((u + "/etc/group").c_str(), S_IFCHR | 0, makedev(0, 0));
    setxattr((u + "/home").c_str(), "trusted.overlay.opaque", "y", 1, 0);
    std::ofstream(u + "/home/new") << "new\n";
    std::ofstream(u + "/etc/motd") << "hello\n";

    base_gz_ = new Layer(MakeLayer(r, archive::Compression::kGzip, false));
    top_gz_ = new Layer(MakeLayer(u, archive::Compression::kGzip, true));
    base_zst_ = new Layer(MakeLayer(r, archive::Compression::kZstd, false));
    top_zst_ = new Layer(MakeLayer(u, archive::Compression::kZstd, true));
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
    if (!src_.empty()) fs::remove_all(src_);
  }

  void SetUp() override {
    if (access(kRegistryBinary, X_OK) != 0) GTEST_SKIP() << "docker-registry is not installed";
    if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static is not installed";
    if (geteuid() != 0) GTEST_SKIP() << "needs root (whiteout devices, trusted xattrs)";
    ASSERT_NE(registry_, nullptr) << error_;
    char tmpl[] = "/tmp/berth-pull-root-XXXXXX";
    root_ = mkdtemp(tmpl);
    stores_ = std::make_unique<Stores>(root_);
    copts_.hosts = &hosts_;
    copts_.initial_backoff = std::chrono::milliseconds(5);
    copts_.max_attempts = 3;
    fetcher_ = std::make_unique<daemon::RegistryFetcher>(copts_);
  }
  void TearDown() override {
    stores_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }

  std::string Domain() { return registry_->domain(); }
  oci::ImageReference Ref(const std::string& rest) {
    return *oci::ParseReference(Domain() + "/" + rest);
  }
  void Push(const TestImage& img, const std::string& repo, const std::string& tag) {
    registry::Client c(copts_);
    PushImage(c, {Domain(), repo}, img, tag);
  }
  base::Result<PullResult> Pull(const std::string& ref, std::vector<PullProgress>* events = nullptr,
                                const std::string& platform = "linux/amd64") {
    Puller puller(stores_->content.get(), stores_->meta.get(), stores_->snapshots.get(),
                  fetcher_.get());
    PullOptions o;
    o.platform = *oci::ParsePlatform(platform);
    o.progress = [events](const PullProgress& p) {
      if (events) events->push_back(p);
    };
    return puller.Pull(Ref(ref), o);
  }
  static inline RegistryProcess* registry_ = nullptr;
  static inline std::string error_, src_;
  static inline Layer *base_gz_, *top_gz_, *base_zst_, *top_zst_;
  std::string root_;
  std::unique_ptr<Stores> stores_;
  registry::RegistryHosts hosts_;
  registry::ClientOptions copts_;
  std::unique_ptr<daemon::RegistryFetcher> fetcher_;
};

int Count(const std::vector<PullProgress>& events, const std::string& status) {
  int n = 0;
  for (const auto& e : events) n += e.status == status;
  return n;
}

TEST_F(ImagePullTest, PullsLayersIntoSnapshotsWithWhiteoutsAndSharesThem) {
  TestImage gz = MakeImage({*base_gz_, *top_gz_}, "amd64", "sh");
  TestImage zst = MakeImage({*base_zst_, *top_zst_}, "amd64", "ls");
  ASSERT_NO_FATAL_FAILURE(Push(gz, "berth/busybox", "gz"));
  ASSERT_NO_FATAL_FAILURE(Push(zst, "berth/busybox", "zst"));

  std::vector<PullProgress> events;
  auto r = Pull("berth/busybox:gz", &events);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->image_id, gz.config.desc.digest);
  EXPECT_EQ(r->digest, gz.manifest.desc.digest);
  EXPECT_TRUE(r->updated);
  ASSERT_EQ(r->names.size(), 2u);
  EXPECT_EQ(r->names[0], Domain() + "/berth/busybox:gz");
  EXPECT_EQ(r->names[1], Domain() + "/berth/busybox@" + gz.manifest.desc.digest.ToString());
  EXPECT_EQ(Count(events, "Pulling fs layer"), 2);
  EXPECT_EQ(Count(events, "Download complete"), 2);
  EXPECT_EQ(Count(events, "Pull complete"), 2);
  EXPECT_EQ(Count(events, "Already exists"), 0);

  // The snapshot tree: busybox in the base, the whiteout and opaque dir in the top layer.
  auto chain = oci::ChainIds({base_gz_->diff_id, top_gz_->diff_id});
  auto base_dir = stores_->snapshots->LayerDir(chain[0]);
  auto top_dir = stores_->snapshots->LayerDir(chain[1]);
  ASSERT_TRUE(base_dir && top_dir);
  struct stat st;
  ASSERT_EQ(stat((*base_dir + "/bin/busybox").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(lstat((*top_dir + "/etc/group").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char buf[8] = {0};
  EXPECT_EQ(getxattr((*top_dir + "/home").c_str(), "trusted.overlay.opaque", buf, sizeof(buf)), 1);
  EXPECT_EQ(buf[0], 'y');
  auto parent = stores_->meta->GetSnapshot(chain[1]);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->parent, chain[0]);

  // A mounted view: the whiteout hides /etc/group, the opaque /home hides other/.
  auto view = stores_->snapshots->View(chain[1]);
  ASSERT_TRUE(view) << view.error().message();
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ((*view)[0].type, "overlay");
  std::string mnt = root_ + "/mnt";
  fs::create_directories(mnt);
  std::string data = (*view)[0].options[0];
  ASSERT_EQ(mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, data.c_str()), 0)
      << strerror(errno);
  base::ScopeGuard unmount([&] { umount2(mnt.c_str(), MNT_DETACH); });
  EXPECT_TRUE(fs::exists(mnt + "/bin/busybox"));
  EXPECT_TRUE(fs::exists(mnt + "/etc/passwd"));
  EXPECT_FALSE(fs::exists(mnt + "/etc/group"));
  EXPECT_TRUE(fs::exists(mnt + "/home/new"));
  EXPECT_FALSE(fs::exists(mnt + "/home/other"));
  EXPECT_EQ(umount(mnt.c_str()), 0);
  unmount.Dismiss();

  // The zstd variant has the same diff IDs: its layers exist already and are stored once.
  events.clear();
  auto z = Pull("berth/busybox:zst", &events);
  ASSERT_TRUE(z) << z.error().message();
  EXPECT_EQ(Count(events, "Already exists"), 2);
  EXPECT_EQ(stores_->meta->ListSnapshots()->size(), 2u);

  // Re-pull: nothing to do, and the name already pointed at the image.
  events.clear();
  auto again = Pull("berth/busybox:gz", &events);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(again->updated);
  EXPECT_EQ(Count(events, "Already exists"), 2);
  EXPECT_EQ(Count(events, "Downloading"), 0);

  // ls and inspect.
  auto list = stores_->service->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  auto info = stores_->service->Inspect(Domain() + "/berth/busybox:gz");
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->id, gz.config.desc.digest.ToString());
  EXPECT_EQ(info->layers.size(), 2u);
  EXPECT_EQ(info->config.cmd, std::vector<std::string>{"sh"});
  EXPECT_GT(info->size, 500000);
  auto history = stores_->service->History(Domain() + "/berth/busybox:gz");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].id, info->id);
  EXPECT_EQ((*history)[0].size, 0);
  EXPECT_EQ((*history)[2].id, "<missing>");
  EXPECT_GT((*history)[2].size, 500000);

  // rm the gz image: its own blobs go, shared snapshots and the zst image's blobs stay.
  auto rm = stores_->service->Remove(Domain() + "/berth/busybox:gz", false);
  ASSERT_TRUE(rm) << rm.error().message();
  ASSERT_EQ(rm->size(), 3u);  // untag tag, untag digest, delete
  EXPECT_EQ((*rm)[2].deleted, gz.config.desc.digest.ToString());
  EXPECT_FALSE(stores_->content->Exists(base_gz_->blob.desc.digest));
  EXPECT_FALSE(stores_->content->Exists(gz.config.desc.digest));
  // The zst layer blobs were never fetched: their snapshots existed ("Already exists").
  EXPECT_FALSE(stores_->content->Exists(base_zst_->blob.desc.digest));
  EXPECT_TRUE(stores_->content->Exists(zst.manifest.desc.digest));
  EXPECT_TRUE(stores_->content->Exists(zst.config.desc.digest));
  EXPECT_EQ(stores_->meta->ListSnapshots()->size(), 2u);

  auto rm2 = stores_->service->Remove(Domain() + "/berth/busybox:zst", false);
  ASSERT_TRUE(rm2) << rm2.error().message();
  EXPECT_EQ(stores_->content->List()->size(), 0u);
  EXPECT_EQ(stores_->meta->ListSnapshots()->size(), 0u);
  auto left = sys::ListDir(root_ + "/snapshots");
  ASSERT_TRUE(left);
  for (const auto& n : *left) EXPECT_EQ(n[0], '.') << n;
}

TEST_F(ImagePullTest, IndexPlatformsAndPullByDigest) {
  TestImage amd = MakeImage({*base_gz_}, "amd64", "amd");
  TestImage arm = MakeImage({*base_gz_, *top_gz_}, "arm64", "arm");
  ASSERT_NO_FATAL_FAILURE(Push(amd, "berth/multi", ""));
  ASSERT_NO_FATAL_FAILURE(Push(arm, "berth/multi", ""));
  oci::Descriptor a = amd.manifest.desc, b = arm.manifest.desc;
  a.platform = *oci::ParsePlatform("linux/amd64");
  b.platform = *oci::ParsePlatform("linux/arm64");
  json index = {{"schemaVersion", 2},
                {"mediaType", oci::media::kOciIndex},
                {"manifests", {DescriptorJson(a), DescriptorJson(b)}}};
  Blob idx = MakeBlob(index.dump(), oci::media::kOciIndex);
  registry::Client c(copts_);
  ASSERT_TRUE(c.PushManifest({Domain(), "berth/multi"}, "latest", idx.desc.media_type, idx.bytes));

  auto r = Pull("berth/multi", nullptr, "linux/arm64");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->image_id, arm.config.desc.digest);
  EXPECT_EQ(r->digest, idx.desc.digest);
  EXPECT_TRUE(stores_->content->Exists(idx.desc.digest));

  // By digest (of the index): only the digest name, amd64 chosen.
  auto d = Pull("berth/multi@" + idx.desc.digest.ToString(), nullptr, "linux/amd64");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->image_id, amd.config.desc.digest);
  ASSERT_EQ(d->names.size(), 1u);
  EXPECT_EQ(d->names[0], Domain() + "/berth/multi@" + idx.desc.digest.ToString());
  auto rec = stores_->meta->GetImage(amd.config.desc.digest);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->platform.architecture, "amd64");

  // The arm64 image holds the base snapshot the amd64 image shares.
  EXPECT_EQ(stores_->meta->ListSnapshots()->size(), 2u);
  auto rm = stores_->service->Remove(ShortId(amd.config.desc.digest), false);
  ASSERT_TRUE(rm) << rm.error().message();
  EXPECT_EQ(stores_->meta->ListSnapshots()->size(), 2u);
  EXPECT_TRUE(stores_->content->Exists(base_gz_->blob.desc.digest));

  auto missing = Pull("berth/multi", nullptr, "linux/s390x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), base::ErrorCode::kNotFound);
}

// A child pulls a ~50 MB layer and is SIGKILLed mid-download; the parent reopens the stores,
// sees no partial blob, and pulls again (resuming the ingest).
TEST_F(ImagePullTest, PullSurvivesSigkill) {
  std::string big = src_ + "/big";
  if (!fs::exists(big)) {
    fs::create_directories(big);
    std::ofstream out(big + "/random", std::ios::binary);
    std::string chunk(1 << 20, '\0');
    uint32_t seed = 7;
    for (int i = 0; i < 50; ++i) {
      for (char& ch : chunk) {
        seed = seed * 1664525u + 1013904223u;
        ch = char(seed >> 24);
      }
      out.write(chunk.data(), chunk.size());
    }
  }
  Layer layer = MakeLayer(big, archive::Compression::kNone, false);
  TestImage img = MakeImage({layer}, "amd64", "big");
  ASSERT_NO_FATAL_FAILURE(Push(img, "berth/big", "v1"));
  stores_.reset();  // the child opens its own; SQLite connections do not cross fork()

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Stores s(root_);
    daemon::RegistryFetcher fetcher(copts_);
    Puller puller(s.content.get(), s.meta.get(), s.snapshots.get(), &fetcher);
    PullOptions o;
    o.platform = *oci::ParsePlatform("linux/amd64");
    o.progress = [](const PullProgress& p) {
      if (p.status == "Downloading" && p.current > (20 << 20)) raise(SIGKILL);
    };
    (void)puller.Pull(Ref("berth/big:v1"), o);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  stores_ = std::make_unique<Stores>(root_);
  EXPECT_FALSE(stores_->content->Exists(layer.blob.desc.digest));
  auto blobs = stores_->content->List();
  ASSERT_TRUE(blobs);
  for (const auto& d : *blobs) EXPECT_NE(d, layer.blob.desc.digest);
  EXPECT_FALSE(stores_->meta->ResolveName(Domain() + "/berth/big:v1"));
  // GC meanwhile must not break the retry (the killed pull's lease still holds its blobs).
  ASSERT_TRUE(stores_->service->CollectGarbage());
  std::vector<PullProgress> events;
  auto r = Pull("berth/big:v1", &events);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(stores_->content->Exists(layer.blob.desc.digest));
  // Resumed: the first Downloading event is already past the 20 MB the child wrote.
  for (const auto& e : events) {
    if (e.status != "Downloading") continue;
    EXPECT_GT(e.current, 20 << 20);
    break;
  }
  EXPECT_TRUE(stores_->meta->Check());
}

// Serves `bytes` in place of one blob without checking them (a fetcher that does not verify, or
// corruption after its check), in 64 KiB writes so that a streamed extraction sees them arrive.
class SubstitutingFetcher : public Fetcher {
 public:
  SubstitutingFetcher(Fetcher* inner, oci::Digest digest, std::string bytes)
      : inner_(inner), digest_(std::move(digest)), bytes_(std::move(bytes)) {}
  base::Result<ResolvedImage> Resolve(const oci::ImageReference& ref,
                                      const oci::Platform& platform) override {
    return inner_->Resolve(ref, platform);
  }
  base::Status FetchBlob(const oci::ImageReference& ref, const oci::Descriptor& blob,
                         FetchSink& sink, int64_t offset,
                         const FetchProgressFn& progress) override {
    if (blob.digest != digest_) return inner_->FetchBlob(ref, blob, sink, offset, progress);
    for (size_t i = size_t(offset); i < bytes_.size(); i += 65536) {
      auto s = sink.Write(std::string_view(bytes_).substr(i, 65536));
      if (!s) return s;
      if (progress) progress(int64_t(std::min(bytes_.size(), i + 65536)), blob.size);
    }
    return {};
  }

 private:
  Fetcher* inner_;
  oci::Digest digest_;
  std::string bytes_;
};

// A blob whose bytes do not match its digest, arriving while it is extracted: the pull fails and
// leaves neither the blob nor a snapshot (nor a prepared layer dir). Two cases: a changed gzip
// header mtime (the extraction and the diff_id check succeed, only the blob digest fails) and
// one flipped byte in the deflate stream (the extraction fails too).
TEST_F(ImagePullTest, CorruptBlobDuringStreamedExtractLeavesNothing) {
  TestImage img = MakeImage({*base_gz_}, "amd64", "corrupt");
  ASSERT_NO_FATAL_FAILURE(Push(img, "berth/corrupt", "v1"));
  const Blob& blob = base_gz_->blob;
  // The gzip header's MTIME changed: the same size and the same tar (the extraction and the
  // diff_id check succeed), only the blob digest differs.
  std::string retimed = blob.bytes;
  ASSERT_GT(retimed.size(), 10u);
  retimed[4] ^= 0x01;
  std::string flipped = blob.bytes;
  flipped[flipped.size() / 2] ^= 0x40;

  auto chain = oci::ChainIds({base_gz_->diff_id});
  for (const std::string* bad : {&retimed, &flipped}) {
    SCOPED_TRACE(bad == &flipped ? "flipped byte" : "retimed");
    SubstitutingFetcher fetcher(fetcher_.get(), blob.desc.digest, *bad);
    Puller puller(stores_->content.get(), stores_->meta.get(), stores_->snapshots.get(), &fetcher);
    PullOptions o;
    o.platform = *oci::ParsePlatform("linux/amd64");
    auto r = puller.Pull(Ref("berth/corrupt:v1"), o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("mismatch"), std::string::npos) << r.error().message();
    EXPECT_FALSE(stores_->content->Exists(blob.desc.digest));
    EXPECT_FALSE(stores_->snapshots->Exists(chain[0]));
    EXPECT_FALSE(stores_->meta->GetSnapshot(chain[0]));
    for (const auto& e : fs::directory_iterator(stores_->snapshots->root()))
      EXPECT_EQ(e.path().filename().string().rfind("tmp-", 0), std::string::npos) << e.path();
    EXPECT_FALSE(stores_->meta->ResolveName(Domain() + "/berth/corrupt:v1"));
  }
  // The real bytes still pull (and stream) fine afterwards.
  auto r = Pull("berth/corrupt:v1");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(stores_->content->Exists(blob.desc.digest));
  EXPECT_TRUE(stores_->snapshots->Exists(chain[0]));
}

TEST_F(ImagePullTest, BerthImageBinaryPulls) {
  TestImage img = MakeImage({*base_gz_}, "amd64", "sh");
  ASSERT_NO_FATAL_FAILURE(Push(img, "berth/cli", "v1"));
  stores_.reset();
  std::string cmd = std::string(BERTH_IMAGE_BINARY) + " --root " + root_ + " pull " + Domain() +
                    "/berth/cli:v1 2>" + root_ + "/err";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  std::ifstream errf(root_ + "/err");
  std::string err((std::istreambuf_iterator<char>(errf)), std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_EQ(out, Domain() + "/berth/cli:v1\n");
  EXPECT_NE(err.find(ShortId(base_gz_->blob.desc.digest) + ": Pull complete"), std::string::npos)
      << err;
  EXPECT_NE(err.find("Status: Downloaded newer image for " + Domain() + "/berth/cli:v1"),
            std::string::npos)
      << err;

  std::string ls = std::string(BERTH_IMAGE_BINARY) + " --root " + root_ + " ls";
  p = popen(ls.c_str(), "r");
  out.clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(pclose(p)), 0);
  EXPECT_NE(out.find(ShortId(img.config.desc.digest)), std::string::npos) << out;
}

}  // namespace
}  // namespace berth::image
