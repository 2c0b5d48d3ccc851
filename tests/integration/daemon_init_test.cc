// Integration tests of --init: the real berthd, which binds the berth-init built next to it at
// /sbin/docker-init, a busybox-static image (no /sbin, no libc: berth-init must be static), driven
// by the docker CLI and the berth CLI. Needs root (overlay mounts, namespaces, cgroups).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berthd_fixture.h"
#include "test_support.h"

namespace berth {
namespace {
using berth::test_support::Shell;

using namespace std::chrono_literals;

class DaemonInitTest : public test_support::BerthdFixture {
 protected:
  DaemonInitTest() : BerthdFixture("/tmp/bit-", true) {}

  std::pair<int, std::string> Berth(const std::string& args) {
    return Shell(env_ + "timeout 60 " + BERTH_CLI_PATH + " " + args);
  }

  // Restarts berthd with `daemon_json` as its config file.
  void RestartWith(const std::string& daemon_json) {
    std::ofstream(dir_ + "/daemon.json") << daemon_json;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
  }
};

struct PsLine {
  std::string pid, ppid, stat, args;
};

// `ps -o pid,ppid,stat,args` output (busybox), header skipped.
std::vector<PsLine> ParsePs(const std::string& out) {
  std::vector<PsLine> lines;
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);  // PID PPID STAT COMMAND
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    PsLine l;
    if (!(fields >> l.pid >> l.ppid >> l.stat)) continue;
    std::getline(fields >> std::ws, l.args);
    lines.push_back(l);
  }
  return lines;
}

const PsLine* FindPid(const std::vector<PsLine>& ps, const std::string& pid) {
  for (const auto& l : ps)
    if (l.pid == pid) return &l;
  return nullptr;
}

TEST_F(DaemonInitTest, InitIsPid1AndTheCommandItsChild) {
  auto [rc, out] = Docker("run --rm --init busybox ps -o pid,ppid,stat,args");
  ASSERT_EQ(rc, 0) << out << Log();
  auto ps = ParsePs(out);
  const PsLine* init = FindPid(ps, "1");
  ASSERT_TRUE(init) << out;
  EXPECT_EQ(init->args, "/sbin/docker-init -- ps -o pid,ppid,stat,args") << out;
  bool child = false;
  for (const auto& l : ps) child = child || (l.args.rfind("ps ", 0) == 0 && l.ppid == "1");
  EXPECT_TRUE(child) << out;
  std::tie(rc, out) = Docker("run --rm --init busybox ps -o pid,comm");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("    1 docker-init"), std::string::npos) << out;

  // Without --init the command is pid 1 itself.
  std::tie(rc, out) = Docker("run --rm busybox ps -o pid,args");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("    1 ps -o pid,args"), std::string::npos) << out;
}

TEST_F(DaemonInitTest, TtyBelongsToTheCommand) {
  // With -t the command's process group is the terminal's foreground one: it can read the tty
  // (a background group would be stopped by SIGTTIN) and gets ^C.
  auto [rc, out] =
      Shell("printf 'hello\\n' | timeout 60 script -qec \"" + env_ + test_support::kDockerCli +
            " run -it --rm --init busybox sh -c 'read x; echo got \\$x; exit 4'\" "
            "/dev/null");
  EXPECT_EQ(rc, 4) << out << Log();
  EXPECT_NE(out.find("got hello"), std::string::npos) << out;
}

TEST_F(DaemonInitTest, RunsInAnImageWithoutLibc) {
  // The busybox image holds a static busybox and nothing in /lib: a dynamically linked init
  // could not start here.
  auto [rc, out] = Docker("run --rm busybox sh -c 'ls /lib /lib64 /sbin 2>&1 | grep -c ld-linux'");
  EXPECT_EQ(out, "0\n");
  std::tie(rc, out) = Docker("run --rm --init busybox echo static");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "static\n");
}

TEST_F(DaemonInitTest, ExitCodePassesThrough) {
  auto [rc, out] = Docker("run --rm --init busybox sh -c 'exit 7'");
  EXPECT_EQ(rc, 7) << out << Log();
  std::tie(rc, out) = Docker("run --rm --init busybox sh -c 'kill -USR1 $$'");
  EXPECT_EQ(rc, 128 + SIGUSR1) << out;
  std::tie(rc, out) = Docker("run --rm --init busybox no-such-command");
  EXPECT_EQ(rc, 127) << out;
  EXPECT_NE(out.find("berth-init: exec no-such-command failed: No such file or directory"),
            std::string::npos)
      << out;
}

TEST_F(DaemonInitTest, StopReachesTheCommandThroughTheInit) {
  // As pid 1, sleep would ignore SIGTERM and be killed after the timeout (137); under the init
  // it is an ordinary process, and SIGTERM ends it (143).
  auto [rc, out] = Docker("run -d --init --name sleeper busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("stop -t 30 sleeper");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("inspect -f '{{.State.ExitCode}} {{.Path}} {{json .Args}}' sleeper");
  ASSERT_EQ(rc, 0) << out;
  // Path and Args are the command, without the init in front (as dockerd's).
  EXPECT_EQ(out, "143 sleep [\"1000\"]\n");
  std::tie(rc, out) = Docker("inspect -f '{{.HostConfig.Init}}' sleeper");
  EXPECT_EQ(out, "true\n");
}

TEST_F(DaemonInitTest, ReapsOrphanedProcesses) {
  // Each ( ... &) leaves a shell whose parent exits at once: it is re-parented to pid 1. They
  // end only when /go appears, after pid 1 has become `sleep 1000` (or the init over it); a pid
  // 1 that does not reap, like sleep, would keep them as zombies for good.
  auto [rc, out] = Docker(
      "run -d --init --name reaper busybox sh -c "
      "'(sh -c \"until [ -e /go ]; do sleep 0.1; done\" &); "
      "(sh -c \"until [ -e /go ]; do sleep 0.1; done\" &); touch /ready; exec sleep 1000'");
  ASSERT_EQ(rc, 0) << out << Log();
  bool ready = false;
  for (int i = 0; i < 600 && !ready; ++i) {
    ready = Docker("exec reaper test -e /ready").first == 0;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(ready) << Log();
  // The two waiting shells (and pid 1's command) run.
  std::tie(rc, out) = Docker("exec reaper ps -o pid,ppid,stat,args");
  ASSERT_EQ(rc, 0) << out;
  std::vector<PsLine> ps = ParsePs(out);
  auto others = [](const std::vector<PsLine>& ps) {
    int n = 0;
    for (const auto& l : ps)
      n += l.pid != "1" && l.args != "sleep 1000" && l.args.rfind("ps ", 0) != 0;
    return n;
  };
  EXPECT_GE(others(ps), 2) << out;
  std::tie(rc, out) = Docker("exec reaper touch /go");
  ASSERT_EQ(rc, 0) << out;
  for (int i = 0; i < 600; ++i) {
    std::tie(rc, out) = Docker("exec reaper ps -o pid,ppid,stat,args");
    ASSERT_EQ(rc, 0) << out;
    ps = ParsePs(out);
    if (others(ps) == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(others(ps), 0) << "not reaped:\n" << out;
  const PsLine* init = FindPid(ps, "1");
  ASSERT_TRUE(init) << out;
  EXPECT_EQ(init->args.rfind("/sbin/docker-init -- sh -c", 0), 0u) << out;
}

TEST_F(DaemonInitTest, InfoNamesTheInit) {
  auto [rc, out] =
      Docker("info --format '{{.InitBinary}} {{.InitCommit.ID}} {{.InitCommit.Expected}}'");
  ASSERT_EQ(rc, 0) << out;
  std::istringstream in(out);
  std::string binary, id, expected;
  in >> binary >> id >> expected;
  EXPECT_EQ(binary, "berth-init");
  EXPECT_FALSE(id.empty()) << out;
  EXPECT_EQ(id, expected) << out;
  std::tie(rc, out) = Docker("info");
  EXPECT_NE(out.find("Init Binary: berth-init"), std::string::npos) << out;
  EXPECT_NE(out.find("init version: " + id + "\n"), std::string::npos) << out;
}

TEST_F(DaemonInitTest, DaemonDefaultAndInitPath) {
  // "init": true runs every container under the init unless it says --init=false; "init-path"
  // names the binary.
  std::string copy = dir_ + "/my-init";
  std::filesystem::copy_file(std::filesystem::path(BERTHD_PATH).parent_path() / "berth-init", copy);
  ASSERT_NO_FATAL_FAILURE(RestartWith(R"({"init": true, "init-path": ")" + copy + R"("})"));
  auto [rc, out] = Docker("run --rm busybox ps -o pid,args");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("    1 /sbin/docker-init -- ps"), std::string::npos) << out;
  std::tie(rc, out) = Docker("run --rm --init=false busybox ps -o pid,args");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("    1 ps -o pid,args"), std::string::npos) << out;
  std::tie(rc, out) = Docker("info --format '{{.InitBinary}}'");
  EXPECT_EQ(out, copy + "\n");

  // An init-path that does not exist fails the start, not the daemon.
  ASSERT_NO_FATAL_FAILURE(RestartWith(R"({"init-path": "/nonexistent/init"})"));
  std::tie(rc, out) = Docker("run --rm busybox true");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("run --rm --init busybox true");
  EXPECT_NE(rc, 0) << out;
}

TEST_F(DaemonInitTest, BerthCliRunInit) {
  auto [rc, out] = Berth("run --rm --init busybox ps -o pid,comm");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("    1 docker-init"), std::string::npos) << out;
  std::tie(rc, out) = Berth("run --rm --init busybox sh -c 'exit 5'");
  EXPECT_EQ(rc, 5) << out;
}

}  // namespace
}  // namespace berth
