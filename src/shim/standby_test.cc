#include "shim/standby.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "oci/runtime_config.h"
#include "sys/file.h"

namespace berth::shim {
namespace {

TEST(StandbyTest, WarmUpParsesItsSampleConfig) { EXPECT_TRUE(WarmUp()); }

// The heap WarmUp touched stays with the allocator for the launch (no trim on free).
TEST(StandbyTest, WarmUpKeepsTheHeapItTouched) {
  ASSERT_TRUE(WarmUp());
  struct mallinfo2 mi = ::mallinfo2();
  EXPECT_GE(mi.fordblks, size_t(200) << 10) << "free bytes kept in the main arena";
}

TEST(Assignment, RoundTripsArgumentsWithEmptyOnes) {
  std::vector<std::string> args = {"--id", "c1", "--log-path", "", "--tty"};
  std::string record = EncodeAssignment(args);
  EXPECT_EQ(record, std::string("--id\0c1\0--log-path\0\0--tty\0", 26));
  EXPECT_EQ(DecodeAssignment(record), args);
  EXPECT_TRUE(DecodeAssignment("").empty());
  // A last argument without its NUL still counts.
  EXPECT_EQ(DecodeAssignment(std::string("--id\0c2", 7)), (std::vector<std::string>{"--id", "c2"}));
}

TEST(StandbyArgsTest, TakesAnOptionalSeccompHint) {
  auto plain = ParseStandbyArgs({"--standby"});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->seccomp_hint, "");
  auto hint = ParseStandbyArgs({"--standby", "--seccomp-hint", "/run/h.json"});
  ASSERT_TRUE(hint);
  EXPECT_EQ(hint->seccomp_hint, "/run/h.json");
  auto eq = ParseStandbyArgs({"--standby", "--seccomp-hint=/run/h.json"});
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->seccomp_hint, "/run/h.json");
  EXPECT_FALSE(ParseStandbyArgs({}));
  EXPECT_FALSE(ParseStandbyArgs({"--id", "x"}));
  EXPECT_FALSE(ParseStandbyArgs({"--standby", "--seccomp-hint"}));
  EXPECT_FALSE(ParseStandbyArgs({"--standby", "--other"}));
}

// The hint is a linux.seccomp value as berthd's configs write it; anything else is no hint.
TEST(StandbyArgsTest, LoadsTheHintsProfile) {
  char dir[] = "/tmp/standby-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/hint.json";
  oci::Seccomp profile;
  profile.default_action = "SCMP_ACT_ERRNO";
  profile.architectures = {"SCMP_ARCH_X86_64"};
  oci::SeccompSyscall allowed;
  allowed.names = {"read", "write"};
  allowed.action = "SCMP_ACT_ALLOW";
  profile.syscalls.push_back(allowed);
  EXPECT_FALSE(LoadSeccompHint(""));
  EXPECT_FALSE(LoadSeccompHint(path));  // missing
  ASSERT_TRUE(sys::WriteFileReplace(path, oci::SeccompValueText(profile), 0600));
  auto known = LoadSeccompHint(path);
  ASSERT_TRUE(known);
  EXPECT_EQ(known->profile, profile);
  EXPECT_EQ(known->text, oci::SeccompValueText(profile));
  ASSERT_TRUE(sys::WriteFileReplace(path, "{\"defaultAction\": [", 0600));
  EXPECT_FALSE(LoadSeccompHint(path));
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace berth::shim
