// Integration tests of the berth CLI's container commands: the real berthd (with berth-shim next
// to it) on temporary roots, an image imported with `berth import` from a busybox-static rootfs,
// driven by the berth binary as a user would (run in the foreground and detached, ps, logs,
// inspect -f, stop/kill/rm, wait, exit codes, `run -it` through a pty). Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "berthd_fixture.h"
#include "client/client.h"
#include "test_support.h"

namespace berth {
namespace {
using berth::test_support::ReadAll;
using berth::test_support::Shell;
using berth::test_support::Spawn;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class CliContainersTest : public test_support::BerthdFixture {
 protected:
  CliContainersTest() : BerthdFixture("/tmp/bcc-", false) {}

  // The CLI with stderr merged into stdout.
  std::pair<int, std::string> Berth(const std::string& args) {
    return Shell(env_ + "timeout 60 " + BERTH_CLI_PATH + " " + args);
  }
  // stdout only.
  std::pair<int, std::string> BerthOut(const std::string& args) {
    return Shell("(" + env_ + "timeout 60 " + BERTH_CLI_PATH + " " + args + " 2>/dev/null)");
  }
  // Polls `berth logs NAME` until it has `lines` lines (output is written asynchronously).
  std::string LogsWhenReady(const std::string& name, size_t lines) {
    std::string out;
    for (int i = 0; i < 100; ++i) {
      out = Berth("logs " + name).second;
      if (size_t(std::count(out.begin(), out.end(), '\n')) >= lines) break;
      std::this_thread::sleep_for(50ms);
    }
    return out;
  }
};

TEST_F(CliContainersTest, RunForegroundOutputAndExitCodes) {
  auto [rc, out] = Berth("run --rm busybox echo hello");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "hello\n") << Log();

  // stdout and stderr are demultiplexed onto the right descriptors.
  std::tie(rc, out) = BerthOut("run --name fg busybox sh -c 'echo out; echo err >&2; exit 3'");
  EXPECT_EQ(rc, 3) << out << Log();
  EXPECT_EQ(out, "out\n");
  std::tie(rc, out) = Shell("(" + env_ + BERTH_CLI_PATH +
                            " run busybox sh -c 'echo out; echo err >&2' >/dev/null)");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "err\n");

  std::tie(rc, out) = Berth("run --rm busybox nosuchcommand");
  EXPECT_EQ(rc, 127) << out << Log();
  EXPECT_NE(out.find("executable file not found"), std::string::npos) << out;
  EXPECT_NE(out.find("Run 'berth run --help' for more information"), std::string::npos) << out;
  // --rm also holds when the start failed.
  std::tie(rc, out) = BerthOut("ps -a --format '{{.Command}}'");
  EXPECT_EQ(out.find("nosuchcommand"), std::string::npos) << out;
  std::tie(rc, out) = Berth("run busybox /etc");
  EXPECT_EQ(rc, 126) << out << Log();

  // Flags after the image belong to the command; ours before it.
  std::tie(rc, out) =
      Berth("run --rm -e FOO=bar -w /tmp -u 1000 busybox sh -c 'echo $FOO; pwd; id -u'");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "bar\n/tmp\n1000\n");

  // stdin with -i: copied, then half-closed so that `cat` sees EOF.
  std::tie(rc, out) = Shell("printf 'a\\nb\\n' | " + env_ + "timeout 60 " + BERTH_CLI_PATH +
                            " run -i --rm busybox cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "a\nb\n");
}

TEST_F(CliContainersTest, RunRmRemovesTheContainer) {
  auto [rc, out] = Berth("run --rm --name gone busybox sh -c 'exit 4'");
  EXPECT_EQ(rc, 4) << out << Log();
  std::tie(rc, out) = Berth("ps -a --format '{{.Names}}'");
  EXPECT_EQ(out.find("gone"), std::string::npos) << out;
}

TEST_F(CliContainersTest, DetachedPsLogsInspectStopWaitRm) {
  auto [rc, out] = BerthOut(
      "run -d --name c1 -e FOO=bar -w /tmp -u 1000 -l tier=web busybox sh -c "
      "'echo $FOO; pwd; id -u; exec sleep 100'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  ASSERT_EQ(id.size(), 64u) << out;

  std::tie(rc, out) = BerthOut("ps");
  EXPECT_EQ(out.rfind("CONTAINER ID   IMAGE", 0), 0u) << out;
  EXPECT_NE(out.find(id.substr(0, 12) + "   busybox"), std::string::npos) << out;
  EXPECT_NE(out.find("Up "), std::string::npos) << out;
  EXPECT_NE(out.find("c1\n"), std::string::npos) << out;
  std::tie(rc, out) = BerthOut("ps -q");
  EXPECT_EQ(out, id.substr(0, 12) + "\n");
  std::tie(rc, out) = BerthOut("ps --no-trunc -q");
  EXPECT_EQ(out, id + "\n");
  std::tie(rc, out) = BerthOut("ps --format '{{.Names}} {{.State}} {{.Label \"tier\"}}'");
  EXPECT_EQ(out, "c1 running web\n");
  std::tie(rc, out) = BerthOut("ps --format 'table {{.ID}}\\t{{.Names}}'");
  EXPECT_EQ(out, "CONTAINER ID   NAMES\n" + id.substr(0, 12) + "   c1\n");
  std::tie(rc, out) = BerthOut("ps --format json");
  EXPECT_NE(out.find("\"Names\":\"c1\""), std::string::npos) << out;

  EXPECT_EQ(LogsWhenReady("c1", 3), "bar\n/tmp\n1000\n");
  std::tie(rc, out) = BerthOut("logs --tail 1 c1");
  EXPECT_EQ(out, "1000\n");
  std::tie(rc, out) = BerthOut("logs -t c1");
  EXPECT_NE(out.find("Z bar\n"), std::string::npos) << out;

  std::tie(rc, out) = BerthOut(
      "inspect -f '{{.State.Status}} {{.Name}} {{.Config.WorkingDir}} {{json .Config.Env}} "
      "{{index .Config.Labels \"tier\"}}' c1");
  EXPECT_EQ(out, "running /c1 /tmp [\"FOO=bar\"] web\n") << out;
  std::tie(rc, out) = BerthOut("container inspect c1");
  EXPECT_EQ(out.rfind("[\n    {\n", 0), 0u) << out;

  std::tie(rc, out) = Berth("stop -t 1 c1");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "c1\n");
  std::tie(rc, out) = Berth("wait c1");
  EXPECT_EQ(out, "137\n") << out;
  std::tie(rc, out) = BerthOut("ps -a --format '{{.Names}}: {{.Status}}'");
  EXPECT_NE(out.find("c1: Exited (137)"), std::string::npos) << out;
  std::tie(rc, out) = BerthOut("ps --format '{{.Names}}'");
  EXPECT_EQ(out, "");
  std::tie(rc, out) = Berth("rm c1");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "c1\n");
  std::tie(rc, out) = Berth("ps -aq");
  EXPECT_EQ(out, "");
}

TEST_F(CliContainersTest, CreateStartWaitKillRm) {
  auto [rc, out] = BerthOut("create --name c2 busybox sh -c 'exit 5'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("inspect -f '{{.State.Status}}' c2");
  EXPECT_EQ(out, "created\n");
  std::tie(rc, out) = Berth("start c2");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "c2\n");
  std::tie(rc, out) = Berth("wait c2");
  EXPECT_EQ(out, "5\n");
  std::tie(rc, out) = BerthOut("inspect -f '{{.State.ExitCode}}' c2");
  EXPECT_EQ(out, "5\n");

  std::tie(rc, out) = BerthOut("run -d --name c3 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Berth("rm c3");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("Error response from daemon: You cannot remove a running container"),
            std::string::npos)
      << out;
  std::tie(rc, out) = Berth("kill -s KILL c3");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Berth("wait c3");
  EXPECT_EQ(out, "137\n");
  std::tie(rc, out) = Berth("kill c3");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("is not running"), std::string::npos) << out;
  std::tie(rc, out) = Berth("start c3");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Berth("rm -f c2 c3");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "c2\nc3\n");
  std::tie(rc, out) = Berth("rm c3");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("No such container: c3"), std::string::npos) << out;
}

TEST_F(CliContainersTest, ErrorsAndDaemonAddress) {
  // A flag we do not know, as docker: 125.
  auto [rc, out] = Berth("run --no-such-flag busybox true");
  EXPECT_EQ(rc, 125) << out;
  // A missing image is pulled first; this registry does not answer, so the run fails with 125.
  std::tie(rc, out) = Berth("run --rm localhost:1/nosuch:1 true");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("Unable to find image 'localhost:1/nosuch:1' locally"), std::string::npos)
      << out;
  std::tie(rc, out) = Berth("create --name dup busybox true");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = Berth("create --name dup busybox true");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("berth: Error response from daemon: Conflict."), std::string::npos) << out;
  std::tie(rc, out) = Berth("inspect nosuch");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("Error: No such object: nosuch"), std::string::npos) << out;

  // -H wins over BERTH_HOST; an absent daemon is 125 for run.
  std::tie(rc, out) =
      Shell(std::string(BERTH_CLI_PATH) + " -H unix://" + sock_ + " ps -a --format '{{.Names}}'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "dup\n");
  std::tie(rc, out) =
      Shell(env_ + BERTH_CLI_PATH + " -H unix://" + dir_ + "/none.sock run busybox true");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("Cannot connect to the berth daemon"), std::string::npos) << out;
}

TEST_F(CliContainersTest, RunInteractiveTty) {
  if (access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "no script(1)";
  // script(1) gives the CLI a pty (30x100 here): raw mode, the resize after start, the raw
  // stream. The sleep lets the resize land before stty reads the size.
  auto [rc, out] =
      Shell(env_ + "timeout 60 script -qec \"stty cols 100 rows 30; " + BERTH_CLI_PATH +
            " run -it --rm busybox sh -c 'tty; sleep 0.5; stty size; exit 7'\" "
            "/dev/null </dev/null");
  EXPECT_EQ(rc, 7) << out << Log();
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
  EXPECT_NE(out.find("30 100"), std::string::npos) << out;
}

TEST_F(CliContainersTest, ExecAndStartAttach) {
  auto [rc, out] = BerthOut("run -d --name x1 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("exec -e A=1 -w /tmp x1 sh -c 'echo $A; pwd; exit 4'");
  EXPECT_EQ(rc, 4) << out << Log();
  EXPECT_EQ(out, "1\n/tmp\n");
  std::tie(rc, out) = Berth("exec x1 nosuchcommand");
  EXPECT_EQ(rc, 127) << out << Log();
  EXPECT_NE(out.find("executable file not found"), std::string::npos) << out;
  std::tie(rc, out) =
      Shell("printf 'x\\n' | " + env_ + "timeout 60 " + BERTH_CLI_PATH + " exec -i x1 cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "x\n");

  std::tie(rc, out) = BerthOut("create --name s1 busybox sh -c 'echo started; exit 6'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("start -a s1");
  EXPECT_EQ(rc, 6) << out << Log();
  EXPECT_EQ(out, "started\n");
}

TEST_F(CliContainersTest, ObserveAndManage) {
  // logs -f follows until the container exits.
  auto [rc, out] = BerthOut("run -d --name lf busybox sh -c 'echo one; sleep 1; echo two'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("logs -f lf");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "one\ntwo\n");

  std::tie(rc, out) = BerthOut("run -d --name wk busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("top wk");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("UID ", 0), 0u) << out;
  EXPECT_NE(out.find("sleep 100"), std::string::npos) << out;
  std::tie(rc, out) = BerthOut("stats --no-stream --format '{{.Name}} {{.PIDs}}' wk");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "wk 1\n");

  std::tie(rc, out) = BerthOut("pause wk");
  EXPECT_EQ(out, "wk\n") << Log();
  std::tie(rc, out) = BerthOut("ps --format '{{.Status}}'");
  EXPECT_NE(out.find("(Paused)"), std::string::npos) << out;
  std::tie(rc, out) = BerthOut("unpause wk");
  EXPECT_EQ(out, "wk\n") << Log();
  std::tie(rc, out) = Berth("rename wk w2");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("restart -t 1 w2");
  EXPECT_EQ(out, "w2\n") << Log();
  std::tie(rc, out) = BerthOut("inspect -f '{{.Name}} {{.State.Running}}' w2");
  EXPECT_EQ(out, "/w2 true\n");

  // attach to a running container: its output from now on, then its exit code.
  std::tie(rc, out) = BerthOut("run -d --name at busybox sh -c 'sleep 1; echo late; exit 5'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = BerthOut("attach at");
  EXPECT_EQ(rc, 5) << out << Log();
  EXPECT_EQ(out, "late\n");
  std::tie(rc, out) = Berth("attach at");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("You cannot attach to a stopped container"), std::string::npos) << out;

  // sig-proxy: a SIGTERM to a foreground run reaches the container.
  std::string o = dir_ + "/sp.out";
  std::tie(rc, out) =
      Shell("(" + env_ + BERTH_CLI_PATH +
            " run --name sp busybox sh -c 'trap \"echo got-term; exit 9\" TERM; echo ready; "
            "while :; do sleep 0.1; done' >" +
            o + " 2>&1 & p=$!; for i in $(seq 100); do grep -q ready " + o +
            " && break; sleep 0.1; done; kill -TERM $p; wait $p)");
  EXPECT_EQ(rc, 9) << out << ReadAll(o) << Log();
  EXPECT_EQ(ReadAll(o), "ready\ngot-term\n");
}

}  // namespace
}  // namespace berth
