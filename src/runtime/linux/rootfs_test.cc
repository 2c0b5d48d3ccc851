#include "runtime/linux/rootfs.h"

#include <gtest/gtest.h>

namespace berth::runtime::linux {
namespace {

TEST(SysctlTest, NamespacedKeysOnly) {
  EXPECT_TRUE(ValidateSysctl("net.ipv4.ip_forward", false, true, false));
  EXPECT_FALSE(ValidateSysctl("net.ipv4.ip_forward", false, false, false));
  EXPECT_TRUE(ValidateSysctl("kernel.shmmax", true, false, false));
  EXPECT_FALSE(ValidateSysctl("kernel.shmmax", false, false, false));
  EXPECT_TRUE(ValidateSysctl("fs.mqueue.msg_max", true, false, false));
  EXPECT_FALSE(ValidateSysctl("kernel.core_pattern", true, true, true));
  EXPECT_FALSE(ValidateSysctl("vm.overcommit_memory", true, true, true));
}

// CVE-2022-0811: a key smuggling a second assignment must be refused outright.
TEST(SysctlTest, InjectionRefused) {
  EXPECT_FALSE(ValidateSysctl("net.ipv4.ip_forward=1+kernel.core_pattern", true, true, true));
  EXPECT_FALSE(ValidateSysctl("net/../kernel/core_pattern", true, true, true));
  EXPECT_FALSE(ValidateSysctl("net..x", true, true, true));
}

}  // namespace
}  // namespace berth::runtime::linux
