// Integration tests of the registry client: against Debian's docker-registry (distribution
// 2.8) started on 127.0.0.1 (plain and with htpasswd Basic auth), and against FakeServer for
// what a real registry will not show on demand (Bearer tokens, dropped connections, ignored
// Range, cross-host redirects, 5xx/429, junk answers).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/fake_server.h"
#include "registry/registry_process.h"
#include "test_support.h"

extern char** environ;

namespace berth::registry {
namespace {
using berth::test_support::Blob;
using berth::test_support::DescriptorJson;
using berth::test_support::MakeBlob;

using base::ErrorCode;
using fakes::FakeRequest;
using fakes::FakeResponse;
using fakes::FakeServer;
using nlohmann::json;
using testing_registry::FastOptions;
using testing_registry::kRegistryBinary;
using testing_registry::RegistryProcess;
using testing_registry::RunCommand;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = char(seed >> 24);
  }
  return out;
}

oci::ImageReference Ref(const std::string& text) {
  auto r = oci::ParseReference(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message());
  return r ? *r : oci::ImageReference{};
}

oci::Platform PlatformOf(const std::string& text) { return *oci::ParsePlatform(text); }

// An image for one platform: its layer, config and manifest blobs.
struct TestImage {
  Blob layer, config, manifest;
};

TestImage MakeImage(const std::string& arch, bool docker, size_t layer_size, uint32_t seed) {
  TestImage img;
  img.layer = MakeBlob(RandomBytes(layer_size, seed),
                       docker ? oci::media::kDockerLayerGzip : oci::media::kOciLayerGzip);
  json config = {
      {"architecture", arch},
      {"os", "linux"},
      {"config", {{"Cmd", {"/bin/sh", arch}}, {"Env", {"PATH=/bin"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {img.layer.desc.digest.ToString()}}}}};
  img.config = MakeBlob(config.dump(), docker ? oci::media::kDockerConfig : oci::media::kOciConfig);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", docker ? oci::media::kDockerManifest : oci::media::kOciManifest},
                   {"config", DescriptorJson(img.config.desc)},
                   {"layers", {DescriptorJson(img.layer.desc)}}};
  img.manifest =
      MakeBlob(manifest.dump(), docker ? oci::media::kDockerManifest : oci::media::kOciManifest);
  return img;
}

// Pushes the image's blobs and manifest (by tag, or by digest when tag is empty).
void PushImage(Client& client, const Repository& repo, const TestImage& img,
               const std::string& tag) {
  for (const Blob* b : {&img.layer, &img.config}) {
    auto exists = client.BlobExists(repo, b->desc.digest);
    ASSERT_TRUE(exists) << exists.error().message();
    if (*exists) continue;
    StringSource source(b->bytes);
    auto pushed = client.PushBlob(repo, b->desc, source);
    ASSERT_TRUE(pushed) << pushed.error().message();
  }
  std::string target = tag.empty() ? img.manifest.desc.digest.ToString() : tag;
  auto digest = client.PushManifest(repo, target, img.manifest.desc.media_type, img.manifest.bytes);
  ASSERT_TRUE(digest) << digest.error().message();
  EXPECT_EQ(*digest, img.manifest.desc.digest);
}

// A sink that fails after `limit` bytes, having kept exactly that many.
class StoppingSink : public BlobSink {
 public:
  explicit StoppingSink(size_t limit) : limit_(limit) {}
  base::Status Write(std::string_view data) override {
    size_t room = limit_ - data_.size();
    data_.append(data.substr(0, room));
    if (data.size() > room) return base::Fail(base::Error::Internal("sink full"));
    return {};
  }
  base::Status Restart() override {
    data_.clear();
    ++restarts_;
    return {};
  }
  std::string data_;
  int restarts_ = 0;

 private:
  size_t limit_;
};

class RegistryTest : public ::testing::Test {
 protected:
  static RegistryProcess* Open() {
    if (!open_ && error_.empty()) open_ = RegistryProcess::Start("", &error_);
    return open_.get();
  }
  static RegistryProcess* WithAuth() {
    if (!auth_ && auth_error_.empty()) {
      int status = 0;
      std::string entry = RunCommand("htpasswd -Bbn alice s3cret 2>/dev/null", &status);
      while (!entry.empty() && (entry.back() == '\n' || entry.back() == '\r')) entry.pop_back();
      if (status != 0 || entry.empty()) {
        auth_error_ = "htpasswd (apache2-utils) is not installed";
      } else {
        auth_ = RegistryProcess::Start(entry, &auth_error_);
      }
    }
    return auth_.get();
  }
  static void TearDownTestSuite() {
    open_.reset();
    auth_.reset();
  }
  void SetUp() override {
    if (access(kRegistryBinary, X_OK) != 0) {
      GTEST_SKIP() << kRegistryBinary << " is not installed (apt-get install docker-registry)";
    }
    ASSERT_NE(Open(), nullptr) << error_;
  }
  std::string domain() { return open_->domain(); }

  static inline std::unique_ptr<RegistryProcess> open_, auth_;
  static inline std::string error_, auth_error_;
  RegistryHosts hosts_;
};

TEST_F(RegistryTest, Ping) {
  Client client(FastOptions(&hosts_));
  auto s = client.Ping(domain());
  EXPECT_TRUE(s) << s.error().message();
}

TEST_F(RegistryTest, PushAndPullOciImage) {
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/oci"};
  TestImage img = MakeImage("amd64", /*docker=*/false, 100000, 1);
  auto before = client.BlobExists(repo, img.layer.desc.digest);
  ASSERT_TRUE(before);
  EXPECT_FALSE(*before);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, img, "v1"));
  EXPECT_TRUE(*client.BlobExists(repo, img.layer.desc.digest));

  for (const std::string& text : {domain() + "/berth/oci:v1",
                                  domain() + "/berth/oci@" + img.manifest.desc.digest.ToString()}) {
    auto desc = client.Resolve(Ref(text));
    ASSERT_TRUE(desc) << text << ": " << desc.error().message();
    EXPECT_EQ(desc->media_type, oci::media::kOciManifest);
    EXPECT_EQ(desc->digest, img.manifest.desc.digest);
    EXPECT_EQ(desc->size, img.manifest.desc.size);
    auto bytes = client.FetchManifest(repo, *desc);
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(*bytes, img.manifest.bytes);
  }

  auto image = client.ResolveImage(Ref(domain() + "/berth/oci:v1"), PlatformOf("linux/amd64"));
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_FALSE(image->index);
  EXPECT_EQ(image->manifest_descriptor.digest, img.manifest.desc.digest);
  ASSERT_EQ(image->manifest.layers.size(), 1u);
  EXPECT_EQ(image->manifest.layers[0].digest, img.layer.desc.digest);
  EXPECT_EQ(image->config_bytes, img.config.bytes);
  EXPECT_EQ(image->config.architecture, "amd64");
  EXPECT_EQ(image->config.config.cmd, (std::vector<std::string>{"/bin/sh", "amd64"}));

  StringSink sink;
  int64_t last = 0, total = 0;
  auto fetched = client.FetchBlob(repo, img.layer.desc, sink, 0, [&](int64_t done, int64_t t) {
    EXPECT_GE(done, last);
    last = done;
    total = t;
  });
  ASSERT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(sink.data(), img.layer.bytes);
  EXPECT_EQ(last, img.layer.desc.size);
  EXPECT_EQ(total, img.layer.desc.size);
}

TEST_F(RegistryTest, ChunkedPush) {
  ClientOptions options = FastOptions(&hosts_);
  options.chunk_threshold = 50000;
  options.chunk_size = 40000;
  Client client(options);
  Repository repo{domain(), "berth/chunked"};
  Blob blob = MakeBlob(RandomBytes(150001, 7), oci::media::kOciLayerGzip);
  StringSource source(blob.bytes);
  int64_t pushed_bytes = 0;
  auto s = client.PushBlob(repo, blob.desc, source, [&](int64_t done, int64_t) {
    pushed_bytes = std::max(pushed_bytes, done);
  });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(pushed_bytes, blob.desc.size);
  StringSink sink;
  ASSERT_TRUE(client.FetchBlob(repo, blob.desc, sink));
  EXPECT_EQ(sink.data(), blob.bytes);

  // A wrong digest is refused by the registry when the upload is closed.
  Blob wrong = blob;
  wrong.desc.digest = oci::Sha256Of("something else");
  StringSource again(blob.bytes);
  auto bad = client.PushBlob(repo, wrong.desc, again);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument) << bad.error().message();
}

TEST_F(RegistryTest, DockerSchema2Image) {
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/docker"};
  TestImage img = MakeImage("amd64", /*docker=*/true, 5000, 2);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, img, "latest"));
  auto desc = client.Resolve(Ref(domain() + "/berth/docker"));
  ASSERT_TRUE(desc) << desc.error().message();
  EXPECT_EQ(desc->media_type, oci::media::kDockerManifest);
  EXPECT_EQ(desc->digest, img.manifest.desc.digest);
  auto image = client.ResolveImage(Ref(domain() + "/berth/docker"), PlatformOf("linux/amd64"));
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_EQ(image->config_bytes, img.config.bytes);
}

TEST_F(RegistryTest, IndexWithTwoPlatforms) {
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/multi"};
  TestImage amd = MakeImage("amd64", false, 3000, 3), arm = MakeImage("arm64", false, 4000, 4);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, amd, ""));
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, arm, ""));
  for (bool docker : {false, true}) {
    oci::Descriptor a = amd.manifest.desc, b = arm.manifest.desc;
    a.platform = PlatformOf("linux/amd64");
    b.platform = PlatformOf("linux/arm64/v8");
    const char* type = docker ? oci::media::kDockerManifestList : oci::media::kOciIndex;
    json index = {{"schemaVersion", 2},
                  {"mediaType", type},
                  {"manifests", {DescriptorJson(a), DescriptorJson(b)}}};
    std::string bytes = index.dump();
    std::string tag = docker ? "list" : "index";
    auto pushed = client.PushManifest(repo, tag, type, bytes);
    ASSERT_TRUE(pushed) << pushed.error().message();

    auto root = client.Resolve(Ref(domain() + "/berth/multi:" + tag));
    ASSERT_TRUE(root) << root.error().message();
    EXPECT_EQ(root->media_type, type);
    EXPECT_EQ(root->digest, oci::Sha256Of(bytes));

    for (const auto& [platform, img] : {std::pair{"linux/amd64", &amd}, {"linux/arm64", &arm}}) {
      auto image = client.ResolveImage(Ref(domain() + "/berth/multi:" + tag), PlatformOf(platform));
      ASSERT_TRUE(image) << platform << ": " << image.error().message();
      ASSERT_TRUE(image->index);
      EXPECT_EQ(image->index_bytes, bytes);
      EXPECT_EQ(image->manifest_descriptor.digest, img->manifest.desc.digest);
      EXPECT_EQ(image->manifest_bytes, img->manifest.bytes);
      EXPECT_EQ(image->config.architecture, PlatformOf(platform).architecture);
    }
    auto none =
        client.ResolveImage(Ref(domain() + "/berth/multi:" + tag), PlatformOf("linux/s390x"));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), ErrorCode::kNotFound) << none.error().message();
  }
}

TEST_F(RegistryTest, CrossRepositoryMount) {
  Client client(FastOptions(&hosts_));
  Repository src{domain(), "berth/mount-src"}, dst{domain(), "berth/mount-dst"};
  Blob blob = MakeBlob(RandomBytes(20000, 5), oci::media::kOciLayerGzip);
  StringSource source(blob.bytes);
  ASSERT_TRUE(client.PushBlob(src, blob.desc, source));
  EXPECT_FALSE(*client.BlobExists(dst, blob.desc.digest));
  auto mounted = client.MountBlob(dst, blob.desc.digest, src);
  ASSERT_TRUE(mounted) << mounted.error().message();
  EXPECT_TRUE(*mounted);
  EXPECT_TRUE(*client.BlobExists(dst, blob.desc.digest));
  auto unknown = client.MountBlob(dst, oci::Sha256Of("never pushed"), src);
  ASSERT_TRUE(unknown) << unknown.error().message();
  EXPECT_FALSE(*unknown);
}

TEST_F(RegistryTest, ResumeBlobWithRange) {
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/resume"};
  Blob blob = MakeBlob(RandomBytes(200000, 6), oci::media::kOciLayerGzip);
  StringSource source(blob.bytes);
  ASSERT_TRUE(client.PushBlob(repo, blob.desc, source));

  StoppingSink first(70000);
  auto stopped = client.FetchBlob(repo, blob.desc, first);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().message(), "sink full");
  ASSERT_EQ(first.data_.size(), 70000u);

  StringSink rest;
  auto resumed = client.FetchBlob(repo, blob.desc, rest, int64_t(first.data_.size()));
  ASSERT_TRUE(resumed) << resumed.error().message();
  EXPECT_EQ(oci::Sha256Of(first.data_ + rest.data()), blob.desc.digest);

  StringSink nothing;
  auto at_end = client.FetchBlob(repo, blob.desc, nothing, blob.desc.size);
  EXPECT_TRUE(at_end) << at_end.error().message();
  EXPECT_TRUE(nothing.data().empty());
  auto past = client.FetchBlob(repo, blob.desc, nothing, blob.desc.size + 1);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RegistryTest, NotFoundTexts) {
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/nf"};
  TestImage img = MakeImage("amd64", false, 100, 8);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, img, "here"));

  auto tag = client.Resolve(Ref(domain() + "/berth/nf:missing"));
  ASSERT_FALSE(tag);
  EXPECT_EQ(tag.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(tag.error().message(), "manifest for " + domain() +
                                       "/berth/nf:missing not found: manifest unknown: "
                                       "manifest unknown");
  auto repo_missing = client.Resolve(Ref(domain() + "/berth/nothing-here:1"));
  ASSERT_FALSE(repo_missing);
  EXPECT_EQ(repo_missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(repo_missing.error().message().find("unknown"), std::string::npos)
      << repo_missing.error().message();

  oci::Descriptor missing;
  missing.digest = oci::Sha256Of("missing blob");
  missing.size = 12;
  StringSink sink;
  auto blob = client.FetchBlob(repo, missing, sink);
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(blob.error().message().find("blob unknown"), std::string::npos)
      << blob.error().message();

  // A digest reference must match what comes back.
  oci::Descriptor wrong = img.manifest.desc;
  wrong.size += 1;
  auto mismatch = client.FetchManifest(repo, wrong);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RegistryTest, BasicAuth) {
  RegistryProcess* reg = WithAuth();
  if (reg == nullptr && auth_error_.find("not installed") != std::string::npos) {
    GTEST_SKIP() << auth_error_;
  }
  ASSERT_NE(reg, nullptr) << auth_error_;
  Repository repo{reg->domain(), "berth/private"};

  Client anonymous(FastOptions(&hosts_));
  auto denied = anonymous.Ping(reg->domain());
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied) << denied.error().message();

  Client bad(FastOptions(&hosts_));
  auto wrong = bad.Login(reg->domain(), "alice", "wrong");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong.error().message(), "unauthorized: incorrect username or password");

  Client client(FastOptions(&hosts_));
  auto login = client.Login(reg->domain(), "alice", "s3cret");
  ASSERT_TRUE(login) << login.error().message();
  TestImage img = MakeImage("amd64", false, 1000, 9);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, img, "v1"));

  StaticCredentials good_creds;
  good_creds.Add(reg->domain(), Credentials{"alice", "s3cret"});
  Client with_store(FastOptions(&hosts_, &good_creds));
  auto image =
      with_store.ResolveImage(Ref(reg->domain() + "/berth/private:v1"), PlatformOf("linux/amd64"));
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_EQ(image->config_bytes, img.config.bytes);

  StaticCredentials bad_creds;
  bad_creds.Add(reg->domain(), Credentials{"alice", "nope"});
  Client with_bad_store(FastOptions(&hosts_, &bad_creds));
  auto refused = with_bad_store.Resolve(Ref(reg->domain() + "/berth/private:v1"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied) << refused.error().message();
}

TEST_F(RegistryTest, MirrorFallback) {
  // The upstream itself is down too, so nothing here can leave the machine.
  std::string upstream = "127.0.0.1:" + std::to_string(fakes::UnusedPort());
  HostConfig config;
  config.insecure = true;
  config.mirrors = {"http://127.0.0.1:" + std::to_string(fakes::UnusedPort()), open_->url()};
  hosts_.Set(upstream, config);
  Client client(FastOptions(&hosts_));
  Repository real{domain(), "berth/mirrored"};
  TestImage img = MakeImage("amd64", false, 2000, 10);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, real, img, "1"));

  auto image = client.ResolveImage(Ref(upstream + "/berth/mirrored:1"), PlatformOf("linux/amd64"));
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_EQ(image->manifest_descriptor.digest, img.manifest.desc.digest);
  StringSink sink;
  ASSERT_TRUE(client.FetchBlob(Repository{upstream, "berth/mirrored"}, img.layer.desc, sink));
  EXPECT_EQ(sink.data(), img.layer.bytes);

  // Missing everywhere: the error is the upstream's (down).
  auto missing = client.Resolve(Ref(upstream + "/berth/mirrored:2"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kUnavailable) << missing.error().message();
}

TEST_F(RegistryTest, SkopeoReadsWhatWePushed) {
  if (access("/usr/bin/skopeo", X_OK) != 0) GTEST_SKIP() << "skopeo is not installed";
  Client client(FastOptions(&hosts_));
  Repository repo{domain(), "berth/skopeo"};
  TestImage img = MakeImage("amd64", false, 3000, 11);
  ASSERT_NO_FATAL_FAILURE(PushImage(client, repo, img, "v1"));
  int status = 0;
  std::string out = RunCommand(
      "skopeo inspect --tls-verify=false docker://" + domain() + "/berth/skopeo:v1 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find(img.manifest.desc.digest.ToString()), std::string::npos) << out;
  out = RunCommand(
      "skopeo inspect --raw --tls-verify=false docker://" + domain() + "/berth/skopeo:v1 2>&1",
      &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, img.manifest.bytes);
}

// ---- Against FakeServer ----

// A registry requiring Bearer tokens from its own /token endpoint; `creds` (when set) must be
// presented to the token endpoint as Basic auth.
struct BearerRegistry {
  explicit BearerRegistry(std::string user_pass = "")
      : user_pass(std::move(user_pass)),
        img(MakeImage("amd64", false, 500, 12)),
        server([this](const FakeRequest& r) { return Handle(r); }) {}

  FakeResponse Handle(const FakeRequest& r) {
    if (r.path == "/token") {
      if (!user_pass.empty() && r.Header("authorization") != "Basic " + Base64Encode(user_pass)) {
        return {401, {}, R"({"details":"incorrect username or password"})"};
      }
      return {200,
              {{"Content-Type", "application/json"}},
              R"({"access_token":"tok-1","expires_in":300})"};
    }
    if (r.Header("authorization") != "Bearer tok-1") {
      std::string challenge = "Bearer realm=\"" + server.url() + "/token\",service=\"fake\"";
      if (r.path != "/v2/") challenge += ",scope=\"repository:foo/bar:pull,push\"";
      return {401,
              {{"WWW-Authenticate", challenge}, {"Content-Type", "application/json"}},
              R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    }
    if (r.path == "/v2/") return {200, {}, "{}"};
    if (r.path == "/v2/foo/bar/manifests/latest" ||
        r.path == "/v2/foo/bar/manifests/" + img.manifest.desc.digest.ToString()) {
      return {200,
              {{"Content-Type", oci::media::kOciManifest},
               {"Docker-Content-Digest", img.manifest.desc.digest.ToString()}},
              img.manifest.bytes};
    }
    if (r.path == "/v2/foo/bar/blobs/" + img.config.desc.digest.ToString()) {
      return {200, {}, img.config.bytes};
    }
    return {404, {}, R"({"errors":[{"code":"NAME_UNKNOWN","message":"no"}]})"};
  }

  int TokenRequests() const {
    int n = 0;
    for (const FakeRequest& r : server.requests()) n += r.path == "/token";
    return n;
  }

  std::string user_pass;
  TestImage img;
  FakeServer server;
};

TEST(FakeRegistryTest, BearerFlow) {
  BearerRegistry reg;
  ASSERT_TRUE(reg.server.ok());
  RegistryHosts hosts;
  Client client(FastOptions(&hosts));
  auto image =
      client.ResolveImage(Ref(reg.server.authority() + "/foo/bar"), PlatformOf("linux/amd64"));
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_EQ(image->config_bytes, reg.img.config.bytes);
  // One token, for our pull scope merged with the challenge's, serves the whole pull.
  EXPECT_EQ(reg.TokenRequests(), 1);
  ASSERT_TRUE(client.Ping(reg.server.authority()));
  int tokens = reg.TokenRequests();
  bool saw_scope = false;
  for (const FakeRequest& r : reg.server.requests()) {
    if (r.path != "/token") continue;
    EXPECT_NE(r.query.find("service=fake"), std::string::npos) << r.query;
    EXPECT_EQ(r.Header("authorization"), "");
    // Our pull scope merged with the challenge's quoted "pull,push".
    if (r.query.find("scope=repository%3Afoo%2Fbar%3Apull%2Cpush") != std::string::npos) {
      saw_scope = true;
    }
  }
  EXPECT_TRUE(saw_scope) << [&] {
    std::string all;
    for (const FakeRequest& r : reg.server.requests()) all += r.path + "?" + r.query + "\n";
    return all;
  }();
  // Tokens are cached per scope: resolving again asks the token server nothing.
  ASSERT_TRUE(client.Resolve(Ref(reg.server.authority() + "/foo/bar")));
  EXPECT_EQ(reg.TokenRequests(), tokens);
}

TEST(FakeRegistryTest, BearerWithCredentials) {
  BearerRegistry reg("bob:pw");
  ASSERT_TRUE(reg.server.ok());
  RegistryHosts hosts;
  Client bad(FastOptions(&hosts));
  auto wrong = bad.Login(reg.server.authority(), "bob", "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message(), "unauthorized: incorrect username or password");
  Client anonymous(FastOptions(&hosts));
  auto denied = anonymous.Resolve(Ref(reg.server.authority() + "/foo/bar"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied) << denied.error().message();

  StaticCredentials creds;
  creds.Add(reg.server.authority(), Credentials{"bob", "pw"});
  Client client(FastOptions(&hosts, &creds));
  auto desc = client.Resolve(Ref(reg.server.authority() + "/foo/bar"));
  ASSERT_TRUE(desc) << desc.error().message();
  EXPECT_EQ(desc->digest, reg.img.manifest.desc.digest);
  Client login(FastOptions(&hosts));
  EXPECT_TRUE(login.Login(reg.server.authority(), "bob", "pw"));
}

// Serves one blob; the first GET is cut after `cut` bytes. With `honour_range` the server
// answers Range requests with 206, otherwise it always sends the whole blob.
struct FlakyBlobServer {
  FlakyBlobServer(std::string bytes, int64_t cut, bool honour_range)
      : blob(MakeBlob(std::move(bytes), oci::media::kOciLayer)),
        server([this, cut, honour_range](const FakeRequest& r) {
          FakeResponse resp;
          int n = ++gets;
          std::string range = r.Header("range");
          if (honour_range && !range.empty()) {
            int64_t from = std::stoll(range.substr(6));
            resp.status = 206;
            resp.headers = {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                                  std::to_string(blob.bytes.size() - 1) + "/" +
                                                  std::to_string(blob.bytes.size())}};
            resp.body = blob.bytes.substr(size_t(from));
          } else {
            resp.body = blob.bytes;
          }
          if (n == 1) resp.truncate_at = cut;
          return resp;
        }) {}
  Blob blob;
  std::atomic<int> gets{0};
  FakeServer server;
};

TEST(FakeRegistryTest, RetryResumesAfterDroppedConnection) {
  FlakyBlobServer flaky(RandomBytes(100000, 13), 30000, /*honour_range=*/true);
  ASSERT_TRUE(flaky.server.ok());
  RegistryHosts hosts;
  Client client(FastOptions(&hosts));
  StoppingSink sink(1 << 20);
  auto s = client.FetchBlob(Repository{flaky.server.authority(), "r"}, flaky.blob.desc, sink);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(sink.data_, flaky.blob.bytes);
  EXPECT_EQ(sink.restarts_, 0);
  auto reqs = flaky.server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].Header("range"), "");
  EXPECT_EQ(reqs[1].Header("range"), "bytes=30000-");
}

TEST(FakeRegistryTest, RestartsWhenServerIgnoresRange) {
  FlakyBlobServer flaky(RandomBytes(100000, 14), 30000, /*honour_range=*/false);
  ASSERT_TRUE(flaky.server.ok());
  RegistryHosts hosts;
  Client client(FastOptions(&hosts));
  StoppingSink sink(1 << 20);
  auto s = client.FetchBlob(Repository{flaky.server.authority(), "r"}, flaky.blob.desc, sink);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(sink.data_, flaky.blob.bytes);
  EXPECT_EQ(sink.restarts_, 1);
}

TEST(FakeRegistryTest, RetriesOn503And429) {
  TestImage img = MakeImage("amd64", false, 10, 15);
  std::atomic<int> calls{0};
  FakeServer server([&](const FakeRequest&) -> FakeResponse {
    int n = ++calls;
    if (n == 1) return {503, {}, "<html>down</html>"};
    if (n == 2) return {429, {{"Retry-After", "0"}}, ""};
    return {200,
            {{"Content-Type", oci::media::kOciManifest},
             {"Docker-Content-Digest", img.manifest.desc.digest.ToString()}},
            img.manifest.bytes};
  });
  ASSERT_TRUE(server.ok());
  RegistryHosts hosts;
  Client client(FastOptions(&hosts));
  auto desc = client.Resolve(Ref(server.authority() + "/a/b:c"));
  ASSERT_TRUE(desc) << desc.error().message();
  EXPECT_EQ(desc->digest, img.manifest.desc.digest);
  EXPECT_EQ(calls.load(), 3);

  calls = 0;
  ClientOptions once = FastOptions(&hosts);
  once.max_attempts = 1;
  Client impatient(once);
  auto failed = impatient.Resolve(Ref(server.authority() + "/a/b:c"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable) << failed.error().message();
}

TEST(FakeRegistryTest, RedirectToAnotherHostDropsAuthorization) {
  Blob blob = MakeBlob(RandomBytes(5000, 16), oci::media::kOciLayer);
  FakeServer storage([&](const FakeRequest&) { return FakeResponse{200, {}, blob.bytes}; });
  ASSERT_TRUE(storage.ok());
  FakeServer* self = nullptr;
  FakeServer registry([&](const FakeRequest& r) -> FakeResponse {
    if (r.path == "/token") return {200, {}, R"({"token":"t"})"};
    if (r.Header("authorization") != "Bearer t") {
      return {401, {{"WWW-Authenticate", "Bearer realm=\"" + self->url() + "/token\""}}, ""};
    }
    // "localhost" is another host name than "127.0.0.1", as a CDN would be.
    return {
        307, {{"Location", "http://localhost:" + std::to_string(storage.port()) + "/b?sig=1"}}, ""};
  });
  self = &registry;
  ASSERT_TRUE(registry.ok());
  RegistryHosts hosts;
  Client client(FastOptions(&hosts));
  StringSink sink;
  auto s = client.FetchBlob(Repository{registry.authority(), "r"}, blob.desc, sink);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(sink.data(), blob.bytes);
  auto stored = storage.requests();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].path, "/b");
  EXPECT_EQ(stored[0].Header("authorization"), "");
  bool registry_saw_token = false;
  for (const FakeRequest& r : registry.requests()) {
    registry_saw_token |= r.Header("authorization") == "Bearer t";
  }
  EXPECT_TRUE(registry_saw_token);
}

TEST(FakeRegistryTest, JunkAnswersAreErrorsNotCrashes) {
  Blob good = MakeBlob("{}", oci::media::kOciManifest);
  FakeServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.path.find("/manifests/junk") != std::string::npos) {
      return {200, {{"Content-Type", oci::media::kOciManifest}}, "\x01\x02 not json"};
    }
    if (r.path.find("/manifests/html404") != std::string::npos) {
      return {404, {{"Content-Type", "text/html"}}, "<html>no</html>"};
    }
    if (r.path.find("/manifests/sha256:") != std::string::npos) {
      return {200, {{"Content-Type", oci::media::kOciManifest}}, "tampered"};
    }
    if (r.path.find("/blobs/") != std::string::npos) return {200, {}, "tampered"};
    return {500, {}, "{\"errors\": [1, {\"code\": {}}]}"};
  });
  ASSERT_TRUE(server.ok());
  RegistryHosts hosts;
  ClientOptions options = FastOptions(&hosts);
  options.max_attempts = 1;
  Client client(options);
  std::string base = server.authority() + "/x/y";
  auto junk = client.ResolveImage(Ref(base + ":junk"), PlatformOf("linux/amd64"));
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code(), ErrorCode::kInvalidArgument) << junk.error().message();
  auto html = client.Resolve(Ref(base + ":html404"));
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(html.error().message(), "manifest for " + base + ":html404 not found: HTTP 404");
  // HEAD is trusted for a digest reference; the bytes are checked when fetched.
  auto pinned = client.Resolve(Ref(base + "@" + good.desc.digest.ToString()));
  ASSERT_TRUE(pinned) << pinned.error().message();
  auto tampered = client.FetchManifest(Repository{server.authority(), "x/y"}, *pinned);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code(), ErrorCode::kInvalidArgument) << tampered.error().message();
  StringSink sink;
  auto blob = client.FetchBlob(Repository{server.authority(), "x/y"}, good.desc, sink);
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code(), ErrorCode::kInvalidArgument) << blob.error().message();
  auto other = client.Resolve(Ref(base + ":other"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kUnavailable) << other.error().message();
}

TEST(FakeRegistryTest, ChunkedUploadSendsContentRanges) {
  Blob blob = MakeBlob(RandomBytes(25000, 17), oci::media::kOciLayer);
  std::string received;
  FakeServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/u1?_state=0"}}, ""};
    if (r.method == "PATCH") {
      received += r.body;
      // An absolute next location, as distribution sends.
      return {202,
              {{"Location", "http://127.0.0.1:1/ignored"},
               {"Range", "0-" + std::to_string(received.size() - 1)}},
              ""};
    }
    return {201, {{"Docker-Content-Digest", blob.desc.digest.ToString()}}, ""};
  });
  ASSERT_TRUE(server.ok());
  RegistryHosts hosts;
  ClientOptions options = FastOptions(&hosts);
  options.chunk_threshold = 10000;
  options.chunk_size = 10000;
  options.max_attempts = 1;
  Client client(options);
  StringSource source(blob.bytes);
  auto s = client.PushBlob(Repository{server.authority(), "r"}, blob.desc, source);
  // The second PATCH goes to the Location the first answer gave: a dead port here.
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable) << s.error().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[1].method, "PATCH");
  EXPECT_EQ(reqs[1].path, "/v2/r/blobs/uploads/u1");
  EXPECT_EQ(reqs[1].query, "_state=0");
  EXPECT_EQ(reqs[1].Header("content-range"), "0-9999");
  EXPECT_EQ(reqs[1].Header("content-length"), "10000");
  EXPECT_EQ(reqs[1].Header("content-type"), "application/octet-stream");
  EXPECT_EQ(received, blob.bytes.substr(0, 10000));
}

TEST(FakeRegistryTest, ChunkedUploadClosesWithDigest) {
  Blob blob = MakeBlob(RandomBytes(25000, 18), oci::media::kOciLayer);
  std::string received;
  FakeServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.method == "POST") return {202, {{"Location", "/up/1"}}, ""};
    if (r.method == "PATCH") {
      received += r.body;
      return {202, {{"Location", "/up/" + std::to_string(received.size())}}, ""};
    }
    if (r.method == "PUT" && received == blob.bytes && r.body.empty()) {
      return {201, {{"Docker-Content-Digest", blob.desc.digest.ToString()}}, ""};
    }
    return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID","message":"bad"}]})"};
  });
  ASSERT_TRUE(server.ok());
  RegistryHosts hosts;
  ClientOptions options = FastOptions(&hosts);
  options.chunk_threshold = 10000;
  options.chunk_size = 10000;
  Client client(options);
  StringSource source(blob.bytes);
  auto s = client.PushBlob(Repository{server.authority(), "r"}, blob.desc, source);
  ASSERT_TRUE(s) << s.error().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[2].path, "/up/10000");
  EXPECT_EQ(reqs[3].Header("content-range"), "20000-24999");
  EXPECT_EQ(reqs[4].method, "PUT");
  EXPECT_EQ(reqs[4].path, "/up/25000");
  EXPECT_EQ(reqs[4].query, "digest=sha256%3A" + blob.desc.digest.hex());
}

}  // namespace
}  // namespace berth::registry
