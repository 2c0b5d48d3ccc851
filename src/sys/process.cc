// Process primitives.
#include "sys/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/strings.h"
#include "sys/file.h"

extern char** environ;

namespace berth::sys {

using base::Error;
using base::Fail;

base::Result<pid_t> CloneProcess(unsigned long flags) {
  // x86_64/aarch64 argument order: flags, stack, parent_tid, child_tid, tls.
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) return Fail(Error::FromErrno(errno, fmt::format("clone (flags {:#x})", flags)));
  return static_cast<pid_t>(pid);
}

base::Result<pid_t> CloneProcessInto(unsigned long flags, int cgroup_fd) {
  struct clone_args args = {};
  args.flags = flags | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0)
    return Fail(Error::FromErrno(errno, fmt::format("clone3 into cgroup (flags {:#x})", flags)));
  return static_cast<pid_t>(pid);
}

namespace {

// The stack CloneVfork's children run on: mapped on first use and kept for the life of the
// process, since unmapping it right after the clone costs 0.05-0.5 ms on the reference VM
// (page-table and TLB work, on the way to reporting the container started) and a child touches
// few of its pages (3 for the init of a `run`). The lowest page is a guard. Null if mmap failed.
char* VforkStackTop() {
  static char* top = []() -> char* {
    constexpr size_t kStack = 1 << 20;
    constexpr size_t kGuard = 4096;
    void* mem = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    (void)::mprotect(mem, kGuard, PROT_NONE);
    return static_cast<char*>(mem) + kStack;
  }();
  return top;
}

}  // namespace

void PrepareVforkStack() {
  char* top = VforkStackTop();
  if (!top) return;
  // The pages an init's setup writes (3 in a traced `run`), and one more.
  for (int page = 1; page <= 4; ++page) *static_cast<volatile char*>(top - page * 4096) = 0;
}

base::Result<pid_t> CloneVfork(unsigned long flags, int (*fn)(void*), void* arg) {
  char* top = VforkStackTop();
  if (!top) return Fail(Error::FromErrno(ENOMEM, "mmap a stack for the child"));
  // Back from clone, the child has exec'd or exited: the stack is free for the next one.
  int pid = ::clone(fn, top, static_cast<int>(flags | CLONE_VM | CLONE_VFORK | SIGCHLD), arg);
  if (pid < 0)
    return Fail(Error::FromErrno(errno, fmt::format("clone (flags {:#x}, vfork)", flags)));
  return static_cast<pid_t>(pid);
}

base::Result<int> WaitPid(pid_t pid, int options) {
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, options);
    if (r >= 0) return r == 0 ? -1 : status;
    if (errno != EINTR) return Fail(Error::FromErrno(errno, fmt::format("waitpid {}", pid)));
  }
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

base::Result<uint64_t> ProcessStartTime(pid_t pid, bool even_if_exited) {
  auto text = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return Fail(Error::NotFound(fmt::format("process {} not found", pid)));
  // comm may contain spaces and parens: fields start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return Fail(Error::Internal("malformed /proc stat"));
  auto fields = base::SplitNonEmpty(std::string_view(*text).substr(close + 2), ' ');
  // fields[0] is state (field 3); start time is field 22 -> index 19.
  if (fields.size() < 20) return Fail(Error::Internal("short /proc stat"));
  if (!even_if_exited && (fields[0] == "Z" || fields[0] == "X"))
    return Fail(Error::NotFound(fmt::format("process {} is a zombie", pid)));
  auto v = base::ParseUint(fields[19]);
  if (!v) return Fail(Error::Internal("bad start time in /proc stat"));
  return *v;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = ProcessStartTime(pid);
  if (!st) return false;
  return start_time == 0 || *st == start_time;
}

base::Result<int> ParseSignal(const std::string& s) {
  if (auto n = base::ParseInt(s)) {
    if (*n <= 0 || *n >= NSIG)
      return Fail(Error::InvalidArgument(fmt::format("invalid signal \"{}\"", s)));
    return static_cast<int>(*n);
  }
  std::string name;
  for (char c : s) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (base::StartsWith(name, "SIG")) name = name.substr(3);
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev && name == abbrev) return i;
  }
  if (base::StartsWith(name, "RTMIN")) {
    if (name == "RTMIN") return SIGRTMIN;
    if (auto n = base::ParseInt(name.substr(6)); n && name[5] == '+')
      return SIGRTMIN + static_cast<int>(*n);
  }
  return Fail(Error::InvalidArgument(fmt::format("invalid signal \"{}\"", s)));
}

base::Result<UniqueFd> PidfdOpen(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return Fail(Error::FromErrno(errno, fmt::format("pidfd_open {}", pid)));
  return UniqueFd(static_cast<int>(fd));
}

namespace {

base::Result<pid_t> Spawn(const char* exec_path, bool search_path,
                          const std::vector<std::string>& args, int out, int err,
                          const std::vector<int>& extra_fds) {
  if (args.empty()) return Fail(Error::InvalidArgument("spawn: no command"));
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  for (size_t i = 0; i < extra_fds.size(); ++i)
    posix_spawn_file_actions_adddup2(&fa, extra_fds[i], int(3 + i));
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  // What the caller ignores (berthd: SIGPIPE) would stay ignored across execve.
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const char* path = exec_path ? exec_path : argv[0];
  int rc = search_path ? posix_spawnp(&pid, path, &fa, &attr, argv.data(), environ)
                       : posix_spawn(&pid, path, &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Fail(Error::FromErrno(rc, "spawn " + args[0]));
  return pid;
}

}  // namespace

base::Result<pid_t> SpawnProcess(const std::vector<std::string>& args, int out, int err,
                                 const std::vector<int>& extra_fds, bool search_path) {
  return Spawn(nullptr, search_path, args, out, err, extra_fds);
}

base::Result<pid_t> SpawnProcessAt(const std::string& exec_path,
                                   const std::vector<std::string>& args, int out, int err,
                                   const std::vector<int>& extra_fds) {
  return Spawn(exec_path.c_str(), false, args, out, err, extra_fds);
}

base::Result<CommandOutput> RunCapture(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe2"));
  UniqueFd out_rd(out_pipe[0]), out_wr(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe2"));
  UniqueFd err_rd(err_pipe[0]), err_wr(err_pipe[1]);
  pid_t pid = TRY(SpawnProcess(args, out_wr.get(), err_wr.get()));
  out_wr.Reset();
  err_wr.Reset();
  CommandOutput o;
  // Stdout is read to its end first: callers run commands that write little to stderr.
  o.out = ReadFd(out_rd.get()).value_or("");
  o.err = ReadFd(err_rd.get()).value_or("");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

}  // namespace berth::sys
