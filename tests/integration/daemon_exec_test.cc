// Integration tests of `docker exec`: the real berthd (with berth-shim next to it, which runs each
// exec in exec mode) on temporary roots, an image made with `docker import` from a busybox-static
// rootfs, driven by the docker CLI (/usr/local/bin/docker). Needs root (overlay mounts,
// namespaces, cgroups).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
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

constexpr const char* kDocker = "/usr/local/bin/docker";

class DaemonExecTest : public test_support::BerthdFixture {
 protected:
  DaemonExecTest() : BerthdFixture("/tmp/bxt-", true) {}

  // A running busybox container named `name`.
  void RunSleeper(const std::string& name) {
    auto [rc, out] = Docker("run -d --name " + name + " busybox sleep 1000");
    ASSERT_EQ(rc, 0) << out << Log();
  }
  // Pids of berth-shim processes in exec mode that belong to this test's daemon.
  std::vector<int> ExecShims() {
    std::vector<int> out;
    DIR* d = opendir("/proc");
    if (!d) return out;
    while (struct dirent* e = readdir(d)) {
      int pid = atoi(e->d_name);
      if (pid <= 0) continue;
      std::string cmdline = ReadAll("/proc/" + std::string(e->d_name) + "/cmdline");
      for (char& c : cmdline)
        if (c == '\0') c = ' ';
      if (cmdline.find("--exec ") != std::string::npos &&
          cmdline.find(dir_ + "/e/") != std::string::npos)
        out.push_back(pid);
    }
    closedir(d);
    return out;
  }
  // The exec state dirs left under the exec root.
  std::vector<std::string> ExecDirs() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/e/x", ec)) out.push_back(e.path());
    return out;
  }
  // Exec state dirs whose process runs (exec.pid written, no exit.json yet).
  size_t ExecDirsRunning() {
    size_t n = 0;
    for (const auto& d : ExecDirs())
      n += fs::exists(d + "/exec.pid") && !fs::exists(d + "/exit.json");
    return n;
  }
  // Waits (up to 5 s) until no exec shim or exec state dir is left.
  void ExpectNoExecLeft() {
    for (int i = 0; i < 100 && (!ExecShims().empty() || !ExecDirs().empty()); ++i)
      std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(ExecShims().empty()) << "exec shims still run";
    auto dirs = ExecDirs();
    EXPECT_TRUE(dirs.empty()) << (dirs.empty() ? "" : dirs.front()) << " is left";
  }
};

TEST_F(DaemonExecTest, OutputAndExitCodes) {
  RunSleeper("box");
  auto [rc, out] = Docker("exec box echo hi");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "hi\n");
  // stdout and stderr stay apart (multiplexed frames without a tty).
  std::tie(rc, out) =
      Shell("(" + env_ + kDocker + " exec box sh -c 'echo out; echo err >&2' 2>/dev/null)");
  EXPECT_EQ(out, "out\n");
  std::tie(rc, out) =
      Shell("(" + env_ + kDocker + " exec box sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)");
  EXPECT_EQ(out, "err\n");
  std::tie(rc, out) = Docker("exec box sh -c 'exit 3'");
  EXPECT_EQ(rc, 3) << out;
  std::tie(rc, out) = Docker("exec box sh -c 'kill -9 $$'");
  EXPECT_EQ(rc, 137) << out;
  std::tie(rc, out) = Docker("exec box no-such-binary");
  EXPECT_EQ(rc, 127) << out << Log();
  EXPECT_NE(out.find("OCI runtime exec failed"), std::string::npos) << out;
  EXPECT_NE(out.find("executable file not found"), std::string::npos) << out;
  std::tie(rc, out) = Docker("exec box /etc");
  EXPECT_EQ(rc, 126) << out;
  // Output much larger than every buffer on the way, read slowly: nothing is lost.
  std::tie(rc, out) =
      Shell(env_ + kDocker + " exec box sh -c 'head -c 3000000 /dev/zero' | (sleep 2; wc -c)");
  EXPECT_EQ(out, "3000000\n") << Log();
  ExpectNoExecLeft();
}

TEST_F(DaemonExecTest, EnvWorkdirUser) {
  RunSleeper("box");
  auto [rc, out] = Docker("exec -e X=1 -e PATH=/bin box sh -c 'echo $X $PATH'");
  EXPECT_EQ(out, "1 /bin\n") << Log();
  std::tie(rc, out) = Docker("exec -w /tmp box pwd");
  EXPECT_EQ(out, "/tmp\n");
  std::tie(rc, out) = Docker("exec box pwd");
  EXPECT_EQ(out, "/\n");
  std::tie(rc, out) = Docker("exec -u nobody box id");
  EXPECT_EQ(out.rfind("uid=65534(nobody) gid=65534(nogroup)", 0), 0u) << out << Log();
  std::tie(rc, out) = Docker("exec -u 1000:5 box sh -c 'id -u; id -g'");
  EXPECT_EQ(out, "1000\n5\n");
  std::tie(rc, out) = Docker("exec -u user box sh -c 'echo $HOME'");
  EXPECT_EQ(out, "/home/user\n");
  std::tie(rc, out) = Docker("exec -u ghost box id");
  EXPECT_EQ(rc, 126) << out;
  EXPECT_NE(out.find("unable to find user ghost"), std::string::npos) << out;
  ExpectNoExecLeft();
}

TEST_F(DaemonExecTest, Stdin) {
  RunSleeper("box");
  auto [rc, out] = Shell("echo abc | " + env_ + kDocker + " exec -i box cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "abc\n");
  // A megabyte through stdin and back, half-closed by the client at the end.
  std::tie(rc, out) = Shell("head -c 1000000 /dev/urandom > " + dir_ + "/blob && " + env_ +
                            kDocker + " exec -i box md5sum < " + dir_ + "/blob | cut -d' ' -f1");
  auto [rc2, want] = Shell("md5sum < " + dir_ + "/blob | cut -d' ' -f1");
  EXPECT_EQ(out, want) << Log();
  // Without -i the process's stdin is empty.
  std::tie(rc, out) = Shell("echo abc | " + env_ + kDocker + " exec box cat");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "");
  ExpectNoExecLeft();
}

TEST_F(DaemonExecTest, DetachedAndInspect) {
  RunSleeper("box");
  auto [rc, out] = Docker("exec -d box sh -c 'echo hello > /tmp/flag'");
  EXPECT_EQ(rc, 0) << out << Log();
  std::string flag;
  for (int i = 0; i < 50 && flag != "hello\n"; ++i) {
    std::tie(rc, flag) = Docker("exec box cat /tmp/flag");
    if (flag != "hello\n") std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(flag, "hello\n") << Log();

  // The API: create, start detached, inspect while it runs and after.
  std::string id = Docker("inspect -f '{{.Id}}' box").second;
  id = id.substr(0, id.find('\n'));
  auto r =
      client_->Post("/v1.41/containers/box/exec", R"({"Cmd":["sleep","1"]})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  std::string exec_id = nlohmann::json::parse(r->body)["Id"];
  EXPECT_EQ(exec_id.size(), 64u);
  r = client_->Get("/v1.41/exec/" + exec_id + "/json");
  ASSERT_TRUE(r);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["Running"], false);
  EXPECT_EQ(j["ContainerID"], id);
  EXPECT_EQ(j["ProcessConfig"]["entrypoint"], "sleep");
  EXPECT_EQ(j["ProcessConfig"]["arguments"], nlohmann::json::array({"1"}));
  r = client_->Post("/v1.41/exec/" + exec_id + "/start", R"({"Detach":true})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = client_->Get("/v1.41/exec/" + exec_id + "/json");
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["Running"], true) << r->body;
  EXPECT_GT(j["Pid"].get<int>(), 0);
  // Started once only.
  r = client_->Post("/v1.41/exec/" + exec_id + "/start", R"({"Detach":true})", "application/json");
  EXPECT_EQ(r->status, 409) << r->body;
  // Resize needs a tty.
  r = client_->Post("/v1.41/exec/" + exec_id + "/resize?h=10&w=20");
  EXPECT_NE(r->status, 200) << r->body;
  for (int i = 0; i < 50 && j["Running"] == true; ++i) {
    std::this_thread::sleep_for(100ms);
    j = nlohmann::json::parse(client_->Get("/v1.41/exec/" + exec_id + "/json")->body);
  }
  EXPECT_EQ(j["Running"], false);
  EXPECT_EQ(j["ExitCode"], 0);
  r = client_->Get("/v1.41/exec/nope/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("No such exec instance: nope"), std::string::npos) << r->body;
  r = client_->Post("/v1.41/exec/nope/start", "{}", "application/json");
  EXPECT_EQ(r->status, 404);
  r = client_->Post("/v1.41/containers/box/exec", R"({"Cmd":[]})", "application/json");
  EXPECT_EQ(r->status, 400) << r->body;
  r = client_->Post("/v1.41/containers/nope/exec", R"({"Cmd":["true"]})", "application/json");
  EXPECT_EQ(r->status, 404) << r->body;
  ExpectNoExecLeft();
}

TEST_F(DaemonExecTest, Tty) {
  RunSleeper("box");
  auto [rc, out] = Shell("script -qec \"env " + env_ + kDocker + " exec -it box tty\" /dev/null");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  // The size the CLI sets through /exec/{id}/resize reaches the process's terminal.
  std::tie(rc, out) = Shell("script -qec \"stty rows 33 cols 77; env " + env_ + kDocker +
                            " exec -it box stty size\" /dev/null");
  EXPECT_NE(out.find("33 77"), std::string::npos) << out << Log();
  // Input through the terminal, and the exit code.
  std::tie(rc, out) = Shell("printf 'echo in-tty; exit 5\\n' | script -qec \"env " + env_ +
                            kDocker + " exec -it box sh\" /dev/null");
  EXPECT_NE(out.find("in-tty"), std::string::npos) << out << Log();
  // A tty without -i: output only.
  std::tie(rc, out) = Shell("script -qec \"env " + env_ + kDocker +
                            " exec -t box sh -c 'echo a; exit 4'\" /dev/null; echo rc=$?");
  EXPECT_NE(out.find("a\r"), std::string::npos) << out;
  EXPECT_NE(out.find("rc=4"), std::string::npos) << out;
  ExpectNoExecLeft();
}

TEST_F(DaemonExecTest, NotRunning) {
  auto [rc, out] = Docker("create --name st busybox true");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("exec st echo hi");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("is not running"), std::string::npos) << out;
  std::tie(rc, out) = Docker("run --name s2 busybox true");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("exec s2 echo hi");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("is not running"), std::string::npos) << out;
  std::tie(rc, out) = Docker("exec nope echo hi");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("No such container: nope"), std::string::npos) << out;
}

TEST_F(DaemonExecTest, NothingLeftAfterTheContainer) {
  RunSleeper("box");
  auto [rc, out] = Docker("exec -d box sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("exec -d box sh -c 'sleep 1000'");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(ExecDirsRunning(), 2u);
  EXPECT_EQ(ExecDirs().size(), 2u);
  // An attached exec that is still running when the container goes.
  pid_t attached = fork();
  if (attached == 0) {
    execl("/bin/sh", "sh", "-c", (env_ + kDocker + " exec box sleep 1000 >/dev/null 2>&1").c_str(),
          nullptr);
    _exit(127);
  }
  // Three exec shims (a shim that is still daemonizing is two processes for a moment).
  for (int i = 0; i < 100 && ExecDirsRunning() < 3; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ExecDirsRunning(), 3u);
  std::tie(rc, out) = Docker("rm -f box");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectNoExecLeft();
  // The attached CLI saw its stream end.
  int status = 0;
  bool done = false;
  for (int i = 0; i < 100 && !done; ++i) {
    done = waitpid(attached, &status, WNOHANG) == attached;
    if (!done) std::this_thread::sleep_for(50ms);
  }
  if (!done) {
    kill(attached, SIGKILL);
    waitpid(attached, &status, 0);
  }
  EXPECT_TRUE(done) << "docker exec did not return after the container was removed";
}

TEST_F(DaemonExecTest, Events) {
  RunSleeper("box");
  auto r = client_->Get("/_ping");
  ASSERT_TRUE(r);
  int64_t since = time(nullptr) - 1;
  auto [rc, out] = Docker("exec box echo hi");
  ASSERT_EQ(rc, 0) << out;
  std::this_thread::sleep_for(200ms);
  std::tie(rc, out) = Docker("events --since " + std::to_string(since) + " --until " +
                             std::to_string(time(nullptr) + 1) +
                             " --format '{{.Action}} {{.Actor.Attributes.execID}}'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("exec_create: echo hi "), std::string::npos) << out;
  EXPECT_NE(out.find("exec_start: echo hi "), std::string::npos) << out;
  EXPECT_NE(out.find("exec_die "), std::string::npos) << out;
}

}  // namespace
}  // namespace berth
