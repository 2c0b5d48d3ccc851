#include "sys/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/file.h"

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

struct VforkProbe {
  int written = 0;
  bool before_exec = false;
};

// The child runs in our memory while we wait: what it writes is there when CloneVfork returns.
TEST(ProcessTest, CloneVforkSharesMemoryAndWaitsForExit) {
  VforkProbe probe;
  auto pid = CloneVfork(
      0,
      [](void* arg) -> int {
        static_cast<VforkProbe*>(arg)->written = 42;
        _exit(9);
      },
      &probe);
  ASSERT_TRUE(pid) << pid.error().message();
  EXPECT_EQ(probe.written, 42);
  auto st = WaitPid(*pid);
  ASSERT_TRUE(st);
  EXPECT_EQ(ExitCodeFromWaitStatus(*st), 9);
}

// CloneVfork returns once the child has exec'd; a child that has already exited keeps a start
// time that only even_if_exited reads.
TEST(ProcessTest, CloneVforkReturnsAtExecAndExitedStartTime) {
  VforkProbe probe;
  auto pid = CloneVfork(
      0,
      [](void* arg) -> int {
        static_cast<VforkProbe*>(arg)->before_exec = true;
        char* argv[] = {const_cast<char*>("true"), nullptr};
        char* envp[] = {nullptr};
        execve("/bin/true", argv, envp);
        _exit(127);
      },
      &probe);
  ASSERT_TRUE(pid) << pid.error().message();
  EXPECT_TRUE(probe.before_exec);
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(*pid), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(info.si_status, 0);
  EXPECT_FALSE(ProcessStartTime(*pid));
  EXPECT_TRUE(ProcessStartTime(*pid, /*even_if_exited=*/true));
  ASSERT_TRUE(WaitPid(*pid));
}

// Uses this host's cgroup2 mount (pure v2, or the unified hierarchy of a hybrid host).
TEST(ProcessTest, CloneIntoCgroup) {
  std::string root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
                         ? "/sys/fs/cgroup"
                         : "/sys/fs/cgroup/unified";
  if (access((root + "/cgroup.procs").c_str(), W_OK) != 0) GTEST_SKIP() << "no writable cgroup2";
  std::string dir = root + "/berth-clone-into-test-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  {
    auto fd = Open(dir, O_PATH | O_DIRECTORY);
    ASSERT_TRUE(fd);
    auto pid = CloneProcessInto(0, fd->get());
    ASSERT_TRUE(pid) << pid.error().message();
    if (*pid == 0) {
      auto self = ReadFile("/proc/self/cgroup");
      _exit(self && self->find("berth-clone-into-test-") != std::string::npos ? 0 : 1);
    }
    auto st = WaitPid(*pid);
    ASSERT_TRUE(st);
    EXPECT_EQ(ExitCodeFromWaitStatus(*st), 0);
  }
  EXPECT_EQ(rmdir(dir.c_str()), 0);
}

TEST(ProcessTest, RunCaptureCollectsOutputAndStatus) {
  auto r = RunCapture({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  auto killed = RunCapture({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->status, 128 + SIGTERM);
  EXPECT_FALSE(RunCapture({"/no/such/binary"}));
}

}  // namespace
}  // namespace berth::sys
