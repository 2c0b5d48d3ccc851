// Integration tests of the image routes: the real berthd on a temporary data root and Debian's
// docker-registry on loopback (a busybox-static image built and pushed here), driven by the
// docker CLI (/usr/local/bin/docker), the berth CLI, docker-py and raw requests.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "archive/archive.h"
#include "client/client.h"
#include "oci/image_spec.h"
#include "registry/client.h"
#include "registry/fake_server.h"
#include "registry/registry_process.h"
#include "test_support.h"

extern char** environ;

namespace berth {
namespace {
using berth::test_support::Blob;
using berth::test_support::DescriptorJson;
using berth::test_support::Kill;
using berth::test_support::MakeBlob;
using berth::test_support::Python;
using berth::test_support::ReadAll;
using berth::test_support::Shell;
using berth::test_support::Spawn;

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

using registry::testing_registry::kRegistryBinary;
using registry::testing_registry::RegistryProcess;
constexpr const char* kDocker = "/usr/local/bin/docker";

// Builds a one-layer busybox-static image and pushes it as <domain>/<repo>:<tag>.
std::string PushBusybox(const std::string& domain, const std::string& repo, const std::string& tag,
                        const std::string& work) {
  std::string r = work + "/rootfs";
  for (const char* d : {"bin", "etc", "tmp", "root"}) fs::create_directories(r + "/" + d);
  fs::copy_file("/bin/busybox", r + "/bin/busybox", fs::copy_options::overwrite_existing);
  chmod((r + "/bin/busybox").c_str(), 0755);
  for (const char* a : {"sh", "ls", "echo"}) {
    std::error_code ec;
    fs::create_symlink("busybox", r + "/bin/" + a, ec);
  }
  std::ofstream(r + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  int fd = open(r.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  archive::StringSink tar;
  if (!archive::WriteTree(fd, tar)) return "write tree failed";
  close(fd);
  oci::Digest diff_id = oci::Sha256Of(tar.data());
  archive::StringSink gz;
  archive::CompressingSink z(gz, archive::Compression::kGzip);
  if (!z.Write(tar.data().data(), tar.data().size()) || !z.Close()) return "gzip failed";
  Blob layer = MakeBlob(gz.Take(), oci::media::kOciLayerGzip);
  json config = {{"architecture", oci::HostPlatform().architecture},
                 {"os", "linux"},
                 {"created", "2024-01-02T03:04:06Z"},
                 {"config", {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id.ToString()}}}},
                 {"history",
                  {{{"created", "2024-01-02T03:04:05Z"}, {"created_by", "ADD rootfs /"}},
                   {{"created", "2024-01-02T03:04:06Z"},
                    {"created_by", "CMD [\"sh\"]"},
                    {"empty_layer", true}}}}};
  Blob cfg = MakeBlob(config.dump(), oci::media::kOciConfig);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", oci::media::kOciManifest},
                   {"config", DescriptorJson(cfg.desc)},
                   {"layers", {DescriptorJson(layer.desc)}}};
  Blob man = MakeBlob(manifest.dump(), oci::media::kOciManifest);
  registry::RegistryHosts hosts;
  registry::ClientOptions o;
  o.hosts = &hosts;
  registry::Client c(o);
  registry::Repository rep{domain, repo};
  for (const Blob* b : {&layer, &cfg}) {
    registry::StringSource src(b->bytes);
    if (auto s = c.PushBlob(rep, b->desc, src); !s) return s.error().message();
  }
  auto d = c.PushManifest(rep, tag, man.desc.media_type, man.bytes);
  if (!d) return d.error().message();
  return "";
}

class DaemonImagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kRegistryBinary, X_OK) != 0 || access("/bin/busybox", X_OK) != 0 || geteuid() != 0)
      return;
    reg_ = RegistryProcess::Start("", &setup_error_);
    if (!reg_) return;
    setup_error_ = PushBusybox(Domain(), "test/busybox", "latest", reg_->dir());
  }
  static void TearDownTestSuite() { reg_.reset(); }
  static std::string Domain() { return reg_->domain(); }
  static std::string Ref() { return Domain() + "/test/busybox:latest"; }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (overlay snapshots)";
    if (access(kRegistryBinary, X_OK) != 0) GTEST_SKIP() << "docker-registry is not installed";
    if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static is not installed";
    ASSERT_EQ(setup_error_, "");
    char dir[] = "/tmp/berthd-img-it-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    dir_ = dir;
    sock_ = dir_ + "/berth.sock";
    fs::create_directories(dir_ + "/home/.docker");
    std::ofstream(dir_ + "/daemon.json") << "{}";
    pid_ = Spawn({BERTHD_PATH, "-H", "unix://" + sock_, "--data-root", dir_ + "/data",
                  "--exec-root", dir_ + "/exec", "--pidfile", dir_ + "/berthd.pid", "--config-file",
                  dir_ + "/daemon.json", "--log-level", "debug"},
                 dir_ + "/berthd.log");
    ASSERT_GT(pid_, 0);
    client_ = std::make_unique<client::Client>(sock_);
    bool ready = false;
    for (int i = 0; i < 200 && !ready; ++i) {
      auto r = client_->Get("/_ping");
      ready = r && r->status == 200;
      if (!ready) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(ready) << Log();
    env_ = "DOCKER_HOST=unix://" + sock_ + " DOCKER_CONFIG=" + dir_ + "/home/.docker HOME=" + dir_ +
           "/home ";
  }
  void TearDown() override {
    Kill(pid_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Log() { return ReadAll(dir_ + "/berthd.log"); }
  std::pair<int, std::string> Docker(const std::string& args) {
    return Shell(env_ + kDocker + " " + args);
  }
  std::pair<int, std::string> Berth(const std::string& args) {
    return Shell(env_ + BERTH_CLI_PATH + " " + args);
  }
  void ExpectAlive() {
    auto r = client_->Get("/_ping");
    ASSERT_TRUE(r) << r.error().message() << Log();
    EXPECT_EQ(r->status, 200);
  }

  static inline std::unique_ptr<RegistryProcess> reg_;
  static inline std::string setup_error_;
  std::string dir_, sock_, env_;
  pid_t pid_ = -1;
  std::unique_ptr<client::Client> client_;
};

TEST_F(DaemonImagesTest, DockerCliPullImagesInspectRmi) {
  if (access(kDocker, X_OK) != 0) GTEST_SKIP() << "no docker CLI";
  auto [rc, out] = Docker("pull " + Ref());
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("latest: Pulling from test/busybox"), std::string::npos) << out;
  EXPECT_NE(out.find("Pull complete"), std::string::npos) << out;
  EXPECT_NE(out.find("Digest: sha256:"), std::string::npos) << out;
  EXPECT_NE(out.find("Status: Downloaded newer image for " + Ref()), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind('\n', out.size() - 2) + 1), Ref() + "\n") << out;

  std::tie(rc, out) = Docker("pull " + Ref());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Status: Image is up to date for " + Ref()), std::string::npos) << out;

  std::tie(rc, out) = Docker("images");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("REPOSITORY"), std::string::npos) << out;
  EXPECT_NE(out.find(Domain() + "/test/busybox"), std::string::npos) << out;
  EXPECT_NE(out.find("latest"), std::string::npos) << out;
  std::tie(rc, out) = Docker("images -q");
  EXPECT_EQ(out.size(), 13u) << out;
  std::tie(rc, out) = Docker("images --filter dangling=true -q");
  EXPECT_EQ(out, "") << out;
  std::tie(rc, out) = Docker("images --filter reference='*/test/*' -q");
  EXPECT_EQ(out.size(), 13u) << out;

  std::tie(rc, out) = Docker("image inspect " + Ref());
  ASSERT_EQ(rc, 0) << out;
  json j = json::parse(out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["RepoTags"][0], Ref());
  EXPECT_EQ(j[0]["Config"]["Cmd"][0], "sh");
  EXPECT_TRUE(j[0]["ContainerConfig"].is_object());
  std::string id = j[0]["Id"];
  std::tie(rc, out) = Docker("inspect --format '{{.Id}}' " + Ref());
  EXPECT_EQ(out, id + "\n");
  std::tie(rc, out) = Docker("info --format '{{.Images}}'");
  EXPECT_EQ(out, "1\n");

  std::tie(rc, out) = Docker("pull " + Domain() + "/test/nope:latest");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("manifest unknown"), std::string::npos) << out;
  std::tie(rc, out) = Docker("image inspect nosuch:image");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("No such image: nosuch:image"), std::string::npos) << out;

  auto bad = client_->Post("/v1.41/images/create?fromImage=UPPER&tag=latest", "", "");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("invalid reference format"), std::string::npos) << bad->body;
  ExpectAlive();

  std::tie(rc, out) = Docker("rmi " + Ref());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Untagged: " + Ref()), std::string::npos) << out;
  EXPECT_NE(out.find("Deleted: " + id), std::string::npos) << out;
  std::tie(rc, out) = Docker("rmi " + Ref());
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("No such image"), std::string::npos) << out;
  ExpectAlive();
}

TEST_F(DaemonImagesTest, DockerCliTagHistorySaveLoadImportPrune) {
  if (access(kDocker, X_OK) != 0) GTEST_SKIP() << "no docker CLI";
  ASSERT_EQ(Docker("pull -q " + Ref()).first, 0) << Log();
  auto [rc, out] = Docker("tag " + Ref() + " mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("images mine/bb");
  EXPECT_NE(out.find("mine/bb"), std::string::npos) << out;
  EXPECT_NE(out.find("v1"), std::string::npos) << out;
  std::tie(rc, out) = Docker("history mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ADD rootfs /"), std::string::npos) << out;
  EXPECT_NE(out.find("<missing>"), std::string::npos) << out;

  std::tie(rc, out) = Docker("save -o " + dir_ + "/s.tar mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Shell("tar -tf " + dir_ + "/s.tar");
  EXPECT_NE(out.find("manifest.json"), std::string::npos) << out;
  std::tie(rc, out) = Docker("rmi -f mine/bb:v1 " + Ref());
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("load -i " + dir_ + "/s.tar");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Loaded image: mine/bb:v1"), std::string::npos) << out;
  std::tie(rc, out) = Shell("echo garbage > " + dir_ + "/bad.tar; " + env_ + kDocker + " load -i " +
                            dir_ + "/bad.tar");
  EXPECT_EQ(rc, 1) << out;
  ExpectAlive();

  std::tie(rc, out) = Shell("tar -C " + reg_->dir() + "/rootfs -cf " + dir_ + "/root.tar .");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) =
      Docker("import -c 'CMD [\"echo\",\"hi\"]' -m imported " + dir_ + "/root.tar imp:1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("sha256:", 0), 0u) << out;
  std::tie(rc, out) = Docker("image inspect --format '{{json .Config.Cmd}}' imp:1");
  EXPECT_EQ(out, "[\"echo\",\"hi\"]\n");
  // An untagged import is dangling; prune removes it.
  std::tie(rc, out) = Docker("import " + dir_ + "/root.tar");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("images -f dangling=true -q");
  EXPECT_EQ(out.size(), 13u) << out;
  std::tie(rc, out) = Docker("image prune -f");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Total reclaimed space"), std::string::npos) << out;
  std::tie(rc, out) = Docker("images -f dangling=true -q");
  EXPECT_EQ(out, "") << out;

  std::tie(rc, out) = Docker("login -u u -p p " + Domain());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Login Succeeded"), std::string::npos) << out;
  // The login stored the credentials; the pull sends them as X-Registry-Auth.
  std::tie(rc, out) = Docker("pull -q " + Ref());
  EXPECT_EQ(rc, 0) << out;
  ExpectAlive();
}

TEST_F(DaemonImagesTest, BerthCli) {
  auto [rc, out] = Berth("pull " + Ref());
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("Pull complete"), std::string::npos) << out;
  EXPECT_NE(out.find("Status: Downloaded newer image for " + Ref()), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind('\n', out.size() - 2) + 1), Ref() + "\n") << out;
  std::tie(rc, out) = Berth("tag " + Ref() + " mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Berth("images");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("REPOSITORY   ", 0), 0u) << out;
  EXPECT_NE(out.find("mine/bb"), std::string::npos) << out;
  std::tie(rc, out) = Berth("images --digests");
  EXPECT_NE(out.find("DIGEST"), std::string::npos) << out;
  std::tie(rc, out) = Berth("images -q");
  EXPECT_EQ(out.size(), 13u) << out;
  std::tie(rc, out) = Berth("history mine/bb:v1");
  EXPECT_NE(out.find("ADD rootfs /"), std::string::npos) << out;
  std::tie(rc, out) = Berth("image inspect mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(json::parse(out)[0]["Config"]["Cmd"][0], "sh");
  std::tie(rc, out) = Berth("image inspect nosuch");
  EXPECT_EQ(rc, 1) << out;
  std::tie(rc, out) = Berth("save -o " + dir_ + "/s.tar mine/bb:v1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Berth("rmi mine/bb:v1 " + Ref());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Untagged: mine/bb:v1"), std::string::npos) << out;
  EXPECT_NE(out.find("Deleted: sha256:"), std::string::npos) << out;
  std::tie(rc, out) = Berth("rmi mine/bb:v1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("Error response from daemon: No such image: mine/bb:v1"), std::string::npos)
      << out;
  std::tie(rc, out) = Berth("load -i " + dir_ + "/s.tar");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Loaded image: mine/bb:v1"), std::string::npos) << out;
  std::tie(rc, out) = Shell("tar -C " + reg_->dir() + "/rootfs -cf " + dir_ + "/root.tar .");
  std::tie(rc, out) = Berth("import -c 'ENV A=b' " + dir_ + "/root.tar imp:2");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("sha256:", 0), 0u) << out;
  std::tie(rc, out) = Berth("pull UPPER");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("invalid reference format"), std::string::npos) << out;
  std::tie(rc, out) =
      Shell("echo p | " + env_ + BERTH_CLI_PATH + " login -u u --password-stdin " + Domain());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(ReadAll(dir_ + "/home/.docker/config.json").find(Domain()), std::string::npos);
  std::tie(rc, out) = Berth("logout " + Domain());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(ReadAll(dir_ + "/home/.docker/config.json").find(Domain()), std::string::npos);
  ExpectAlive();
}

TEST_F(DaemonImagesTest, DockerPy) {
  if (Shell(Python() + " -c 'import docker'").first != 0) GTEST_SKIP() << "no docker-py";
  std::string script = dir_ + "/py.py";
  std::ofstream(script) << "import docker, sys\n"
                        << "c = docker.DockerClient(base_url='unix://" << sock_ << "')\n"
                        << "img = c.images.pull('" << Domain() << "/test/busybox', tag='latest')\n"
                        << "print('pulled', img.id)\n"
                        << "tags = [t for i in c.images.list() for t in i.tags]\n"
                        << "print('tags', tags)\n"
                        << "assert '" << Ref() << "' in tags\n"
                        << "c.images.remove('" << Ref() << "')\n"
                        << "assert c.images.list() == []\n"
                        << "try:\n  c.images.get('" << Ref() << "')\n  sys.exit(3)\n"
                        << "except docker.errors.ImageNotFound:\n  print('gone')\n";
  auto [rc, out] = Shell(Python() + " " + script);
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("gone"), std::string::npos) << out;
}

}  // namespace
}  // namespace berth
