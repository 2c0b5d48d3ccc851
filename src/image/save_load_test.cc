// Tests for docker save / docker load: round trips between fresh roots, the tar layout Docker
// and skopeo expect, OCI layout input, and hostile archives.
#include "image/save_load.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <map>
#include <nlohmann/json.hpp>

#include "archive/archive.h"
#include "archive/tar_reader.h"
#include "archive/tar_writer.h"
#include "archive/test_tar.h"
#include "oci/reference.h"
#include "sys/file.h"

namespace berth::image {
namespace {

using archive::testing::BuildTar;
using archive::testing::Dir;
using archive::testing::File;
using archive::testing::Scratch;
using archive::testing::Symlink;
using Json = nlohmann::json;

std::string Gzip(const std::string& data) {
  archive::StringSink out;
  archive::CompressingSink z(out, archive::Compression::kGzip);
  EXPECT_TRUE(z.Write(data.data(), data.size()));
  EXPECT_TRUE(z.Close());
  return out.Take();
}

struct Stores {
  std::string root;
  std::optional<ContentStore> content;
  std::unique_ptr<MetadataStore> metadata;

  explicit Stores(std::string r) : root(std::move(r)) {
    EXPECT_TRUE(sys::MkdirAll(root));
    auto c = ContentStore::Open(root + "/content");
    EXPECT_TRUE(c) << c.error().message();
    content.emplace(std::move(*c));
    auto m = MetadataStore::Open(root);
    EXPECT_TRUE(m) << m.error().message();
    metadata = std::move(*m);
  }
};

// Stores an image of `layer_tars` (gzip blobs, Docker schema2) named `names`; returns its ID.
oci::Digest MakeImage(Stores& s, const std::vector<std::string>& layer_tars,
                      const std::vector<std::string>& names, const std::string& cmd = "sh") {
  oci::ImageConfig config;
  config.os = "linux";
  config.architecture = "amd64";
  config.created = "2024-01-02T03:04:05Z";
  config.config.cmd = {cmd};
  config.config.env = {"PATH=/bin"};
  oci::Manifest m;
  m.media_type = oci::media::kDockerManifest;
  ImageRecord rec;
  for (const auto& tar : layer_tars) {
    std::string gz = Gzip(tar);
    auto blob = s.content->Put(gz);
    EXPECT_TRUE(blob);
    oci::Digest diff = oci::Sha256Of(tar);
    config.diff_ids.push_back(diff);
    m.layers.push_back({.media_type = oci::media::kDockerLayerGzip,
                        .digest = *blob,
                        .size = static_cast<int64_t>(gz.size())});
    config.history.push_back({.created = config.created, .created_by = "test"});
  }
  std::string config_bytes = oci::SerializeImageConfig(config);
  rec.id = *s.content->Put(config_bytes);
  m.config = {.media_type = oci::media::kDockerConfig,
              .digest = rec.id,
              .size = static_cast<int64_t>(config_bytes.size())};
  std::string manifest = oci::SerializeManifest(m);
  rec.manifest_digest = *s.content->Put(manifest);
  rec.target = {.media_type = oci::media::kDockerManifest,
                .digest = rec.manifest_digest,
                .size = static_cast<int64_t>(manifest.size())};
  rec.created = config.created;
  rec.platform = {.os = "linux", .architecture = "amd64"};
  auto chain = oci::ChainIds(config.diff_ids);
  for (size_t i = 0; i < m.layers.size(); ++i) {
    rec.layers.push_back({.diff_id = config.diff_ids[i],
                          .chain_id = chain[i],
                          .blob = m.layers[i].digest,
                          .size = m.layers[i].size,
                          .media_type = m.layers[i].media_type});
  }
  for (const auto& n : names) rec.names.push_back(oci::ParseReference(n)->String());
  EXPECT_TRUE(s.metadata->PutImage(rec));
  return rec.id;
}

struct TarMembers {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> links;
  std::vector<std::string> order;
};

TarMembers ReadTar(const std::string& tar) {
  TarMembers out;
  archive::MemorySource src(tar);
  archive::TarReader reader(src);
  while (true) {
    auto e = reader.Next();
    EXPECT_TRUE(e) << e.error().message();
    if (!e || !*e) break;
    out.order.push_back((*e)->name);
    if ((*e)->kind == archive::TarEntry::Kind::kRegular) {
      std::string data;
      char buf[4096];
      while (true) {
        auto n = reader.content().Read(buf, sizeof buf);
        EXPECT_TRUE(n);
        if (!n || *n == 0) break;
        data.append(buf, *n);
      }
      out.files[(*e)->name] = std::move(data);
    } else if ((*e)->kind == archive::TarEntry::Kind::kSymlink) {
      out.links[(*e)->name] = (*e)->link;
    }
  }
  return out;
}

// A tar of named files, in order.
std::string WriteTar(const std::vector<std::pair<std::string, std::string>>& files) {
  archive::StringSink sink;
  archive::TarWriter tar(sink);
  for (const auto& [name, data] : files) EXPECT_TRUE(tar.AddFile(name, data));
  EXPECT_TRUE(tar.Finish());
  return sink.Take();
}

base::Result<std::vector<std::string>> LoadString(Stores& s, const std::string& tar,
                                                  const LoadOptions& options = {}) {
  archive::MemorySource src(tar);
  return Load(src, *s.content, *s.metadata, options);
}

std::string SaveString(Stores& s, const std::vector<std::string>& refs) {
  archive::StringSink sink;
  auto st = Save(refs, *s.content, *s.metadata, sink);
  EXPECT_TRUE(st) << st.error().message();
  return sink.Take();
}

// Runs a shell command; returns its stdout, or nullopt when it failed.
std::optional<std::string> RunCommand(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    ADD_FAILURE() << cmd << " failed:\n" << out;
    return std::nullopt;
  }
  return out;
}

bool HaveSkopeo() { return system("skopeo --version >/dev/null 2>&1") == 0; }

const std::string kLayer1 =
    BuildTar({Dir("bin"), File("bin/hello", "hello\n", 0755), Symlink("bin/hi", "hello")});
const std::string kLayer2 = BuildTar({Dir("etc"), File("etc/motd", "welcome\n")});

class SaveLoadTest : public ::testing::Test {
 protected:
  Scratch scratch_;
  Stores a_{scratch_.root() + "/a"};
  Stores b_{scratch_.root() + "/b"};
};

TEST_F(SaveLoadTest, SaveWritesDockerArchiveLayout) {
  oci::Digest id = MakeImage(a_, {kLayer1, kLayer2}, {"busybox:latest", "busybox:1.36"});
  std::string tar = SaveString(a_, {"busybox", "docker.io/library/busybox:1.36"});
  TarMembers t = ReadTar(tar);

  Json manifest = Json::parse(t.files.at("manifest.json"));
  ASSERT_EQ(manifest.size(), 1u);
  EXPECT_EQ(manifest[0]["Config"], id.hex() + ".json");
  EXPECT_EQ(manifest[0]["RepoTags"], Json({"busybox:latest", "busybox:1.36"}));
  ASSERT_EQ(manifest[0]["Layers"].size(), 2u);
  std::string l1 = manifest[0]["Layers"][0], l2 = manifest[0]["Layers"][1];
  EXPECT_EQ(t.files.at(l1), kLayer1);  // uncompressed
  EXPECT_EQ(t.files.at(l2), kLayer2);
  std::string id1 = l1.substr(0, l1.find('/')), id2 = l2.substr(0, l2.find('/'));
  EXPECT_EQ(t.files.at(id1 + "/VERSION"), "1.0");
  Json j2 = Json::parse(t.files.at(id2 + "/json"));
  EXPECT_EQ(j2["id"], id2);
  EXPECT_EQ(j2["parent"], id1);
  EXPECT_EQ(oci::Sha256Of(t.files.at(id.hex() + ".json")), id);
  Json repos = Json::parse(t.files.at("repositories"));
  EXPECT_EQ(repos["busybox"]["latest"], id2);
  EXPECT_EQ(repos["busybox"]["1.36"], id2);

  // The OCI layout in the same tar.
  EXPECT_EQ(Json::parse(t.files.at("oci-layout"))["imageLayoutVersion"], "1.0.0");
  Json index = Json::parse(t.files.at("index.json"));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "docker.io/library/busybox:latest");
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
  std::string mhex = std::string(index["manifests"][0]["digest"]).substr(7);
  Json oci_manifest = Json::parse(t.files.at("blobs/sha256/" + mhex));
  EXPECT_EQ(oci_manifest["config"]["digest"], id.ToString());
  EXPECT_EQ(oci_manifest["layers"][0]["digest"], oci::Sha256Of(kLayer1).ToString());
  EXPECT_EQ(t.links.at("blobs/sha256/" + oci::Sha256Of(kLayer1).hex()), "../../" + l1);
}

TEST_F(SaveLoadTest, RoundTripIntoFreshRoot) {
  oci::Digest id = MakeImage(a_, {kLayer1, kLayer2}, {"busybox:latest", "example.com/x/y:v1"});
  std::string tar = SaveString(a_, {"busybox:latest", "example.com/x/y:v1"});

  std::vector<ImageRecord> unpacked;
  LoadOptions opts;
  opts.unpack = [&](const ImageRecord& r) -> base::Status {
    unpacked.push_back(r);
    return {};
  };
  auto loaded = LoadString(b_, tar, opts);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, (std::vector<std::string>{"busybox:latest", "example.com/x/y:v1"}));
  auto rec = b_.metadata->ResolveName("docker.io/library/busybox:latest");
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->id, id);
  EXPECT_EQ(rec->names,
            (std::vector<std::string>{"docker.io/library/busybox:latest", "example.com/x/y:v1"}));
  auto orig = a_.metadata->GetImage(id);
  ASSERT_EQ(rec->layers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(rec->layers[i].diff_id, orig->layers[i].diff_id);
    EXPECT_EQ(rec->layers[i].chain_id, orig->layers[i].chain_id);
    EXPECT_TRUE(b_.content->Exists(rec->layers[i].blob));
    // Docker-archive layers arrive uncompressed and are kept as they came.
    EXPECT_EQ(rec->layers[i].media_type, "application/vnd.docker.image.rootfs.diff.tar");
  }
  EXPECT_EQ(rec->created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(rec->platform.architecture, "amd64");
  EXPECT_EQ(rec->size, static_cast<int64_t>(kLayer1.size() + kLayer2.size()));
  auto manifest = b_.content->ReadAll(rec->manifest_digest, 1 << 20);
  ASSERT_TRUE(manifest);
  auto m = oci::ParseManifest(*manifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, oci::media::kDockerManifest);
  EXPECT_EQ(m->config.digest, id);
  ASSERT_EQ(unpacked.size(), 1u);
  EXPECT_EQ(unpacked[0].id, id);

  // Saving again from the loaded root gives the same bytes: the format is deterministic.
  EXPECT_EQ(SaveString(b_, {"busybox:latest", "example.com/x/y:v1"}), tar);
  // Leases are dropped: nothing keeps blobs alive but the image.
  auto all = b_.content->List();
  auto unref = b_.metadata->UnreferencedBlobs(*all);
  ASSERT_TRUE(unref);
  EXPECT_TRUE(unref->empty());
  scratch_.ExpectSentinelIntact();
}

TEST_F(SaveLoadTest, SaveByIdAndSharedLayers) {
  oci::Digest id1 = MakeImage(a_, {kLayer1}, {"one:latest"});
  oci::Digest id2 = MakeImage(a_, {kLayer1, kLayer2}, {"two:latest"}, "ls");
  std::string tar = SaveString(a_, {id1.hex().substr(0, 12), "two"});
  TarMembers t = ReadTar(tar);
  Json manifest = Json::parse(t.files.at("manifest.json"));
  ASSERT_EQ(manifest.size(), 2u);
  EXPECT_TRUE(manifest[0]["RepoTags"].empty());
  auto loaded = LoadString(b_, tar);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, (std::vector<std::string>{id1.ToString(), "two:latest"}));
  EXPECT_TRUE(b_.metadata->GetImage(id1));
  EXPECT_EQ(b_.metadata->ResolveName("docker.io/library/two:latest")->id, id2);
}

TEST_F(SaveLoadTest, SaveUnknownRefIsNotFound) {
  archive::StringSink sink;
  auto st = Save({"nope"}, *a_.content, *a_.metadata, sink);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::ErrorCode::kNotFound);
}

TEST_F(SaveLoadTest, LoadsGzippedLayersAndGzippedArchive) {
  std::string config =
      oci::SerializeImageConfig({.architecture = "amd64",
                                 .os = "linux",
                                 .diff_ids = {oci::Sha256Of(kLayer1), oci::Sha256Of(kLayer2)}});
  oci::Digest id = oci::Sha256Of(config);
  std::string manifest = Json::array({{{"Config", "cfg.json"},
                                       {"RepoTags", {"gz:1"}},
                                       {"Layers", {"l1.tar.gz", "sub/l2.tar"}}}})
                             .dump();
  std::string tar = WriteTar({{"l1.tar.gz", Gzip(kLayer1)},
                              {"./sub/l2.tar", kLayer2},
                              {"cfg.json", config},
                              {"manifest.json", manifest}});
  auto loaded = LoadString(b_, Gzip(tar));
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"gz:1"});
  auto rec = b_.metadata->GetImage(id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->layers[0].media_type, oci::media::kDockerLayerGzip);
  EXPECT_EQ(rec->layers[1].media_type, "application/vnd.docker.image.rootfs.diff.tar");
}

// An OCI image layout written by hand, as `skopeo copy ... oci-archive:` or Docker 25 write it.
std::string OciLayoutTar(const std::string& ref_name, oci::Digest* id_out,
                         const std::string& layer_tar = kLayer1) {
  std::string gz = Gzip(layer_tar);
  std::string config = oci::SerializeImageConfig(
      {.architecture = "amd64", .os = "linux", .diff_ids = {oci::Sha256Of(layer_tar)}});
  oci::Manifest m;
  m.media_type = oci::media::kOciManifest;
  m.config = {.media_type = oci::media::kOciConfig,
              .digest = oci::Sha256Of(config),
              .size = static_cast<int64_t>(config.size())};
  m.layers.push_back({.media_type = oci::media::kOciLayerGzip,
                      .digest = oci::Sha256Of(gz),
                      .size = static_cast<int64_t>(gz.size())});
  std::string manifest = oci::SerializeManifest(m);
  oci::Index index;
  oci::Descriptor d{.media_type = oci::media::kOciManifest,
                    .digest = oci::Sha256Of(manifest),
                    .size = static_cast<int64_t>(manifest.size())};
  if (!ref_name.empty()) d.annotations["org.opencontainers.image.ref.name"] = ref_name;
  index.manifests.push_back(d);
  if (id_out) *id_out = m.config.digest;
  return WriteTar({{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                   {"index.json", oci::SerializeIndex(index)},
                   {"blobs/sha256/" + oci::Sha256Of(config).hex(), config},
                   {"blobs/sha256/" + oci::Sha256Of(gz).hex(), gz},
                   {"blobs/sha256/" + oci::Sha256Of(manifest).hex(), manifest}});
}

TEST_F(SaveLoadTest, LoadsOciLayout) {
  oci::Digest id;
  auto loaded = LoadString(b_, OciLayoutTar("registry.local/app:2", &id));
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"registry.local/app:2"});
  auto rec = b_.metadata->ResolveName("registry.local/app:2");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, id);
  EXPECT_EQ(rec->layers[0].media_type, oci::media::kOciLayerGzip);
  // A bare tag names no repository: the image loads untagged.
  Stores c(scratch_.root() + "/c");
  auto untagged = LoadString(c, OciLayoutTar("latest", &id));
  ASSERT_TRUE(untagged) << untagged.error().message();
  EXPECT_EQ(*untagged, std::vector<std::string>{id.ToString()});
}

TEST_F(SaveLoadTest, LoadsOwnSaveThroughOciLayout) {
  oci::Digest id = MakeImage(a_, {kLayer1, kLayer2}, {"busybox:latest"});
  TarMembers t = ReadTar(SaveString(a_, {"busybox"}));
  // Drop the docker-archive entry point so the loader must use index.json and the symlinks.
  archive::StringSink sink;
  archive::TarWriter w(sink);
  for (const auto& name : t.order) {
    if (name == "manifest.json") continue;
    if (t.links.contains(name)) {
      ASSERT_TRUE(w.AddSymlink(name, t.links[name]));
    } else if (t.files.contains(name)) {
      ASSERT_TRUE(w.AddFile(name, t.files[name]));
    }
  }
  ASSERT_TRUE(w.Finish());
  auto loaded = LoadString(b_, sink.data());
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"busybox:latest"});
  EXPECT_EQ(b_.metadata->ResolveName("docker.io/library/busybox:latest")->id, id);
}

// --- hostile archives ----------------------------------------------------------------------

class HostileLoadTest : public SaveLoadTest {
 protected:
  std::string config_ = oci::SerializeImageConfig(
      {.architecture = "amd64", .os = "linux", .diff_ids = {oci::Sha256Of(kLayer1)}});

  std::string Archive(const Json& manifest,
                      std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> files = {
        {"c.json", config_}, {"l/layer.tar", kLayer1}, {"manifest.json", manifest.dump()}};
    files.insert(files.end(), extra.begin(), extra.end());
    return WriteTar(files);
  }

  void ExpectRejected(const std::string& tar, base::ErrorCode code, std::string_view text) {
    auto r = LoadString(b_, tar);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), code) << r.error().message();
    EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
    auto images = b_.metadata->ListImages();
    ASSERT_TRUE(images);
    EXPECT_TRUE(images->empty());
    auto blobs = b_.content->List();  // a failed load leaves nothing behind
    ASSERT_TRUE(blobs);
    EXPECT_TRUE(blobs->empty());
    scratch_.ExpectSentinelIntact();
  }
};

TEST_F(HostileLoadTest, Control) {
  auto r =
      LoadString(b_, Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"l/layer.tar"}}}})));
  ASSERT_TRUE(r) << r.error().message();
}

TEST_F(HostileLoadTest, ConfigPathEscapes) {
  ExpectRejected(Archive(Json::array({{{"Config", "../x"}, {"Layers", {"l/layer.tar"}}}})),
                 base::ErrorCode::kInvalidArgument, "not a plain relative path");
  ExpectRejected(Archive(Json::array({{{"Config", "/etc/passwd"}, {"Layers", {"l/layer.tar"}}}})),
                 base::ErrorCode::kInvalidArgument, "not a plain relative path");
}

TEST_F(HostileLoadTest, LayerPathEscapes) {
  ExpectRejected(Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"l/../../x"}}}})),
                 base::ErrorCode::kInvalidArgument, "Layers");
}

TEST_F(HostileLoadTest, MissingLayer) {
  ExpectRejected(Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"nope/layer.tar"}}}})),
                 base::ErrorCode::kNotFound, "nope/layer.tar");
}

TEST_F(HostileLoadTest, DiffIdMismatch) {
  ExpectRejected(Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"other.tar"}}}}),
                         {{"other.tar", kLayer2}}),
                 base::ErrorCode::kInvalidArgument, "diff_id mismatch");
}

TEST_F(HostileLoadTest, LayerCountMismatch) {
  ExpectRejected(Archive(Json::array({{{"Config", "c.json"}, {"Layers", Json::array()}}})),
                 base::ErrorCode::kInvalidArgument, "diff_ids");
}

TEST_F(HostileLoadTest, MemberNameEscapes) {
  ExpectRejected(Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"l/layer.tar"}}}}),
                         {{"../evil", "x"}}),
                 base::ErrorCode::kInvalidArgument, "escapes the archive");
}

TEST_F(HostileLoadTest, SymlinkOutOfArchiveIsNotFollowed) {
  archive::StringSink sink;
  archive::TarWriter w(sink);
  ASSERT_TRUE(w.AddFile("c.json", config_));
  ASSERT_TRUE(w.AddSymlink("l/layer.tar", "/etc/passwd"));
  ASSERT_TRUE(w.AddSymlink("m/layer.tar", "../../../etc/passwd"));
  ASSERT_TRUE(w.AddFile("manifest.json",
                        Json::array({{{"Config", "c.json"}, {"Layers", {"l/layer.tar"}}}}).dump()));
  ASSERT_TRUE(w.Finish());
  ExpectRejected(sink.data(), base::ErrorCode::kNotFound, "l/layer.tar");
}

TEST_F(HostileLoadTest, BadJson) {
  ExpectRejected(WriteTar({{"manifest.json", "{not json"}}), base::ErrorCode::kInvalidArgument,
                 "manifest.json: invalid JSON");
  ExpectRejected(WriteTar({{"manifest.json", R"({"Config":"c.json"})"}}),
                 base::ErrorCode::kInvalidArgument, "expected an array");
  ExpectRejected(
      Archive(Json::array(
          {{{"Config", "c.json"}, {"Layers", {"l/layer.tar"}}, {"RepoTags", {"Bad Name"}}}})),
      base::ErrorCode::kInvalidArgument, "RepoTags");
  ExpectRejected(WriteTar({{"hello", "x"}}), base::ErrorCode::kInvalidArgument,
                 "neither manifest.json nor index.json");
  ExpectRejected("this is not a tar archive at all, not even close..........",
                 base::ErrorCode::kInvalidArgument, "read archive");
}

TEST_F(HostileLoadTest, OversizedJson) {
  LoadOptions opts;
  opts.max_json_size = 16;
  auto r = LoadString(
      b_, Archive(Json::array({{{"Config", "c.json"}, {"Layers", {"l/layer.tar"}}}})), opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kInvalidArgument) << r.error().message();
}

TEST_F(HostileLoadTest, OciBlobDigestMismatch) {
  oci::Digest id;
  std::string tar = OciLayoutTar("x:1", &id);
  TarMembers t = ReadTar(tar);
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : t.order) {
    std::string data = t.files[name];
    if (name == "blobs/sha256/" + id.hex()) data += " ";
    files.emplace_back(name, data);
  }
  ExpectRejected(WriteTar(files), base::ErrorCode::kInvalidArgument, "digest mismatch");
}

// --- skopeo interop -------------------------------------------------------------------------

// A busybox rootfs layer: /bin/busybox and a few applet links.
std::string BusyboxLayer() {
  auto bin = sys::ReadFile("/bin/busybox");
  if (!bin) return {};
  return BuildTar({Dir("bin"), File("bin/busybox", *bin, 0755), Symlink("bin/sh", "busybox"),
                   Symlink("bin/ls", "busybox"), Dir("etc"),
                   File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")});
}

TEST_F(SaveLoadTest, LoadsSkopeoDockerArchive) {
  if (!HaveSkopeo()) GTEST_SKIP() << "skopeo not installed";
  std::string layer = BusyboxLayer();
  if (layer.empty()) GTEST_SKIP() << "no /bin/busybox";
  // An OCI layout directory from our hand-written layout tar, then skopeo's docker-archive.
  oci::Digest id;
  std::string layout = scratch_.root() + "/layout";
  ASSERT_TRUE(sys::MkdirAll(layout + "/blobs/sha256"));
  TarMembers t = ReadTar(OciLayoutTar("busybox:latest", &id, layer));
  for (const auto& [name, data] : t.files)
    ASSERT_TRUE(sys::WriteFileReplace(layout + "/" + name, data));
  std::string file = scratch_.root() + "/skopeo.tar";
  ASSERT_TRUE(RunCommand("skopeo --insecure-policy copy -q --dest-compress=false oci:" + layout +
                         ":busybox:latest docker-archive:" + file + ":busybox:latest 2>&1"));
  auto bytes = sys::ReadFile(file);
  ASSERT_TRUE(bytes);
  auto loaded = LoadString(b_, *bytes);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"busybox:latest"});
  auto rec = b_.metadata->ResolveName("docker.io/library/busybox:latest");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, id);
  EXPECT_EQ(rec->layers[0].diff_id, oci::Sha256Of(layer));
}

TEST_F(SaveLoadTest, SkopeoReadsOurSave) {
  if (!HaveSkopeo()) GTEST_SKIP() << "skopeo not installed";
  std::string layer = BusyboxLayer();
  if (layer.empty()) GTEST_SKIP() << "no /bin/busybox";
  oci::Digest id = MakeImage(a_, {layer, kLayer2}, {"busybox:latest"});
  std::string file = scratch_.root() + "/saved.tar";
  ASSERT_TRUE(sys::WriteFileReplace(file, SaveString(a_, {"busybox"})));

  // docker-archive: the manifest skopeo synthesises names our config and the uncompressed layers.
  auto raw = RunCommand("skopeo inspect --raw docker-archive:" + file);
  ASSERT_TRUE(raw);
  Json m = Json::parse(*raw);
  EXPECT_EQ(m["config"]["digest"], id.ToString());
  ASSERT_EQ(m["layers"].size(), 2u);
  EXPECT_EQ(m["layers"][0]["digest"], oci::Sha256Of(layer).ToString());
  EXPECT_EQ(m["layers"][1]["digest"], oci::Sha256Of(kLayer2).ToString());
  auto inspect = RunCommand("skopeo inspect docker-archive:" + file);
  ASSERT_TRUE(inspect);
  Json i = Json::parse(*inspect);
  EXPECT_EQ(i["Layers"].size(), 2u);
  EXPECT_EQ(i["Architecture"], "amd64");

  // The same file as an oci-archive.
  auto oci_raw = RunCommand("skopeo inspect --raw oci-archive:" + file);
  ASSERT_TRUE(oci_raw);
  EXPECT_EQ(Json::parse(*oci_raw)["config"]["digest"], id.ToString());

  // And a full copy out of it, back into an OCI layout, then loaded by us.
  std::string out = scratch_.root() + "/copy";
  ASSERT_TRUE(RunCommand("skopeo --insecure-policy copy -q docker-archive:" + file + " oci:" + out +
                         ":busybox:latest 2>&1"));
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : {"oci-layout", "index.json"})
    files.emplace_back(name, *sys::ReadFile(out + "/" + name));
  auto blobs = sys::ListDir(out + "/blobs/sha256");
  ASSERT_TRUE(blobs);
  for (const auto& blob : *blobs)
    files.emplace_back("blobs/sha256/" + blob, *sys::ReadFile(out + "/blobs/sha256/" + blob));
  auto loaded = LoadString(b_, WriteTar(files));
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"busybox:latest"});
  EXPECT_EQ(b_.metadata->ResolveName("docker.io/library/busybox:latest")->id, id);
}

}  // namespace
}  // namespace berth::image
