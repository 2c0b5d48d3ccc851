// berth-init run as an ordinary process: it makes itself a subreaper when it is not pid 1, so
// orphans come to it as they would in a container. The in-container behaviour (pid 1, docker
// stop) is covered by tests/integration/daemon_init_test.cc.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

struct Started {
  pid_t pid = -1;
  int out = -1;  // the read end of its stdout and stderr
};

Started Start(std::vector<std::string> args) {
  args.insert(args.begin(), BERTH_INIT_PATH);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Default dispositions and no blocked signals, whatever the test runner left (a shell's
  // background job ignores SIGINT, and that would be inherited down to the command).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  Started s;
  EXPECT_EQ(posix_spawn(&s.pid, argv[0], &fa, &attr, argv.data(), environ), 0);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  s.out = p[0];
  return s;
}

// One line of output (without the newline); "" at end of file.
std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

std::string ReadAll(int fd) {
  std::string all;
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) all.append(buf, size_t(n));
  return all;
}

// The wait status of a finished run.
int Wait(Started& s) {
  int status = 0;
  EXPECT_EQ(waitpid(s.pid, &status, 0), s.pid);
  close(s.out);
  return status;
}

struct Outcome {
  int status;
  std::string output;
};

Outcome RunInit(std::vector<std::string> args) {
  Started s = Start(std::move(args));
  std::string out = ReadAll(s.out);
  return {Wait(s), out};
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

TEST(BerthInit, ExitCodePassesThrough) {
  EXPECT_EQ(ExitCode(RunInit({"--", "sh", "-c", "exit 7"}).status), 7);
  EXPECT_EQ(ExitCode(RunInit({"true"}).status), 0);
  Outcome r = RunInit({"--", "sh", "-c", "echo hello $0 $1", "a", "b"});
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.output, "hello a b\n");
}

TEST(BerthInit, ChildKilledBySignalIs128PlusSignal) {
  EXPECT_EQ(ExitCode(RunInit({"--", "sh", "-c", "kill -TERM $$"}).status), 128 + SIGTERM);
  EXPECT_EQ(ExitCode(RunInit({"--", "sh", "-c", "kill -KILL $$"}).status), 128 + SIGKILL);
}

TEST(BerthInit, ExecFailures) {
  Outcome r = RunInit({"--", "/nonexistent/cmd"});
  EXPECT_EQ(ExitCode(r.status), 127);
  EXPECT_EQ(r.output, "berth-init: exec /nonexistent/cmd failed: No such file or directory\n");
  EXPECT_EQ(ExitCode(RunInit({"no-such-command-in-path"}).status), 127);

  char dir[] = "/tmp/berth-init-test-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string file = std::string(dir) + "/not-executable";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_TRUE(f);
  fputs("#!/bin/sh\n", f);
  fclose(f);
  chmod(file.c_str(), 0644);
  r = RunInit({"--", file});
  // Root may exec a file without x bits only if some x bit is set: still EACCES.
  EXPECT_EQ(ExitCode(r.status), 126);
  EXPECT_EQ(r.output, "berth-init: exec " + file + " failed: Permission denied\n");
  unlink(file.c_str());
  rmdir(dir);
}

TEST(BerthInit, UsageAndVersion) {
  Outcome r = RunInit({});
  EXPECT_EQ(ExitCode(r.status), 1);
  EXPECT_NE(r.output.find("Usage: berth-init"), std::string::npos);
  EXPECT_EQ(ExitCode(RunInit({"--"}).status), 1);
  r = RunInit({"-x", "--", "true"});
  EXPECT_EQ(ExitCode(r.status), 1);
  EXPECT_NE(r.output.find("unknown option -x"), std::string::npos);
  r = RunInit({"--version"});
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.output.rfind("berth-init version ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(" - git."), std::string::npos) << r.output;
  // After "--", --version belongs to the command.
  EXPECT_EQ(ExitCode(RunInit({"--", "sh", "-c", "exit 3", "--version"}).status), 3);
}

TEST(BerthInit, ForwardsSignalsToTheChild) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM}) {
    // "ready" comes from the child, so berth-init already waits for signals.
    Started s = Start({"--", "sh", "-c", "echo ready; exec sleep 1000"});
    ASSERT_EQ(ReadLine(s.out), "ready");
    kill(s.pid, sig);
    int status = Wait(s);
    // berth-init itself exits normally, with the code of a child the signal killed.
    EXPECT_EQ(ExitCode(status), 128 + sig) << strsignal(sig);
  }
}

// Whether a process has ended: gone, or a zombie waiting for whoever inherited it.
bool Ended(const std::string& pid) {
  FILE* f = fopen(("/proc/" + pid + "/stat").c_str(), "r");
  if (!f) return true;
  char state = '?';
  // "pid (comm) S ...": comm may hold spaces, so read past the last ')'.
  std::string stat;
  int c;
  while ((c = fgetc(f)) != EOF) stat += char(c);
  fclose(f);
  size_t close_paren = stat.rfind(')');
  if (close_paren != std::string::npos && close_paren + 2 < stat.size())
    state = stat[close_paren + 2];
  return state == 'Z' || state == 'X';
}

bool WaitEnded(const std::string& pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!Ended(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return Ended(pid);
}

TEST(BerthInit, ForwardsToTheProcessGroupWithG) {
  // sh waits for a background sleep; only a signal to the whole group reaches the sleep too.
  Started s = Start({"-g", "--", "sh", "-c", "sleep 1000 & echo $!; wait"});
  std::string sleep_pid = ReadLine(s.out);
  ASSERT_FALSE(sleep_pid.empty());
  kill(s.pid, SIGTERM);
  EXPECT_EQ(ExitCode(Wait(s)), 128 + SIGTERM);
  bool ended = WaitEnded(sleep_pid);
  EXPECT_TRUE(ended) << "sleep " << sleep_pid << " did not get the signal";
  if (!ended) kill(std::stoi(sleep_pid), SIGKILL);
}

TEST(BerthInit, ReapsOrphans) {
  // The subshell exits at once, so its background child is re-parented to berth-init; it prints
  // its pid and exits. Unreaped, it would stay a zombie (its /proc entry present) for as long as
  // berth-init lives.
  Started s = Start({"--", "sh", "-c", "(sh -c 'echo $$' &); echo ready; exec sleep 1000"});
  std::string first = ReadLine(s.out), second = ReadLine(s.out);
  // The two lines come from two processes, in either order.
  std::string orphan = first == "ready" ? second : first;
  ASSERT_TRUE(first == "ready" || second == "ready");
  ASSERT_FALSE(orphan.empty());
  std::string proc = "/proc/" + orphan;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (access(proc.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(access(proc.c_str(), F_OK), 0) << "orphan " << orphan << " was not reaped";
  kill(s.pid, SIGTERM);
  EXPECT_EQ(ExitCode(Wait(s)), 128 + SIGTERM);
}

TEST(BerthInit, IsStaticallyLinked) {
  // No PT_INTERP program header: the kernel runs it without a dynamic loader, in any image.
  FILE* f = fopen(BERTH_INIT_PATH, "rb");
  ASSERT_TRUE(f);
  Elf64_Ehdr eh;
  ASSERT_EQ(fread(&eh, sizeof(eh), 1, f), 1u);
  ASSERT_EQ(memcmp(eh.e_ident, ELFMAG, SELFMAG), 0);
  bool interp = false, dynamic = false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    ASSERT_EQ(fseek(f, long(eh.e_phoff + size_t(i) * eh.e_phentsize), SEEK_SET), 0);
    ASSERT_EQ(fread(&ph, sizeof(ph), 1, f), 1u);
    interp = interp || ph.p_type == PT_INTERP;
    dynamic = dynamic || ph.p_type == PT_DYNAMIC;
  }
  fclose(f);
  EXPECT_FALSE(interp);
  // A static-pie binary has a PT_DYNAMIC (for its own relocations) but no interpreter; -static
  // gives neither.
  EXPECT_FALSE(dynamic);
}

}  // namespace
