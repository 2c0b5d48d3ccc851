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
  f.hosts = {"tcp://0.0.0.0:2375"};
  EXPECT_EQ(LoadDaemonConfig(f).error().code(), base::ErrorCode::kInvalidArgument);

  // A named file that does not exist is an error; the default one may be missing.
  f.hosts.clear();
  f.config_file = std::string(dir) + "/missing.json";
  EXPECT_EQ(LoadDaemonConfig(f).error().code(), base::ErrorCode::kNotFound);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ConfigTest, UnixSocketPath) {
  EXPECT_EQ(*UnixSocketPath("unix:///run/x.sock"), "/run/x.sock");
  EXPECT_FALSE(UnixSocketPath("unix://relative.sock"));
  EXPECT_FALSE(UnixSocketPath("tcp://1.2.3.4:2375"));
  EXPECT_FALSE(UnixSocketPath("/run/x.sock"));
}

}  // namespace
}  // namespace berth::daemon
