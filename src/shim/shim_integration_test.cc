// berth-shim end to end: the real binary daemonizes, launches busybox containers from bundles
// built by tests/integration/make-bundle.sh, and is driven over its state-dir sockets. Root only.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "shim/standby.h"
#include "sys/file.h"
#include "sys/socket.h"

extern char** environ;

namespace berth::shim {
namespace {

using namespace std::chrono_literals;

int RunCommand(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Alive and not a zombie (a reaped-late zombie counts as gone).
bool PidAlive(pid_t pid) {
  auto stat = sys::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

class ShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/berth-shim-it-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    static int counter = 0;
    id_ = "shimit-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    bundle_ = root_ + "/bundle";
    state_ = root_ + "/state";
    runtime_root_ = root_ + "/runtime";
    log_ = root_ + "/ctr.log";
  }

  void TearDown() override {
    if (root_.empty()) return;
    if (shim_pid_ > 0 && PidAlive(shim_pid_)) {
      (void)Control("kill 9");
      WaitGone(shim_pid_, 10s);
    }
    ExpectNoLeaks();
    (void)sys::RemoveAll(root_);
  }

  void MakeBundle(const std::vector<std::string>& args, bool tty = false) {
    std::vector<std::string> argv = {"/usr/bin/env", "RUNTIME=runc", "/bin/bash", BERTH_MAKE_BUNDLE,
                                     bundle_};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_EQ(RunCommand(argv), 0);
    if (tty) {
      auto text = sys::ReadFile(bundle_ + "/config.json");
      ASSERT_TRUE(text);
      auto j = nlohmann::json::parse(*text);
      j["process"]["terminal"] = true;
      ASSERT_TRUE(sys::WriteFileReplace(bundle_ + "/config.json", j.dump()));
    }
  }

  std::vector<std::string> ShimArgs(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {BERTH_SHIM_BINARY, "--id",        id_,    "--bundle",
                                     bundle_,           "--state-dir", state_, "--runtime-root",
                                     runtime_root_,     "--log-path",  log_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Starts the shim; it returns once the container runs.
  void StartShim(const std::vector<std::string>& extra = {}) {
    ASSERT_EQ(RunCommand(ShimArgs(extra)), 0);
    ReadShimPid();
  }

  // A short-lived container's shim may be gone already (exit.json written, shim.pid removed).
  void ReadShimPid() {
    auto text = sys::ReadFile(state_ + "/shim.pid");
    if (!text && sys::Exists(state_ + "/exit.json")) return;
    ASSERT_TRUE(text) << text.error().message();
    shim_pid_ = static_cast<pid_t>(*base::ParseInt(*text));
  }

  void WaitGone(pid_t pid, std::chrono::milliseconds limit) {
    if (pid <= 0) return;
    auto end = std::chrono::steady_clock::now() + limit;
    while (PidAlive(pid) && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(10ms);
  }

  // exit.json once the shim has exited.
  nlohmann::json WaitExit(std::chrono::milliseconds limit = 20s) {
    WaitGone(shim_pid_, limit);
    EXPECT_FALSE(shim_pid_ > 0 && PidAlive(shim_pid_)) << "shim still running";
    auto text = sys::ReadFile(state_ + "/exit.json");
    EXPECT_TRUE(text) << "no exit.json";
    if (!text) return {};
    return nlohmann::json::parse(*text);
  }

  // One request on control.sock; the reply line without '\n'.
  std::string Control(const std::string& request) {
    auto fd = sys::ConnectUnix(state_ + "/control.sock");
    if (!fd) return "connect failed";
    std::string line = request + "\n";
    if (::write(fd->get(), line.data(), line.size()) < 0) return "write failed";
    std::string reply;
    char c;
    while (::read(fd->get(), &c, 1) == 1 && c != '\n') reply += c;
    return reply;
  }

  sys::UniqueFd Attach() {
    auto fd = sys::ConnectUnix(state_ + "/attach.sock");
    EXPECT_TRUE(fd);
    return fd ? std::move(*fd) : sys::UniqueFd();
  }

  // Reads from fd until pred(data) holds or the time is up.
  template <typename Pred>
  std::string ReadUntil(int fd, Pred pred, std::chrono::milliseconds limit = 10s) {
    std::string data;
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred(data) && std::chrono::steady_clock::now() < end) {
      struct pollfd p = {fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    return data;
  }

  std::vector<nlohmann::json> LogEntries(const std::string& path) {
    std::vector<nlohmann::json> out;
    auto text = sys::ReadFile(path);
    if (!text) return out;
    for (auto& line : base::SplitNonEmpty(*text, '\n')) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  void ExpectNoLeaks() {
    EXPECT_FALSE(sys::Exists(runtime_root_ + "/" + id_)) << "runtime state left";
    EXPECT_FALSE(sys::Exists(state_ + "/attach.sock"));
    EXPECT_FALSE(sys::Exists(state_ + "/control.sock"));
    EXPECT_FALSE(sys::Exists(state_ + "/shim.pid"));
    auto mounts = sys::ReadFile("/proc/self/mountinfo");
    ASSERT_TRUE(mounts);
    EXPECT_EQ(mounts->find(bundle_), std::string::npos) << "mount left under the bundle";
    // No process is left in a cgroup named after the container, and no such cgroup exists.
    DIR* d = ::opendir("/proc");
    ASSERT_NE(d, nullptr);
    while (auto* e = ::readdir(d)) {
      if (!base::ParseInt(e->d_name)) continue;
      auto cg = sys::ReadFile(std::string("/proc/") + e->d_name + "/cgroup");
      if (cg) {
        EXPECT_EQ(cg->find(id_), std::string::npos) << "process " << e->d_name << " left";
      }
    }
    ::closedir(d);
    for (auto dir : {"/sys/fs/cgroup/berth-", "/sys/fs/cgroup/memory/berth-",
                     "/sys/fs/cgroup/unified/berth-", "/sys/fs/cgroup/pids/berth-"})
      EXPECT_FALSE(sys::Exists(dir + id_)) << dir << id_;
  }

  // Spawns `berth-shim --standby` with one end of a SOCK_SEQPACKET pair at fd 3, as berthd
  // does; returns our end once the spawned process has exited (the standby daemon waits).
  // standby_pid_ is the daemon: the process whose fd 3 is the other end.
  sys::UniqueFd SpawnStandby() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    sys::UniqueFd ours(sv[0]), theirs(sv[1]);
    struct stat st;
    EXPECT_EQ(::fstat(theirs.get(), &st), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);
    std::vector<std::string> argv = {BERTH_SHIM_BINARY, "--standby"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status = -1;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    std::string want = "socket:[" + std::to_string(st.st_ino) + "]";
    DIR* d = ::opendir("/proc");
    while (auto* e = d ? ::readdir(d) : nullptr) {
      if (!base::ParseInt(e->d_name)) continue;
      char link[64] = {};
      std::string fd3 = std::string("/proc/") + e->d_name + "/fd/3";
      if (::readlink(fd3.c_str(), link, sizeof link - 1) <= 0 || want != link) continue;
      // The first daemonizing fork (a session leader) may still hold the socket for a moment.
      auto stat = sys::ReadFile(std::string("/proc/") + e->d_name + "/stat");
      if (!stat || stat->rfind(')') == std::string::npos) continue;
      std::istringstream rest(stat->substr(stat->rfind(')') + 2));
      std::string state;
      long ppid = 0, pgrp = 0, session = 0;
      rest >> state >> ppid >> pgrp >> session;
      int pid = std::stoi(e->d_name);
      if (pid != ::getpid() && session != pid) standby_pid_ = pid;
    }
    if (d) ::closedir(d);
    EXPECT_GT(standby_pid_, 0) << "no standby holds the socket";
    return ours;
  }

  std::string root_, id_, bundle_, state_, runtime_root_, log_;
  pid_t shim_pid_ = 0;
  pid_t standby_pid_ = 0;
};

TEST_F(ShimTest, LogsStdoutAndStderrAndRecordsExitCode) {
  MakeBundle({"/bin/sh", "-c", "echo out; echo err >&2; printf 'no newline'; exit 3"});
  StartShim();
  auto exit = WaitExit();
  EXPECT_EQ(exit["exit_code"], 3);
  EXPECT_EQ(exit["signal"], 0);
  EXPECT_EQ(exit["oom_killed"], false);
  EXPECT_TRUE(exit["finished_at"].is_string());
  auto entries = LogEntries(log_);
  ASSERT_EQ(entries.size(), 3u);
  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z)");
  int seen = 0;
  for (auto& e : entries) {
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(), rfc3339)) << e.dump();
    if (e["log"] == "out\n" && e["stream"] == "stdout") seen |= 1;
    if (e["log"] == "err\n" && e["stream"] == "stderr") seen |= 2;
    if (e["log"] == "no newline" && e["stream"] == "stdout") seen |= 4;
  }
  EXPECT_EQ(seen, 7) << sys::ReadFile(log_).value_or("");
}

TEST_F(ShimTest, KillOverControlSocket) {
  MakeBundle({"/bin/sleep", "1000"});
  StartShim();
  EXPECT_EQ(Control("resize 10 10"), "error the container has no tty");
  EXPECT_EQ(Control("frobnicate"), "error unknown request \"frobnicate\"");
  EXPECT_EQ(Control("kill NOSUCHSIG").substr(0, 6), "error ");
  EXPECT_EQ(Control("kill KILL"), "ok");
  auto exit = WaitExit();
  EXPECT_EQ(exit["exit_code"], 137);
  EXPECT_EQ(exit["signal"], 9);
}

TEST_F(ShimTest, RotatesLog) {
  MakeBundle({"/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done"});
  StartShim({"--log-max-size", "2000", "--log-max-file", "3"});
  EXPECT_EQ(WaitExit()["exit_code"], 0);
  EXPECT_TRUE(sys::Exists(log_ + ".1"));
  EXPECT_TRUE(sys::Exists(log_ + ".2"));
  EXPECT_FALSE(sys::Exists(log_ + ".3"));
  for (auto p : {log_, log_ + ".1", log_ + ".2"}) {
    auto text = sys::ReadFile(p);
    ASSERT_TRUE(text);
    EXPECT_LT(text->size(), 2200u) << p;
  }
  auto entries = LogEntries(log_);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back()["log"], "line299\n");
  // The three files hold a contiguous tail of the output.
  auto older = LogEntries(log_ + ".1");
  ASSERT_FALSE(older.empty());
  std::string last_old = older.back()["log"], first_new = entries.front()["log"];
  EXPECT_EQ(std::stoi(first_new.substr(4)), std::stoi(last_old.substr(4)) + 1);
}

TEST_F(ShimTest, AttachGetsLiveMultiplexedOutput) {
  MakeBundle({"/bin/sh", "-c", "while true; do echo x; sleep 0.1; done"});
  StartShim();
  auto a = Attach();
  auto b = Attach();  // any number of clients
  auto frames = [](const std::string& d) { return d.size() >= 3 * 10; };
  for (int fd : {a.get(), b.get()}) {
    std::string data = ReadUntil(fd, frames);
    ASSERT_GE(data.size(), 30u);
    for (size_t off = 0; off + 8 <= data.size();) {
      EXPECT_EQ(data[off], 1);  // stdout
      uint32_t size = (uint8_t(data[off + 4]) << 24) | (uint8_t(data[off + 5]) << 16) |
                      (uint8_t(data[off + 6]) << 8) | uint8_t(data[off + 7]);
      if (off + 8 + size > data.size()) break;
      EXPECT_EQ(data.substr(off + 8, size), "x\n");
      off += 8 + size;
    }
  }
  a.Reset();  // a client going away does not disturb the others
  EXPECT_GE(ReadUntil(b.get(), frames).size(), 30u);
  // sh as pid 1 has no SIGTERM handler, so the kernel drops TERM: KILL it.
  EXPECT_EQ(Control("kill KILL"), "ok");
  EXPECT_EQ(WaitExit()["signal"], 9);
}

TEST_F(ShimTest, AttachStdinRoundTripAndStdinOnce) {
  MakeBundle({"/bin/cat"});
  StartShim({"--stdin", "--stdin-once"});
  auto a = Attach();
  ASSERT_EQ(::write(a.get(), "hello\n", 6), 6);
  std::string data = ReadUntil(a.get(), [](const std::string& d) { return d.size() >= 14; });
  EXPECT_EQ(data, std::string("\x01\0\0\0\0\0\0\x06hello\n", 14));
  // Half-close: cat sees EOF and exits 0.
  ASSERT_EQ(::shutdown(a.get(), SHUT_WR), 0);
  auto exit = WaitExit();
  EXPECT_EQ(exit["exit_code"], 0);
  auto entries = LogEntries(log_);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["log"], "hello\n");
}

TEST_F(ShimTest, DetachKeysEndOnlyThatSession) {
  MakeBundle({"/bin/cat"});
  StartShim({"--stdin", "--detach-keys", "ctrl-p,ctrl-q"});
  auto a = Attach();
  auto b = Attach();
  // ctrl-p followed by something else is passed through; ctrl-p ctrl-q detaches.
  const std::string input(
      "a\x10"
      "b\n\x10\x11");
  ASSERT_EQ(::write(a.get(), input.data(), input.size()), 6);
  // The detaching session ends at once (EOF), before cat's echo could reach it.
  struct pollfd p = {a.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char c;
  EXPECT_EQ(::read(a.get(), &c, 1), 0);
  std::string seen = ReadUntil(b.get(), [](const std::string& d) { return d.size() >= 12; });
  EXPECT_EQ(seen.substr(8),
            "a\x10"
            "b\n");
  EXPECT_TRUE(PidAlive(shim_pid_));
  EXPECT_EQ(Control("close-stdin"), "ok");
  EXPECT_EQ(WaitExit()["exit_code"], 0);
}

TEST_F(ShimTest, CloseStdinOverControl) {
  MakeBundle({"/bin/cat"});
  StartShim({"--stdin"});
  EXPECT_EQ(Control("close-stdin"), "ok");
  EXPECT_EQ(WaitExit()["exit_code"], 0);
}

TEST_F(ShimTest, TtyAttachAndResize) {
  MakeBundle({"/bin/sh", "-c", "read line; stty size; echo got:$line; exit 4"}, /*tty=*/true);
  StartShim({"--tty", "--stdin"});
  auto a = Attach();
  EXPECT_EQ(Control("resize 33 101"), "ok");
  ASSERT_EQ(::write(a.get(), "abc\n", 4), 4);
  std::string data = ReadUntil(
      a.get(), [](const std::string& d) { return d.find("got:abc\r\n") != std::string::npos; });
  EXPECT_NE(data.find("33 101\r\n"), std::string::npos) << data;
  EXPECT_NE(data.find("got:abc\r\n"), std::string::npos) << data;
  EXPECT_EQ(data[0], 'a');  // raw bytes (the tty's echo), no frame header
  EXPECT_EQ(WaitExit()["exit_code"], 4);
  bool logged = false;
  for (auto& e : LogEntries(log_)) logged |= e["log"] == "got:abc\r\n" && e["stream"] == "stdout";
  EXPECT_TRUE(logged);
}

TEST_F(ShimTest, TtyMismatchIsAnError) {
  MakeBundle({"/bin/true"});
  EXPECT_EQ(RunCommand(ShimArgs({"--tty"})), 1);
  EXPECT_FALSE(sys::Exists(state_ + "/exit.json"));
}

TEST_F(ShimTest, FailedStartReportsError) {
  MakeBundle({"/no/such/binary"});
  EXPECT_EQ(RunCommand(ShimArgs({})), 1);
  EXPECT_FALSE(sys::Exists(state_ + "/exit.json"));
}

TEST_F(ShimTest, SurvivesItsParent) {
  MakeBundle({"/bin/sleep", "1000"});
  // The spawning process (a stand-in for berthd) starts the shim and dies.
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    std::vector<std::string> argv = ShimArgs({});
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) ::_exit(1);
    int status;
    ::waitpid(pid, &status, 0);
    ::kill(::getpid(), SIGKILL);
  }
  int status;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  ASSERT_TRUE(WIFSIGNALED(status));
  ReadShimPid();
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(PidAlive(shim_pid_));
  EXPECT_EQ(Control("kill 9"), "ok");
  auto exit = WaitExit();
  EXPECT_EQ(exit["exit_code"], 137);
}

// The shim holds the container's mount namespace while it runs, so that the init's exit does not
// wait for the namespace's teardown; nothing of it is left once the shim is gone (TearDown).
TEST_F(ShimTest, HoldsTheContainersMountNamespace) {
  MakeBundle({"/bin/sleep", "1000"});
  StartShim({"--auto-remove"});
  ASSERT_GT(shim_pid_, 0);
  auto state = sys::ReadFile(runtime_root_ + "/" + id_ + "/state.json");
  ASSERT_TRUE(state);
  pid_t init = nlohmann::json::parse(*state).at("pid").get<pid_t>();
  auto link = [](const std::string& path) {
    char buf[128] = {};
    return ::readlink(path.c_str(), buf, sizeof buf - 1) > 0 ? std::string(buf) : std::string();
  };
  std::string ns = link("/proc/" + std::to_string(init) + "/ns/mnt");
  ASSERT_NE(ns, "");
  ASSERT_NE(ns, link("/proc/self/ns/mnt"));
  bool held = false;
  std::string fds = "/proc/" + std::to_string(shim_pid_) + "/fd";
  DIR* d = ::opendir(fds.c_str());
  ASSERT_NE(d, nullptr);
  while (auto* e = ::readdir(d)) held = held || link(fds + "/" + e->d_name) == ns;
  ::closedir(d);
  EXPECT_TRUE(held) << "no fd of the shim is " << ns;
  EXPECT_EQ(Control("kill KILL"), "ok");
  EXPECT_EQ(WaitExit()["exit_code"], 137);
}

TEST_F(ShimTest, KeepLeavesRuntimeStateUntilDeleted) {
  MakeBundle({"/bin/true"});
  StartShim({"--keep"});
  EXPECT_EQ(WaitExit()["exit_code"], 0);
  EXPECT_TRUE(sys::Exists(runtime_root_ + "/" + id_));
  // Clean up with the runtime library's CLI twin so the leak check passes.
  ASSERT_EQ(RunCommand({BERTH_RUNTIME_BINARY, "--root", runtime_root_, "delete", "-f", id_}), 0);
}

// Exec mode: one more process in the running container, with its own state dir and the same
// protocol; exit.json is there when an attach client sees EOF, and the container stays.
TEST_F(ShimTest, ExecModeRunsAProcessInTheContainer) {
  MakeBundle({"/bin/sleep", "1000"});
  StartShim();
  std::string exec_state = root_ + "/x";
  std::string process = root_ + "/process.json";
  nlohmann::json p = {{"terminal", false},
                      {"user", {{"uid", 0}, {"gid", 0}}},
                      {"args", {"/bin/sh", "-c", "cat; echo err >&2; exit 7"}},
                      {"env", {"PATH=/bin"}},
                      {"cwd", "/tmp"}};
  ASSERT_TRUE(sys::WriteFileReplace(process, p.dump()));
  auto exec_args = [&](const std::string& proc) {
    return std::vector<std::string>{
        BERTH_SHIM_BINARY, "--exec",      "--id",        id_,
        "--process",       proc,          "--state-dir", exec_state,
        "--runtime-root",  runtime_root_, "--stdin",     "--stdin-once"};
  };
  ASSERT_EQ(RunCommand(exec_args(process)), 0);
  auto pid_text = sys::ReadFile(exec_state + "/exec.pid");
  ASSERT_TRUE(pid_text);
  pid_t exec_pid = static_cast<pid_t>(*base::ParseInt(base::Trim(*pid_text)));
  EXPECT_TRUE(PidAlive(exec_pid));
  auto exec_shim = sys::ReadFile(exec_state + "/shim.pid");
  ASSERT_TRUE(exec_shim);

  auto fd = sys::ConnectUnix(exec_state + "/attach.sock");
  ASSERT_TRUE(fd);
  ASSERT_EQ(::write(fd->get(), "hello\n", 6), 6);
  ::shutdown(fd->get(), SHUT_WR);  // EOF on the process's stdin (--stdin-once)
  std::string data = ReadUntil(fd->get(), [](const std::string&) { return false; });
  std::string out = std::string("\x01\0\0\0\0\0\0\x06hello\n", 14);
  std::string err = std::string(
      "\x02\0\0\0\0\0\0\x04"
      "err\n",
      12);
  EXPECT_EQ(data, out + err);
  // Written before the client saw EOF.
  auto text = sys::ReadFile(exec_state + "/exit.json");
  ASSERT_TRUE(text);
  EXPECT_EQ(nlohmann::json::parse(*text)["exit_code"], 7);
  WaitGone(static_cast<pid_t>(*base::ParseInt(base::Trim(*exec_shim))), 5s);
  EXPECT_FALSE(sys::Exists(exec_state + "/attach.sock"));
  EXPECT_FALSE(sys::Exists(exec_state + "/control.sock"));
  EXPECT_FALSE(sys::Exists(exec_state + "/shim.pid"));

  // A process that cannot start: the error, and the container is untouched.
  p["args"] = {"/no/such/binary"};
  ASSERT_TRUE(sys::WriteFileReplace(process, p.dump()));
  EXPECT_NE(RunCommand(exec_args(process)), 0);
  EXPECT_FALSE(sys::Exists(exec_state + "/shim.pid"));
  EXPECT_TRUE(PidAlive(shim_pid_));
  EXPECT_TRUE(sys::Exists(runtime_root_ + "/" + id_));
  EXPECT_EQ(Control("kill KILL"), "ok");
  EXPECT_EQ(WaitExit()["exit_code"], 137);
}

}  // namespace
}  // namespace berth::shim

namespace berth::shim {
namespace {

// Standby mode: the daemonized shim waits on its socket, runs the assignment it is handed (with
// the attach fds that came along), reports on the socket and then is that container's shim.
TEST_F(ShimTest, StandbyRunsItsAssignment) {
  MakeBundle({"/bin/sh", "-c", "echo first; exit 4"});
  sys::UniqueFd sock = SpawnStandby();
  ASSERT_TRUE(PidAlive(standby_pid_));
  int cv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv), 0);
  sys::UniqueFd client(cv[0]), handed(cv[1]);
  std::vector<std::string> args = ShimArgs({});
  args.erase(args.begin());
  ASSERT_TRUE(sys::SendFds(sock.get(), EncodeAssignment(args), {handed.get()}));
  handed = sys::UniqueFd();
  auto reply = sys::RecvFds(sock.get(), 4096, 0);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "ok\n");
  shim_pid_ = standby_pid_;
  // The attach client handed over with the assignment saw the output from its first byte.
  std::string out = ReadUntil(
      client.get(), [](const std::string& d) { return d.find("first") != std::string::npos; });
  EXPECT_NE(out.find("first\n"), std::string::npos);
  EXPECT_EQ(WaitExit()["exit_code"], 4);
}

TEST_F(ShimTest, StandbyReportsABadAssignment) {
  sys::UniqueFd sock = SpawnStandby();
  ASSERT_TRUE(sys::SendFds(sock.get(), EncodeAssignment({"--id", id_, "--frobnicate"}), {}));
  auto reply = sys::RecvFds(sock.get(), 4096, 0);
  ASSERT_TRUE(reply);
  EXPECT_NE(reply->payload.find("--frobnicate"), std::string::npos) << reply->payload;
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
}

// Its owner gone before any assignment: the standby exits and leaves nothing.
TEST_F(ShimTest, StandbyExitsWhenItsSocketCloses) {
  sys::UniqueFd sock = SpawnStandby();
  ASSERT_TRUE(PidAlive(standby_pid_));
  sock = sys::UniqueFd();
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
  EXPECT_FALSE(sys::Exists(state_));
}

// Sends the prelaunch records of standby.h in order: the assignment `args` (argv[0] included),
// then the records up to and including `upto` (none when empty); the start record carries
// `attach` (if given) as its fd.
void SendPrelaunch(int sock, const std::vector<std::string>& args, std::string_view upto,
                   int attach = -1) {
  std::vector<std::string> rest(args.begin() + 1, args.end());
  ASSERT_TRUE(sys::SendFds(sock, EncodeAssignment(rest), {}));
  if (upto.empty()) return;
  for (std::string_view record : {kConfigRecord, kMountedRecord, kStartRecord}) {
    std::vector<int> fds;
    if (record == kStartRecord && attach >= 0) fds.push_back(attach);
    ASSERT_TRUE(sys::SendFds(sock, std::string(record), fds));
    if (record == upto) return;
  }
}

// The next report on the standby socket ("" for its EOF).
std::string Report(int sock) {
  auto r = sys::RecvFds(sock, 4096, 0);
  EXPECT_TRUE(r);
  return r ? r->payload : "recv failed";
}

// Prelaunch (standby.h): the container is set up once "config" and "mounted" have come, its
// init says "ready" and waits; the output starts only with the start record, whose attach
// client sees all of it.
TEST_F(ShimTest, StandbyPrelaunchWaitsForTheStart) {
  MakeBundle({"/bin/sh", "-c", "echo started; exit 5"});
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch"}), kMountedRecord);
  ASSERT_EQ(Report(sock.get()), "ready\n");
  shim_pid_ = standby_pid_;
  // Created, not started: its state is there, its process has not run.
  EXPECT_TRUE(sys::Exists(runtime_root_ + "/" + id_));
  EXPECT_FALSE(sys::Exists(state_ + "/exit.json"));
  std::this_thread::sleep_for(100ms);
  auto log = sys::ReadFile(log_);
  EXPECT_TRUE(!log || log->empty()) << *log;

  int cv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv), 0);
  sys::UniqueFd client(cv[0]), handed(cv[1]);
  ASSERT_TRUE(sys::SendFds(sock.get(), std::string(kStartRecord), {handed.get()}));
  handed = sys::UniqueFd();
  EXPECT_EQ(Report(sock.get()), "ok\n");
  std::string out = ReadUntil(
      client.get(), [](const std::string& d) { return d.find("started") != std::string::npos; });
  EXPECT_NE(out.find("started\n"), std::string::npos);
  EXPECT_EQ(WaitExit()["exit_code"], 5);
}

// berthd sends the start record as soon as the start comes, ready or not: the init finds it
// there and execs at once; "ready" and "ok" follow.
TEST_F(ShimTest, StandbyPrelaunchTakesAnEarlyStart) {
  MakeBundle({"/bin/sh", "-c", "echo early; exit 6"});
  // The cgroups it makes ahead of the config are the ones the config names (as berthd's).
  auto text = sys::ReadFile(bundle_ + "/config.json");
  ASSERT_TRUE(text);
  auto config = nlohmann::json::parse(*text);
  config["linux"]["cgroupsPath"] = "/berth-" + id_;
  ASSERT_TRUE(sys::WriteFileReplace(bundle_ + "/config.json", config.dump()));
  sys::UniqueFd sock = SpawnStandby();
  int cv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv), 0);
  sys::UniqueFd client(cv[0]), handed(cv[1]);
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch", "--prelaunch-cgroups", "/berth-" + id_}),
                kStartRecord, handed.get());
  handed = sys::UniqueFd();
  EXPECT_EQ(Report(sock.get()), "ready\n");
  EXPECT_EQ(Report(sock.get()), "ok\n");
  shim_pid_ = standby_pid_;
  std::string out = ReadUntil(
      client.get(), [](const std::string& d) { return d.find("early") != std::string::npos; });
  EXPECT_NE(out.find("early\n"), std::string::npos);
  EXPECT_EQ(WaitExit()["exit_code"], 6);
}

// Dropped after "ready" (berthd removed the container): the shim removes it (process, cgroups,
// runtime state) and exits; EOF on our end comes after that, with no report and no exit.json.
TEST_F(ShimTest, StandbyPrelaunchDroppedRemovesTheContainer) {
  MakeBundle({"/bin/sh", "-c", "echo never"});
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch"}), kMountedRecord);
  ASSERT_EQ(Report(sock.get()), "ready\n");
  ASSERT_EQ(::shutdown(sock.get(), SHUT_WR), 0);
  EXPECT_EQ(Report(sock.get()), "");
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
  EXPECT_FALSE(sys::Exists(state_ + "/exit.json"));
  auto log = sys::ReadFile(log_);
  EXPECT_TRUE(!log || log->find("never") == std::string::npos);
}

// No start within kPrelaunchWaitMs: the container goes, and so does the shim.
TEST_F(ShimTest, StandbyPrelaunchGivesUpWithoutAStart) {
  MakeBundle({"/bin/true"});
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch"}), kMountedRecord);
  ASSERT_EQ(Report(sock.get()), "ready\n");
  EXPECT_EQ(Report(sock.get()), "");  // blocks until the shim gives up
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
  EXPECT_FALSE(sys::Exists(state_ + "/exit.json"));
}

// The shim killed while its container waits for the start: the container's init goes too
// (it watches the runtime's end of its sync socket), so no container runs without a shim.
TEST_F(ShimTest, StandbyPrelaunchInitEndsWithItsShim) {
  MakeBundle({"/bin/sh", "-c", "echo orphan"});
  // The daemonized standby and, once it is killed, its child come to us: reaped here.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch"}), kMountedRecord);
  ASSERT_EQ(Report(sock.get()), "ready\n");
  // The init: the standby's child (its state is recorded only once it runs).
  auto children = sys::ReadFile(fmt::format("/proc/{0}/task/{0}/children", standby_pid_));
  ASSERT_TRUE(children);
  pid_t init = static_cast<pid_t>(base::ParseInt(base::Trim(*children)).value_or(0));
  ASSERT_GT(init, 0) << *children;
  ASSERT_EQ(::kill(standby_pid_, SIGKILL), 0);
  WaitGone(standby_pid_, 10s);  // a zombie: its end of the init's sync socket is closed
  (void)::waitpid(standby_pid_, nullptr, 0);
  // A start record now (refused if the init, the socket's last holder, has ended already): the
  // init must not run the container's process, but end (status 255, its own failure) instead.
  (void)sys::SendFds(sock.get(), std::string(kStartRecord), {});
  int status = 0;
  ASSERT_EQ(::waitpid(init, &status, 0), init);
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 255) << "wait status " << status;
  auto log = sys::ReadFile(log_);
  EXPECT_TRUE(!log || log->find("orphan") == std::string::npos);
  // A killed shim cleans nothing up: its runtime state dir and the container's cgroups.
  (void)sys::RemoveAll(runtime_root_ + "/" + id_);
  (void)::rmdir(("/sys/fs/cgroup/berth-" + id_).c_str());
  if (DIR* d = ::opendir("/sys/fs/cgroup")) {
    while (auto* e = ::readdir(d))
      (void)::rmdir((std::string("/sys/fs/cgroup/") + e->d_name + "/berth-" + id_).c_str());
    ::closedir(d);
  }
  (void)::unlink((state_ + "/attach.sock").c_str());
  (void)::unlink((state_ + "/control.sock").c_str());
  (void)::unlink((state_ + "/shim.pid").c_str());
}

// Dropped before "config" (the create failed): nothing is left, not even the cgroups made
// ahead of the config (--prelaunch-cgroups).
TEST_F(ShimTest, StandbyPrelaunchDroppedBeforeTheConfig) {
  MakeBundle({"/bin/true"});
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch", "--prelaunch-cgroups", "/berth-" + id_}), "");
  bool made = false;
  for (int i = 0; i < 200 && !made; ++i) {
    for (auto dir : {"/sys/fs/cgroup/berth-", "/sys/fs/cgroup/pids/berth-"})
      made = made || sys::Exists(dir + id_);
    if (!made) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(made) << "no cgroup made ahead";
  ASSERT_EQ(::shutdown(sock.get(), SHUT_WR), 0);
  EXPECT_EQ(Report(sock.get()), "");
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
}

// A container whose process cannot be found fails at the prelaunch, reported instead of
// "ready", with nothing left behind (berthd then starts it the usual way, to the same error).
TEST_F(ShimTest, StandbyPrelaunchReportsASetupError) {
  MakeBundle({"/no/such/program"});
  sys::UniqueFd sock = SpawnStandby();
  SendPrelaunch(sock.get(), ShimArgs({"--prelaunch"}), kMountedRecord);
  EXPECT_NE(Report(sock.get()).find("/no/such/program"), std::string::npos);
  WaitGone(standby_pid_, 10s);
  EXPECT_FALSE(PidAlive(standby_pid_));
}

}  // namespace
}  // namespace berth::shim
