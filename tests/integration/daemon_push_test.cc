// Integration tests of image push: the real berthd (BerthdFixture, a busybox image imported from
// make-bundle.sh's rootfs) and Debian's docker-registry on loopback, driven by the docker CLI,
// the berth CLI and docker-py; what arrived is checked with skopeo, and pulled back and run.
// Each test pushes to its own repositories (the registry is shared by the suite).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "berthd_fixture.h"
#include "registry/client.h"
#include "registry/fake_server.h"
#include "registry/registry_process.h"
#include "test_support.h"

namespace berth {
namespace {

using test_support::Kill;
using test_support::Python;
using test_support::ReadAll;
using test_support::Shell;
using test_support::Spawn;

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

using registry::testing_registry::kRegistryBinary;
using registry::testing_registry::RegistryProcess;
constexpr const char* kSkopeo = "/usr/bin/skopeo";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DaemonPushTest : public test_support::BerthdFixture {
 protected:
  DaemonPushTest() : BerthdFixture("/tmp/bpt-", true) {}

  static void SetUpTestSuite() {
    if (access(kRegistryBinary, X_OK) != 0 || geteuid() != 0) return;
    reg_ = RegistryProcess::Start("", &setup_error_);
  }
  static void TearDownTestSuite() { reg_.reset(); }
  static std::string Domain() { return reg_->domain(); }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (overlay snapshots)";
    if (access(kRegistryBinary, X_OK) != 0) GTEST_SKIP() << "docker-registry is not installed";
    if (access(kSkopeo, X_OK) != 0) GTEST_SKIP() << "skopeo is not installed";
    ASSERT_EQ(setup_error_, "");
    BerthdFixture::SetUp();
  }

  std::pair<int, std::string> Berth(const std::string& args) {
    return Shell(env_ + BERTH_CLI_PATH + " " + args);
  }
  // skopeo inspect [--config] of a reference in the registry.
  json Skopeo(const std::string& ref, bool config = false) {
    auto [rc, out] = Shell(std::string(kSkopeo) + " inspect --tls-verify=false " +
                           (config ? "--config " : "") + "docker://" + ref + " 2>&1");
    EXPECT_EQ(rc, 0) << out;
    return json::parse(out, nullptr, false);
  }
  json Inspect(const std::string& name) {
    auto [rc, out] = Docker("image inspect " + name);
    EXPECT_EQ(rc, 0) << out;
    json j = json::parse(out, nullptr, false);
    return j.is_array() && !j.empty() ? j[0] : json();
  }
  // The sha256 of "<tag>: digest: sha256:<hex> size: N" in push output, "" when absent.
  static std::string PushedDigest(const std::string& out, const std::string& tag) {
    std::smatch m;
    std::regex re(tag + ": digest: (sha256:[0-9a-f]{64}) size: [0-9]+");
    return std::regex_search(out, m, re) ? m[1].str() : "";
  }
  // What a registry reference holds matches the local image: its manifest digest is the one
  // the push printed, and its config has the local image's diff IDs.
  void ExpectInRegistry(const std::string& ref, const std::string& local,
                        const std::string& digest) {
    json remote = Skopeo(ref);
    EXPECT_EQ(remote.value("Digest", ""), digest) << remote.dump();
    json config = Skopeo(ref, true);
    json image = Inspect(local);
    EXPECT_EQ(config["rootfs"]["diff_ids"], image["RootFS"]["Layers"]) << config.dump();
    EXPECT_EQ(remote["Layers"].size(), image["RootFS"]["Layers"].size()) << remote.dump();
  }

  static inline std::unique_ptr<RegistryProcess> reg_;
  static inline std::string setup_error_;
};

TEST_F(DaemonPushTest, DockerCliPushPullBackAndRun) {
  const std::string repo = Domain() + "/pushed/busybox";
  int64_t since = int64_t(time(nullptr));
  auto [rc, out] = Docker("tag busybox " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, "The push refers to repository [" + repo + "]")) << out;
  EXPECT_TRUE(Has(out, ": Pushed\n")) << out;
  std::string digest = PushedDigest(out, "v1");
  ASSERT_NE(digest, "") << out;
  ExpectInRegistry(repo + ":v1", repo + ":v1", digest);
  // The repo digest is recorded on the image.
  json image = Inspect(repo + ":v1");
  EXPECT_TRUE(Has(image["RepoDigests"].dump(), repo + "@" + digest)) << image.dump();
  std::string id = image["Id"];

  // A second push finds every layer there, and the manifest (pushed byte-identical) keeps its
  // digest.
  std::tie(rc, out) = Docker("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, ": Layer already exists")) << out;
  EXPECT_FALSE(Has(out, ": Pushed")) << out;
  EXPECT_EQ(PushedDigest(out, "v1"), digest) << out;

  // Another repository of the same registry: the layer is mounted, not uploaded.
  const std::string other = Domain() + "/other/busybox";
  ASSERT_EQ(Docker("tag busybox " + other + ":v2").first, 0);
  std::tie(rc, out) = Docker("push " + other + ":v2");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, ": Mounted from pushed/busybox")) << out;
  EXPECT_EQ(PushedDigest(out, "v2"), digest) << out;
  ExpectInRegistry(other + ":v2", other + ":v2", digest);

  // Unknown images and tags.
  std::tie(rc, out) = Docker("push " + Domain() + "/nosuch/image:v1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(
      Has(out, "An image does not exist locally with the tag: " + Domain() + "/nosuch/image"))
      << out;
  std::tie(rc, out) = Docker("push " + repo + ":nope");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(Has(out, "tag does not exist: " + repo + ":nope")) << out;

  // The push event.
  std::tie(rc, out) = Docker("events --since " + std::to_string(since) + " --until " +
                             std::to_string(time(nullptr) + 1) +
                             " --filter type=image --filter event=push --format '{{.ID}}'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(Has(out, repo + ":v1\n")) << out;

  // Gone locally, pulled back from the registry and run.
  std::tie(rc, out) = Docker("rmi -f " + id);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("pull " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, "Digest: " + digest)) << out;
  std::tie(rc, out) = Docker("run --rm " + repo + ":v1 echo pushed-and-back");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "pushed-and-back\n");
}

TEST_F(DaemonPushTest, BerthCliPush) {
  const std::string repo = Domain() + "/berth/busybox";
  ASSERT_EQ(Berth("tag busybox " + repo + ":v1").first, 0);
  auto [rc, out] = Berth("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("The push refers to repository [" + repo + "]\n", 0), 0u) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\n[0-9a-f]{12}: Preparing\n"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\n[0-9a-f]{12}: Pushed\n"))) << out;
  EXPECT_FALSE(Has(out, "Pushing")) << out;  // no progress bars off a terminal
  std::string digest = PushedDigest(out, "v1");
  ASSERT_NE(digest, "") << out;
  // The final line, as docker prints it.
  EXPECT_TRUE(
      std::regex_search(out, std::regex("\nv1: digest: sha256:[0-9a-f]{64} size: [0-9]+\n$")))
      << out;
  ExpectInRegistry(repo + ":v1", repo + ":v1", digest);

  std::tie(rc, out) = Berth("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(Has(out, ": Layer already exists\n")) << out;

  // No tag: docker's default tag, which this repository lacks locally; -a pushes every tag.
  std::tie(rc, out) = Berth("push " + repo);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(Has(out, "Using default tag: latest\n")) << out;
  EXPECT_TRUE(Has(out, "tag does not exist: " + repo + ":latest")) << out;
  ASSERT_EQ(Berth("tag busybox " + repo + ":v2").first, 0);
  std::tie(rc, out) = Berth("push -a " + repo);
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(PushedDigest(out, "v1"), digest) << out;
  EXPECT_EQ(PushedDigest(out, "v2"), digest) << out;
  std::tie(rc, out) = Berth("push -q " + repo + ":v2");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, repo + ":v2\n");

  std::tie(rc, out) = Berth("push " + Domain() + "/berth/nosuch:v1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(Has(out,
                  "Error response from daemon: An image does not exist locally with the "
                  "tag: " +
                      Domain() + "/berth/nosuch"))
      << out;
}

// A registry that wants credentials (htpasswd Basic auth): refused without a login, pushed
// after `docker login` (the CLI sends them as X-Registry-Auth), readable with them.
TEST_F(DaemonPushTest, PushNeedsTheLoginOfAnAuthRegistry) {
  auto [rc, entry] = Shell("htpasswd -Bbn alice s3cret 2>/dev/null");
  if (rc != 0 || entry.empty()) GTEST_SKIP() << "htpasswd (apache2-utils) is not installed";
  while (!entry.empty() && (entry.back() == '\n' || entry.back() == '\r')) entry.pop_back();
  std::string error;
  auto reg = RegistryProcess::Start(entry, &error);
  ASSERT_NE(reg, nullptr) << error;
  const std::string repo = reg->domain() + "/private/busybox";
  std::string out;
  ASSERT_EQ(Docker("tag busybox " + repo + ":v1").first, 0);

  std::tie(rc, out) = Docker("push " + repo + ":v1");
  EXPECT_NE(rc, 0) << out;
  EXPECT_TRUE(Has(out, "unauthorized")) << out;

  std::tie(rc, out) = Docker("login -u alice -p wrong " + reg->domain());
  EXPECT_NE(rc, 0) << out;
  std::tie(rc, out) = Docker("login -u alice -p s3cret " + reg->domain());
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, "Login Succeeded")) << out;
  std::tie(rc, out) = Docker("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, ": Pushed\n")) << out;
  std::string digest = PushedDigest(out, "v1");
  ASSERT_NE(digest, "") << out;
  std::tie(rc, out) =
      Shell(std::string(kSkopeo) + " inspect --tls-verify=false --creds alice:s3cret " +
            "docker://" + repo + ":v1 2>&1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(json::parse(out, nullptr, false).value("Digest", ""), digest) << out;
  // berth's CLI with the same stored login.
  ASSERT_EQ(Berth("tag busybox " + repo + ":v2").first, 0);
  std::tie(rc, out) = Berth("push " + repo + ":v2");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, ": Layer already exists\n")) << out;
}

// An image loaded from `docker save` keeps its layer uncompressed: it goes up as-is, with the
// Docker tar media type, and pulls back.
TEST_F(DaemonPushTest, LoadedImageWithUncompressedLayers) {
  const std::string repo = Domain() + "/loaded/busybox";
  auto [rc, out] = Docker("save -o " + dir_ + "/s.tar busybox");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("rmi busybox");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("load -i " + dir_ + "/s.tar");
  ASSERT_EQ(rc, 0) << out << Log();
  ASSERT_EQ(Docker("tag busybox " + repo + ":v1").first, 0);
  std::tie(rc, out) = Docker("push " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string digest = PushedDigest(out, "v1");
  ASSERT_NE(digest, "") << out;
  ExpectInRegistry(repo + ":v1", repo + ":v1", digest);
  json raw = json::parse(
      Shell(std::string(kSkopeo) + " inspect --raw --tls-verify=false docker://" + repo + ":v1")
          .second,
      nullptr, false);
  EXPECT_EQ(raw["layers"][0]["mediaType"], "application/vnd.docker.image.rootfs.diff.tar")
      << raw.dump();
  std::string id = Inspect(repo + ":v1")["Id"];
  ASSERT_EQ(Docker("rmi -f " + id).first, 0);
  std::tie(rc, out) = Docker("pull " + repo + ":v1");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("run --rm " + repo + ":v1 echo loaded");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "loaded\n");
}

TEST_F(DaemonPushTest, DockerPy) {
  if (Shell(Python() + " -c 'import docker'").first != 0) GTEST_SKIP() << "no docker-py";
  const std::string repo = Domain() + "/py/busybox";
  std::string script = dir_ + "/py.py";
  std::ofstream(script)
      << "import docker, sys\n"
      << "c = docker.DockerClient(base_url='unix://" << sock_ << "')\n"
      << "c.images.get('busybox').tag('" << repo << "', 'v1')\n"
      << "lines = list(c.images.push('" << repo << "', tag='v1', stream=True, decode=True))\n"
      << "assert not [l for l in lines if 'error' in l], lines\n"
      << "aux = [l['aux'] for l in lines if 'aux' in l]\n"
      << "assert len(aux) == 1 and aux[0]['Tag'] == 'v1', lines\n"
      << "print('digest', aux[0]['Digest'])\n"
      << "assert any(l.get('status') == 'Pushed' for l in lines), lines\n"
      << "img = c.images.get('" << repo << ":v1')\n"
      << "assert '" << repo << "@' + aux[0]['Digest'] in img.attrs['RepoDigests'], img.attrs\n"
      << "# without a tag: every tag of the repository\n"
      << "c.images.get('busybox').tag('" << repo << "', 'v2')\n"
      << "lines = list(c.images.push('" << repo << "', stream=True, decode=True))\n"
      << "assert sorted(l['aux']['Tag'] for l in lines if 'aux' in l) == ['v1', 'v2'], lines\n"
      << "try:\n"
      << "  c.images.push('" << Domain() << "/py/nosuch', tag='v1')\n"
      << "  sys.exit(3)\n"
      << "except docker.errors.NotFound as e:\n"
      << "  print('not found:', e.explanation)\n";
  auto [rc, out] = Shell(Python() + " " + script);
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_TRUE(Has(out, "not found: An image does not exist locally with the tag")) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("digest (sha256:[0-9a-f]{64})"))) << out;
  ExpectInRegistry(repo + ":v1", repo + ":v1", m[1].str());
}

}  // namespace
}  // namespace berth
