// Tests for berthd's configuration: flags, daemon.json, and which wins.
#include "daemon/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace berth::daemon {
namespace {

base::Result<std::optional<DaemonFlags>> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berthd");
  return ParseDaemonFlags(static_cast<int>(args.size()), args.data(), nullptr);
}

TEST(ConfigTest, ParsesDockerdFlags) {
  auto f = Parse({"-H", "unix:///tmp/a.sock", "--host=unix:///tmp/b.sock", "--data-root", "/d",
                  "--exec-root=/e", "--pidfile", "/p", "--log-level", "debug",
                  "--insecure-registry", "r:5000", "--registry-mirror", "https://m"});
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(*f);
  const DaemonFlags& flags = **f;
  EXPECT_EQ(flags.hosts, (std::vector<std::string>{"unix:///tmp/a.sock", "unix:///tmp/b.sock"}));
  EXPECT_EQ(*flags.data_root, "/d");
  EXPECT_EQ(*flags.exec_root, "/e");
  EXPECT_EQ(*flags.pidfile, "/p");
  EXPECT_EQ(*flags.log_level, "debug");
  EXPECT_EQ(flags.insecure_registries, std::vector<std::string>{"r:5000"});
  EXPECT_EQ(flags.registry_mirrors, std::vector<std::string>{"https://m"});
  EXPECT_FALSE(flags.config_file);
}

TEST(ConfigTest, UnknownFlagIsInvalidArgument) {
  auto f = Parse({"--no-such-flag"});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), base::ErrorCode::kInvalidArgument);
}

TEST(ConfigTest, HelpIsNotAnError) {
  std::string out;
  const char* argv[] = {"berthd", "--help"};
  auto f = ParseDaemonFlags(2, argv, &out);
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_NE(out.find("--data-root"), std::string::npos);
}

TEST(ConfigTest, FileOverridesDefaultsAndFlagsOverrideFile) {
  DaemonConfig c;
  std::vector<std::string> ignored;
  ASSERT_TRUE(ApplyConfigJson(R"({"data-root":"/file-data","exec-root":"/file-exec",
      "hosts":["unix:///file.sock"],"insecure-registries":["a:1"],"registry-mirrors":["https://fm"],
      "log-level":"warn","pidfile":"/file.pid","storage-driver":"overlay2"})",
                              c, &ignored));
  EXPECT_EQ(c.data_root, "/file-data");
  EXPECT_EQ(c.hosts, std::vector<std::string>{"unix:///file.sock"});
  EXPECT_EQ(ignored, std::vector<std::string>{"storage-driver"});

  DaemonFlags f;
  f.data_root = "/flag-data";
  f.hosts = {"unix:///flag.sock"};
  ApplyFlags(f, c);
  EXPECT_EQ(c.data_root, "/flag-data");
  EXPECT_EQ(c.exec_root, "/file-exec");  // not given as a flag: the file's value stays
  EXPECT_EQ(c.hosts, std::vector<std::string>{"unix:///flag.sock"});
  EXPECT_EQ(c.insecure_registries, std::vector<std::string>{"a:1"});
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.pidfile, "/file.pid");
}

TEST(ConfigTest, WrongTypesAndJunkAreInvalidArgument) {
  DaemonConfig c;
  EXPECT_EQ(ApplyConfigJson(R"({"hosts":"unix:///x"})", c).error().code(),
            base::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ApplyConfigJson("{", c).error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ApplyConfigJson("[]", c).error().code(), base::ErrorCode::kInvalidArgument);
}

TEST(ConfigTest, LoadMergesTheNamedFileAndValidates) {
  char dir[] = "/tmp/berth-config-test-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string path = std::string(dir) + "/daemon.json";
  std::ofstream(path) << R"({"data-root":"/x","log-level":"debug"})";
  DaemonFlags f;
  f.config_file = path;
  f.exec_root = "/flag-exec";
  auto c = LoadDaemonConfig(f);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->data_root, "/x");
  EXPECT_EQ(c->exec_root, "/flag-exec");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->hosts, std::vector<std::string>{std::string(kDefaultHost)});

  f.log_level = "loud";
  EXPECT_EQ(LoadDaemonConfig(f).error().code(), base::ErrorCode::kInvalidArgument);
  f.log_level.reset();
  // TCP only with client-certificate verification.
  f.hosts = {"tcp://0.0.0.0:2375"};
  auto refused = LoadDaemonConfig(f);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("--tlsverify"), std::string::npos);
  f.tls = true;  // TLS without verifying clients is not enough
  EXPECT_FALSE(LoadDaemonConfig(f));
  f.tls_verify = true;
  auto tcp = LoadDaemonConfig(f);
  ASSERT_TRUE(tcp) << tcp.error().message();
  EXPECT_TRUE(tcp->tls_verify);
  EXPECT_EQ(tcp->tls_ca_cert, kDefaultTlsCaCert);
  f.hosts = {"tcp://0.0.0.0:0"};
  EXPECT_FALSE(LoadDaemonConfig(f));
  f.tls.reset();
  f.tls_verify.reset();

  // A named file that does not exist is an error; the default one may be missing.
  f.hosts.clear();
  f.config_file = std::string(dir) + "/missing.json";
  EXPECT_EQ(LoadDaemonConfig(f).error().code(), base::ErrorCode::kNotFound);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ConfigTest, InitKeysAndFlags) {
  DaemonConfig c;
  EXPECT_FALSE(c.init);
  EXPECT_EQ(c.init_path, "");
  ASSERT_TRUE(ApplyConfigJson(R"({"init": true, "init-path": "/usr/libexec/docker-init"})", c));
  EXPECT_TRUE(c.init);
  EXPECT_EQ(c.init_path, "/usr/libexec/docker-init");
  EXPECT_EQ(ApplyConfigJson(R"({"init": "yes"})", c).error().code(),
            base::ErrorCode::kInvalidArgument);

  auto f = Parse({"--init", "--init-path", "/opt/berth-init"});
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->init, true);
  EXPECT_EQ((*f)->init_path, "/opt/berth-init");
  // --init=false overrides the file's "init": true.
  f = Parse({"--init=false"});
  ASSERT_TRUE(f) << f.error().message();
  ApplyFlags(**f, c);
  EXPECT_FALSE(c.init);
  EXPECT_EQ(c.init_path, "/usr/libexec/docker-init");  // not given: the file's value stays
  f = Parse({});
  ASSERT_TRUE(f);
  EXPECT_FALSE((*f)->init);
  EXPECT_FALSE((*f)->init_path);
}

TEST(ConfigTest, CgroupFavorDynmodsIsOptIn) {
  DaemonConfig c;
  EXPECT_FALSE(c.cgroup_favordynmods);
  ASSERT_TRUE(ApplyConfigJson(R"({"cgroup-favordynmods": true})", c));
  EXPECT_TRUE(c.cgroup_favordynmods);
  EXPECT_EQ(ApplyConfigJson(R"({"cgroup-favordynmods": 1})", c).error().code(),
            base::ErrorCode::kInvalidArgument);
  auto f = Parse({"--cgroup-favordynmods=false"});
  ASSERT_TRUE(f) << f.error().message();
  ApplyFlags(**f, c);
  EXPECT_FALSE(c.cgroup_favordynmods);
  f = Parse({"--cgroup-favordynmods"});
  ASSERT_TRUE(f);
  ApplyFlags(**f, c);
  EXPECT_TRUE(c.cgroup_favordynmods);
  f = Parse({});
  ASSERT_TRUE(f);
  EXPECT_FALSE((*f)->cgroup_favordynmods);
}

TEST(ConfigTest, TlsFlagsAndKeys) {
  auto f = Parse({"-H", "unix:///tmp/a.sock", "-H", "tcp://127.0.0.1:2376", "--tlsverify",
                  "--tlscacert", "/c/ca.pem", "--tlscert=/c/cert.pem", "--tlskey", "/c/key.pem"});
  ASSERT_TRUE(f) << f.error().message();
  const DaemonFlags& flags = **f;
  EXPECT_EQ(flags.hosts.size(), 2u);
  EXPECT_EQ(flags.tls_verify, std::optional<bool>(true));
  EXPECT_FALSE(flags.tls);
  EXPECT_EQ(*flags.tls_ca_cert, "/c/ca.pem");
  EXPECT_EQ(*flags.tls_cert, "/c/cert.pem");
  EXPECT_EQ(*flags.tls_key, "/c/key.pem");

  DaemonConfig c;
  ASSERT_TRUE(ApplyConfigJson(R"({"hosts":["tcp://:2376"],"tls":true,"tlsverify":true,
      "tlscacert":"/f/ca.pem","tlscert":"/f/cert.pem","tlskey":"/f/key.pem"})",
                              c));
  EXPECT_TRUE(c.tls);
  EXPECT_TRUE(c.tls_verify);
  EXPECT_EQ(c.tls_ca_cert, "/f/ca.pem");
  EXPECT_EQ(c.tls_key, "/f/key.pem");
  ApplyFlags(flags, c);
  EXPECT_EQ(c.tls_ca_cert, "/c/ca.pem");  // flags win over the file
  EXPECT_EQ(ApplyConfigJson(R"({"tlsverify":"yes"})", c).error().code(),
            base::ErrorCode::kInvalidArgument);

  auto off = Parse({"--tlsverify=false"});
  ASSERT_TRUE(off) << off.error().message();
  EXPECT_EQ((*off)->tls_verify, std::optional<bool>(false));
}

TEST(ConfigTest, ParseTcpHost) {
  auto h = ParseTcpHost("tcp://127.0.0.1:12345");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->host, "127.0.0.1");
  EXPECT_EQ(h->port, 12345);
  EXPECT_EQ(ParseTcpHost("tcp://[::1]:5")->host, "::1");
  EXPECT_EQ(ParseTcpHost("tcp://[::1]")->port, kDefaultTlsPort);
  EXPECT_EQ(ParseTcpHost("tcp://:2376")->host, "");
  EXPECT_EQ(ParseTcpHost("tcp://localhost")->port, kDefaultTlsPort);
  EXPECT_EQ(ParseTcpHost("tcp://h:7/")->port, 7);
  for (const char* bad : {"unix:///x", "tcp://h:0", "tcp://h:65536", "tcp://h:p", "tcp://::1:5",
                          "tcp://h:1/x", "tcp://[::1", "tcp://[::1]x"})
    EXPECT_FALSE(ParseTcpHost(bad)) << bad;
}

TEST(ConfigTest, UnixSocketPath) {
  EXPECT_EQ(*UnixSocketPath("unix:///run/x.sock"), "/run/x.sock");
  EXPECT_FALSE(UnixSocketPath("unix://relative.sock"));
  EXPECT_FALSE(UnixSocketPath("tcp://1.2.3.4:2375"));
  EXPECT_FALSE(UnixSocketPath("/run/x.sock"));
}

}  // namespace
}  // namespace berth::daemon
