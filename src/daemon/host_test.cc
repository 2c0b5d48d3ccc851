// Tests for the host probes' parsers, and that probing this host yields the basics.
#include "daemon/host.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(HostTest, OsReleaseValue) {
  std::string text =
      "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian 12'\nID=debian\n";
  EXPECT_EQ(OsReleaseValue(text, "PRETTY_NAME"), "Debian 12");
  EXPECT_EQ(OsReleaseValue(text, "VERSION_ID"), "12");
  EXPECT_EQ(OsReleaseValue(text, "ID"), "debian");
  EXPECT_EQ(OsReleaseValue(text, "NAM"), "");
  EXPECT_EQ(OsReleaseValue(text, "MISSING"), "");
}

TEST(HostTest, MemTotalBytes) {
  EXPECT_EQ(MemTotalBytes("MemTotal:        8000000 kB\nMemFree: 1 kB\n"), 8000000LL * 1024);
  EXPECT_EQ(MemTotalBytes("MemFree: 1 kB\n"), 0);
}

TEST(HostTest, ProbeFindsKernelAndCpus) {
  HostFacts f = ProbeHost();
  EXPECT_FALSE(f.kernel_version.empty());
  EXPECT_FALSE(f.machine.empty());
  EXPECT_GT(f.ncpu, 0);
  EXPECT_GT(f.mem_total, 0);
  EXPECT_TRUE(f.cgroup_version == "1" || f.cgroup_version == "2");
}

}  // namespace
}  // namespace berth::daemon
