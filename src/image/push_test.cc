// Tests for Pusher against an in-memory PushTarget: uploads, layers the registry has, cross-repo
// mounts, the byte-identical manifest and the recorded repo digest, errors and Docker's
// "does not exist locally" wording.
#include "image/push.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sys/file.h"

namespace berth::image {
namespace {

using base::ErrorCode;

// A registry in memory: blobs per repository path, manifests per "path:tag".
class FakeTarget : public PushTarget {
 public:
  base::Result<bool> BlobExists(const oci::ImageReference& repo,
                                const oci::Digest& digest) override {
    std::lock_guard lock(mu_);
    return blobs_[repo.path].count(digest.ToString()) > 0;
  }
  base::Result<bool> MountBlob(const oci::ImageReference& repo, const oci::Digest& digest,
                               std::string_view from) override {
    std::lock_guard lock(mu_);
    mounts_tried_.push_back(std::string(from));
    auto it = blobs_[std::string(from)].find(digest.ToString());
    if (it == blobs_[std::string(from)].end()) return false;
    blobs_[repo.path][digest.ToString()] = it->second;
    return true;
  }
  base::Status PushBlob(const oci::ImageReference& repo, const oci::Descriptor& blob,
                        PushSource& source, const UploadProgressFn& progress) override {
    {
      std::lock_guard lock(mu_);
      if (fail_digest_ && *fail_digest_ == blob.digest)
        return base::Fail(base::Error::PermissionDenied("denied: requested access is denied"));
    }
    std::string data;
    char buf[7];  // small reads: several progress calls
    for (;;) {
      size_t n = TRY(source.ReadAt(int64_t(data.size()), buf, sizeof(buf)));
      if (n == 0) break;
      data.append(buf, n);
      if (progress) progress(int64_t(data.size()), blob.size);
    }
    if (oci::Sha256Of(data) != blob.digest)
      return base::Fail(base::Error::InvalidArgument("digest invalid"));
    std::lock_guard lock(mu_);
    blobs_[repo.path][blob.digest.ToString()] = data;
    ++uploads_;
    return {};
  }
  base::Result<oci::Digest> PushManifest(const oci::ImageReference& repo, std::string_view tag,
                                         std::string_view media_type,
                                         std::string_view bytes) override {
    std::lock_guard lock(mu_);
    manifests_[repo.path + ":" + std::string(tag)] = {std::string(media_type), std::string(bytes)};
    return oci::Sha256Of(bytes);
  }

  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;
  std::vector<std::string> mounts_tried_;
  std::optional<oci::Digest> fail_digest_;
  int uploads_ = 0;
};

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-push-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    content_ = std::make_unique<ContentStore>(*ContentStore::Open(root_ + "/content"));
    auto meta = MetadataStore::Open(root_);
    ASSERT_TRUE(meta) << meta.error().message();
    meta_ = std::move(*meta);
  }
  void TearDown() override {
    meta_.reset();
    (void)sys::RemoveAll(root_);
  }

  // Stores an image of `layers` layers (layer i's bytes: seed + i) named `names`.
  ImageRecord MakeImage(const std::string& seed, int layers, std::vector<std::string> names) {
    ImageRecord rec;
    oci::Manifest m;
    m.media_type = oci::media::kDockerManifest;
    std::vector<oci::Digest> diffs;
    for (int i = 0; i < layers; ++i) {
      std::string bytes = seed + "-layer-" + std::to_string(i) + std::string(size_t(20 + i), 'x');
      oci::Digest d = *content_->Put(bytes);
      diffs.push_back(oci::Sha256Of("diff " + bytes));
      m.layers.push_back(
          {.media_type = oci::media::kDockerLayerGzip, .digest = d, .size = int64_t(bytes.size())});
    }
    auto chains = oci::ChainIds(diffs);
    for (int i = 0; i < layers; ++i)
      rec.layers.push_back({.diff_id = diffs[size_t(i)],
                            .chain_id = chains[size_t(i)],
                            .blob = m.layers[size_t(i)].digest,
                            .size = m.layers[size_t(i)].size,
                            .media_type = m.layers[size_t(i)].media_type});
    std::string config = "{\"seed\":\"" + seed + "\"}";
    rec.id = *content_->Put(config);
    m.config = {
        .media_type = oci::media::kDockerConfig, .digest = rec.id, .size = int64_t(config.size())};
    // Not what SerializeManifest writes: the push must send these bytes, not re-serialise.
    std::string manifest = "  " + oci::SerializeManifest(m) + "\n";
    rec.manifest_digest = *content_->Put(manifest);
    rec.target = {.media_type = oci::media::kDockerManifest,
                  .digest = rec.manifest_digest,
                  .size = int64_t(manifest.size())};
    rec.names = std::move(names);
    EXPECT_TRUE(meta_->PutImage(rec));
    return rec;
  }

  static oci::ImageReference Ref(const std::string& s) { return *oci::ParseReference(s); }

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<MetadataStore> meta_;
  FakeTarget target_;
};

struct Recorder {
  std::mutex mu;
  std::vector<PushProgress> events;
  PushProgressFn Fn() {
    return [this](const PushProgress& p) {
      std::lock_guard lock(mu);
      events.push_back(p);
    };
  }
  std::vector<std::string> Statuses(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.id == id && (out.empty() || out.back() != e.status)) out.push_back(e.status);
    return out;
  }
};

TEST_F(PushTest, UploadsLayersConfigAndTheStoredManifest) {
  ImageRecord rec = MakeImage("a", 2, {"reg.test:5000/x/y:v1"});
  Recorder rec_events;
  Pusher pusher(content_.get(), meta_.get(), &target_);
  PushOptions opts;
  opts.progress = rec_events.Fn();
  auto r = pusher.Push(Ref("reg.test:5000/x/y:v1"), opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->tag, "v1");
  EXPECT_EQ(r->digest, rec.manifest_digest);
  EXPECT_EQ(r->image_id, rec.id);
  std::string stored = *content_->ReadAll(rec.manifest_digest, 1 << 20);
  EXPECT_EQ(r->size, int64_t(stored.size()));
  ASSERT_EQ(target_.manifests_.count("x/y:v1"), 1u);
  EXPECT_EQ(target_.manifests_["x/y:v1"].first, oci::media::kDockerManifest);
  EXPECT_EQ(target_.manifests_["x/y:v1"].second, stored);
  EXPECT_EQ(target_.blobs_["x/y"].size(), 3u);  // two layers and the config
  EXPECT_EQ(target_.uploads_, 3);
  EXPECT_EQ(target_.blobs_["x/y"][rec.id.ToString()], "{\"seed\":\"a\"}");

  // Ids are short diff IDs; every layer went Preparing, Pushing..., Pushed.
  for (const auto& l : rec.layers) {
    std::string id = ShortId(l.diff_id);
    EXPECT_EQ(rec_events.Statuses(id), (std::vector<std::string>{"Preparing", "Pushing", "Pushed"}))
        << id;
  }
  // The top layer first, as docker lists them.
  ASSERT_FALSE(rec_events.events.empty());
  EXPECT_EQ(rec_events.events[0].id, ShortId(rec.layers[1].diff_id));
  for (const auto& e : rec_events.events) {
    if (e.status != "Pushing") continue;
    EXPECT_GT(e.current, 0);
    EXPECT_LE(e.current, e.total);
  }

  // The repo digest is recorded on the image.
  auto got = meta_->GetImage(rec.id);
  ASSERT_TRUE(got);
  std::string digest_name = "reg.test:5000/x/y@" + rec.manifest_digest.ToString();
  EXPECT_NE(std::find(got->names.begin(), got->names.end(), digest_name), got->names.end());
}

TEST_F(PushTest, SecondPushFindsEveryLayer) {
  MakeImage("b", 2, {"reg.test/x/y:latest"});
  Pusher pusher(content_.get(), meta_.get(), &target_);
  ASSERT_TRUE(pusher.Push(Ref("reg.test/x/y")));
  Recorder events;
  PushOptions opts;
  opts.progress = events.Fn();
  auto r = pusher.Push(Ref("reg.test/x/y"), opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(target_.uploads_, 3);
  int exists = 0;
  for (const auto& e : events.events) {
    EXPECT_NE(e.status, "Pushing");
    if (e.status == "Layer already exists") ++exists;
  }
  EXPECT_EQ(exists, 2);
}

TEST_F(PushTest, MountsFromAnotherRepositoryOfTheSameRegistry) {
  ImageRecord rec = MakeImage("c", 2, {"reg.test/src/img:v1", "other.test/src/img:v1"});
  Pusher pusher(content_.get(), meta_.get(), &target_);
  ASSERT_TRUE(pusher.Push(Ref("reg.test/src/img:v1")));
  ASSERT_TRUE(meta_->Tag("reg.test/dst/img:v2", rec.id));
  Recorder events;
  PushOptions opts;
  opts.progress = events.Fn();
  auto r = pusher.Push(Ref("reg.test/dst/img:v2"), opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(target_.uploads_, 3);  // nothing uploaded a second time
  for (const auto& l : rec.layers)
    EXPECT_EQ(events.Statuses(ShortId(l.diff_id)),
              (std::vector<std::string>{"Preparing", "Mounted from src/img"}));
  EXPECT_EQ(target_.blobs_["dst/img"].size(), 3u);  // the config was mounted too
  // Only the same registry's repository was a source, and only src/img (no duplicate tries).
  for (const auto& from : target_.mounts_tried_) EXPECT_EQ(from, "src/img");
  EXPECT_EQ(target_.mounts_tried_.size(), 3u);
}

TEST_F(PushTest, UploadsWhenAMountIsRefused) {
  MakeImage("d", 1, {"reg.test/src/img:v1", "reg.test/dst/img:v1"});
  Pusher pusher(content_.get(), meta_.get(), &target_);
  // src/img was never pushed: the mount answers false and the blob is uploaded.
  auto r = pusher.Push(Ref("reg.test/dst/img:v1"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(target_.uploads_, 2);
  EXPECT_FALSE(target_.mounts_tried_.empty());
}

TEST_F(PushTest, WaitingBeyondTheConcurrencyLimit) {
  ImageRecord rec = MakeImage("e", 5, {"reg.test/x/many:v1"});
  Recorder events;
  PushOptions opts;
  opts.progress = events.Fn();
  opts.max_concurrent_uploads = 2;
  Pusher pusher(content_.get(), meta_.get(), &target_);
  ASSERT_TRUE(pusher.Push(Ref("reg.test/x/many:v1"), opts));
  int waiting = 0;
  for (const auto& e : events.events) waiting += e.status == "Waiting";
  EXPECT_EQ(waiting, 3);
  for (const auto& l : rec.layers) {
    auto s = events.Statuses(ShortId(l.diff_id));
    EXPECT_EQ(s.front(), "Preparing");
    EXPECT_EQ(s.back(), "Pushed");
  }
}

TEST_F(PushTest, AFailedUploadFailsThePushWithoutAManifest) {
  ImageRecord rec = MakeImage("f", 3, {"reg.test/x/f:v1"});
  target_.fail_digest_ = rec.layers[1].blob;
  Pusher pusher(content_.get(), meta_.get(), &target_);
  auto r = pusher.Push(Ref("reg.test/x/f:v1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message().find("denied: requested access is denied"), std::string::npos);
  EXPECT_NE(r.error().message().find("push reg.test/x/f:v1"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(target_.manifests_.empty());
  auto got = meta_->GetImage(rec.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->names.size(), 1u);
}

TEST_F(PushTest, MissingLocalBlobIsNotFound) {
  ImageRecord rec = MakeImage("g", 1, {"reg.test/x/g:v1"});
  ASSERT_TRUE(content_->Delete(rec.layers[0].blob));
  Pusher pusher(content_.get(), meta_.get(), &target_);
  auto r = pusher.Push(Ref("reg.test/x/g:v1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST_F(PushTest, ResolveUsesDockersWording) {
  MakeImage("h", 1, {"reg.test/x/h:v1"});
  Pusher pusher(content_.get(), meta_.get(), &target_);
  auto r = pusher.Push(Ref("reg.test/x/nope:v1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "An image does not exist locally with the tag: reg.test/x/nope");
  r = pusher.Push(Ref("reg.test/x/h:v2"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "tag does not exist: reg.test/x/h:v2");
  r = pusher.Push(Ref("reg.test/x/h@sha256:" + std::string(64, 'a')));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(PushTest, LocalTagsOfARepository) {
  ImageRecord a = MakeImage("i", 1, {"reg.test/x/i:v1", "reg.test/x/i:v2", "reg.test/x/j:v3"});
  MakeImage("k", 1, {"reg.test/x/i:v0"});
  ASSERT_TRUE(meta_->Tag("reg.test/x/i@" + a.manifest_digest.ToString(), a.id));
  auto tags = LocalTags(*meta_, "reg.test/x/i");
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (std::vector<std::string>{"v0", "v1", "v2"}));
  tags = LocalTags(*meta_, "reg.test/x/none");
  ASSERT_TRUE(tags);
  EXPECT_TRUE(tags->empty());
}

}  // namespace
}  // namespace berth::image
