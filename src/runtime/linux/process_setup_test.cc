#include "runtime/linux/process_setup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

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
