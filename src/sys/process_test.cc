#include "sys/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

namespace berth::sys {
namespace {

TEST(ProcessTest, ParseSignal) {
  EXPECT_EQ(ParseSignal("TERM").value(), SIGTERM);
  EXPECT_EQ(ParseSignal("SIGKILL").value(), SIGKILL);
  EXPECT_EQ(ParseSignal("sigusr1").value(), SIGUSR1);
  EXPECT_EQ(ParseSignal("9").value(), 9);
  EXPECT_FALSE(ParseSignal("NOPE"));
  EXPECT_FALSE(ParseSignal("0"));
}

TEST(ProcessTest, CloneWaitAndLiveness) {
  auto pid = CloneProcess(0);
  ASSERT_TRUE(pid);
  if (*pid == 0) _exit(7);
  auto st = WaitPid(*pid);
  ASSERT_TRUE(st);
  EXPECT_EQ(ExitCodeFromWaitStatus(*st), 7);
  EXPECT_FALSE(ProcessAlive(*pid, 0));
  auto self = ProcessStartTime(getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(ProcessAlive(getpid(), *self));
  EXPECT_FALSE(ProcessAlive(getpid(), *self + 1));
}

}  // namespace
}  // namespace berth::sys
