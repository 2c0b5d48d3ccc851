#include "runtime/linux/process_setup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace berth::runtime::linux {
namespace {

// dockerd and the docker CLI map runc's (Go's) lowercase messages to exit codes 127 and 126.
TEST(LookPathTest, MissingAbsolutePathHasGoStyleMessage) {
  auto r = LookPath("/nonexistent-berth-lookpath", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "exec: \"/nonexistent-berth-lookpath\": stat /nonexistent-berth-lookpath: no such file "
            "or directory");
}

TEST(LookPathTest, FileWithoutExecuteBitIsPermissionDenied) {
  char tmpl[] = "/tmp/berth-lookpath-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ::chmod(tmpl, 0644);
  auto r = LookPath(tmpl, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "exec: \"" + std::string(tmpl) + "\": permission denied");
  ::chmod(tmpl, 0755);
  auto ok = LookPath(tmpl, {});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, tmpl);
  ::unlink(tmpl);
}

TEST(LookPathTest, SearchesPath) {
  auto r = LookPath("sh", {"PATH=/nonexistent-dir:/bin"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "/bin/sh");
  auto missing = LookPath("no-such-berth-cmd", {"PATH=/bin"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "exec: \"no-such-berth-cmd\": executable file not found in $PATH");
}

}  // namespace
}  // namespace berth::runtime::linux

namespace berth::runtime::linux {
namespace {

TEST(EnvWithDefaultsTest, HomeFromPasswdLikeRunc) {
  const char* passwd =
      "root:x:0:0:root:/root:/bin/sh\n"
      "broken line\n"
      "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
      "nohome:x:7:7:::/bin/sh\n";
  EXPECT_EQ(HomeOf(passwd, 0), "/root");
  EXPECT_EQ(HomeOf(passwd, 1), "/usr/sbin");
  EXPECT_EQ(HomeOf(passwd, 7), "/");     // empty home field
  EXPECT_EQ(HomeOf(passwd, 1000), "/");  // no entry
  EXPECT_EQ(HomeOf("", 0), "/");
}

TEST(EnvWithDefaultsTest, AddsPathAndHomeOnlyWhenAbsent) {
  char dir[] = "/tmp/berth-env-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string passwd = std::string(dir) + "/passwd";
  {
    std::ofstream f(passwd);
    f << "root:x:0:0:root:/root:/bin/sh\n";
  }
  auto env = EnvWithDefaults({"A=1"}, 0, passwd.c_str());
  EXPECT_EQ(env, (std::vector<std::string>{
                     "A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "HOME=/root"}));
  env = EnvWithDefaults({"PATH=/x", "HOME=/h"}, 0, passwd.c_str());
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/x", "HOME=/h"}));
  // An image's passwd that is a fifo must not block the init: it counts as absent.
  std::string fifo = std::string(dir) + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  env = EnvWithDefaults({"PATH=/x"}, 0, fifo.c_str());
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/x", "HOME=/"}));
  env = EnvWithDefaults({"PATH=/x"}, 0, "/nonexistent/passwd");
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/x", "HOME=/"}));
  ::unlink(fifo.c_str());
  ::unlink(passwd.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace berth::runtime::linux
