// Tests for seccomp profile compilation, the ENOSYS stub, the cache and loading. Every filter is
// loaded in a forked child, never in the test process.
#include "runtime/linux/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sys/file.h"

namespace berth::runtime::linux {
namespace {

using Values = std::array<long, 8>;

struct Outcome {
  int status = 0;       // waitpid status
  bool loaded = false;  // the filter loaded and the body ran to the end
  long load_rc = 0;     // LoadSeccompRaw's result when it failed
  Values values{};
};

// A syscall's result as the kernel gave it: the value or -errno.
template <typename... Args>
long Sys(long nr, Args... args) {
  long r = syscall(nr, args...);
  return r < 0 ? -errno : r;
}

// Forks; the child sets no_new_privs, loads the filter, runs body(values) and sends the values
// back. body must use only syscalls the profile lets through (and must not allocate).
template <typename Body>
Outcome RunFiltered(const CompiledFilter& filter, Body body) {
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // KILL_PROCESS and TRAP would dump core
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    Values v{};
    int rc = LoadSeccompRaw(filter, nullptr);
    if (rc < 0) {
      v[0] = rc;
      (void)!write(p[1], "E", 1);
      (void)!write(p[1], v.data(), sizeof v);
      _exit(2);
    }
    body(v);
    (void)!write(p[1], "V", 1);
    (void)!write(p[1], v.data(), sizeof v);
    _exit(0);
  }
  close(p[1]);
  Outcome out;
  char tag = 0;
  if (read(p[0], &tag, 1) == 1) {
    Values v{};
    EXPECT_EQ(read(p[0], v.data(), sizeof v), static_cast<ssize_t>(sizeof v));
    if (tag == 'V') {
      out.loaded = true;
      out.values = v;
    } else {
      out.load_rc = v[0];
    }
  }
  close(p[0]);
  EXPECT_EQ(waitpid(pid, &out.status, 0), pid);
  return out;
}

// What every test profile lets through so that the child can report and exit (and, under
// ASan/UBSan, so that the sanitizer runtime can map memory and print).
oci::SeccompSyscall Essentials() {
  return {{"write", "exit_group", "exit", "rt_sigreturn", "mmap", "munmap", "mprotect", "madvise",
           "rt_sigprocmask", "sigaltstack"},
          "SCMP_ACT_ALLOW",
          std::nullopt,
          {}};
}

oci::Seccomp Profile(std::string default_action = "SCMP_ACT_ERRNO") {
  oci::Seccomp p;
  p.default_action = std::move(default_action);
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  p.syscalls.push_back(Essentials());
  return p;
}

oci::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                         std::vector<oci::SeccompArg> args = {},
                         std::optional<uint32_t> errno_ret = std::nullopt) {
  return {std::move(names), std::move(action), errno_ret, std::move(args)};
}

CompiledFilter MustCompile(const oci::Seccomp& p) {
  auto f = CompileSeccomp(p);
  EXPECT_TRUE(f) << f.error().message();
  return f ? *f : CompiledFilter{};
}

void ExpectExitedCleanly(const Outcome& o) {
  EXPECT_TRUE(o.loaded) << "load rc " << o.load_rc;
  EXPECT_TRUE(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) << "status " << o.status;
}

// Loads f in a child: getpid must go through and getppid fail with EPERM.
void ExpectGetpidAllowedGetppidRefused(const CompiledFilter& f) {
  auto o = RunFiltered(f, [](Values& v) {
    v[0] = Sys(SYS_getpid);
    v[1] = Sys(SYS_getppid);
  });
  ExpectExitedCleanly(o);
  EXPECT_GT(o.values[0], 0);
  EXPECT_EQ(o.values[1], -EPERM);
}

std::string CompileError(const oci::Seccomp& p) {
  auto f = CompileSeccomp(p);
  EXPECT_FALSE(f);
  return f ? std::string() : f.error().message();
}

TEST(SeccompTest, DefaultErrnoBlocksAndAllowLetsThrough) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW"));
  auto f = MustCompile(p);
  EXPECT_EQ(f.flags, 0u);
  ExpectGetpidAllowedGetppidRefused(f);
}

TEST(SeccompTest, ErrnoRetOnRuleAndDefault) {
  auto p = Profile();
  p.default_errno_ret = EACCES;
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_ERRNO", {}, EXDEV));
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ERRNO"));  // errnoRet absent: EPERM
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_getppid);
    v[1] = Sys(SYS_getuid);
    v[2] = Sys(SYS_getpid);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -EXDEV);
  EXPECT_EQ(o.values[1], -EACCES);
  EXPECT_EQ(o.values[2], -EPERM);
}

TEST(SeccompTest, ArgumentConditionsAcrossEntries) {
  // Docker's shape: one entry per allowed personality value.
  auto p = Profile();
  p.syscalls.push_back(
      Rule({"personality"}, "SCMP_ACT_ALLOW", {{0, 0xffffffff, 0, "SCMP_CMP_EQ"}}));
  p.syscalls.push_back(Rule({"personality"}, "SCMP_ACT_ALLOW", {{0, 0, 0, "SCMP_CMP_EQ"}}));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_personality, 0xffffffffUL);
    v[1] = Sys(SYS_personality, 0UL);
    v[2] = Sys(SYS_personality, 8UL);  // PER_LINUX32
  });
  ExpectExitedCleanly(o);
  EXPECT_GE(o.values[0], 0);
  EXPECT_GE(o.values[1], 0);
  EXPECT_EQ(o.values[2], -EPERM);
}

TEST(SeccompTest, SameArgumentTwiceInOneEntryIsOr) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"personality"}, "SCMP_ACT_ALLOW",
                            {{0, 0xffffffff, 0, "SCMP_CMP_EQ"}, {0, 0, 0, "SCMP_CMP_EQ"}}));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_personality, 0xffffffffUL);
    v[1] = Sys(SYS_personality, 0UL);
    v[2] = Sys(SYS_personality, 8UL);
  });
  ExpectExitedCleanly(o);
  EXPECT_GE(o.values[0], 0);
  EXPECT_GE(o.values[1], 0);
  EXPECT_EQ(o.values[2], -EPERM);
}

TEST(SeccompTest, DifferentArgumentsInOneEntryAreAnd) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getpriority"}, "SCMP_ACT_ALLOW",
                            {{0, PRIO_PROCESS, 0, "SCMP_CMP_EQ"}, {1, 0, 0, "SCMP_CMP_EQ"}}));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_getpriority, PRIO_PROCESS, 0);
    v[1] = Sys(SYS_getpriority, PRIO_PGRP, 0);
    v[2] = Sys(SYS_getpriority, PRIO_PROCESS, 1);
  });
  ExpectExitedCleanly(o);
  EXPECT_GE(o.values[0], 0);
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_EQ(o.values[2], -EPERM);
}

TEST(SeccompTest, MaskedEq) {
  // Allow umask only when the owner bits are clear: (mask & 0700) == 0.
  auto p = Profile();
  p.syscalls.push_back(Rule({"umask"}, "SCMP_ACT_ALLOW", {{0, 0700, 0, "SCMP_CMP_MASKED_EQ"}}));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_umask, 022);
    v[1] = Sys(SYS_umask, 0700);
    v[2] = Sys(SYS_umask, 0100);
  });
  ExpectExitedCleanly(o);
  EXPECT_GE(o.values[0], 0);
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_EQ(o.values[2], -EPERM);
}

TEST(SeccompTest, EveryComparisonOperator) {
  struct Case {
    const char* op;
    bool allowed[3];  // for 021, 022, 023 against datum 022
  };
  const Case cases[] = {
      {"SCMP_CMP_NE", {true, false, true}}, {"SCMP_CMP_LT", {true, false, false}},
      {"SCMP_CMP_LE", {true, true, false}}, {"SCMP_CMP_EQ", {false, true, false}},
      {"SCMP_CMP_GE", {false, true, true}}, {"SCMP_CMP_GT", {false, false, true}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.op);
    auto p = Profile();
    p.syscalls.push_back(Rule({"umask"}, "SCMP_ACT_ALLOW", {{0, 022, 0, c.op}}));
    auto o = RunFiltered(MustCompile(p), [](Values& v) {
      v[0] = Sys(SYS_umask, 021);
      v[1] = Sys(SYS_umask, 022);
      v[2] = Sys(SYS_umask, 023);
    });
    ExpectExitedCleanly(o);
    for (int i = 0; i < 3; ++i) {
      if (c.allowed[i])
        EXPECT_GE(o.values[i], 0) << "value index " << i;
      else
        EXPECT_EQ(o.values[i], -EPERM) << "value index " << i;
    }
  }
}

TEST(SeccompTest, KillActionsEndTheChildWithSigsys) {
  for (const char* action :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"}) {
    SCOPED_TRACE(action);
    auto p = Profile();
    p.syscalls.push_back(Rule({"getppid"}, action));
    auto o = RunFiltered(MustCompile(p), [](Values& v) { v[0] = Sys(SYS_getppid); });
    EXPECT_FALSE(o.loaded);
    EXPECT_EQ(o.load_rc, 0);
    ASSERT_TRUE(WIFSIGNALED(o.status)) << "status " << o.status;
    EXPECT_EQ(WTERMSIG(o.status), SIGSYS);
  }
}

TEST(SeccompTest, TraceWithoutTracerAndLog) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_TRACE", {}, 7));
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_LOG"));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_getppid);
    v[1] = Sys(SYS_getpid);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -ENOSYS);  // the kernel's answer when no tracer is attached
  EXPECT_GT(o.values[1], 0);
}

TEST(SeccompTest, EnosysStubForSyscallsAboveTheHighestNamed) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"clone3"}, "SCMP_ACT_ERRNO", {}, EXDEV));  // 435 on x86_64
  auto f = MustCompile(p);
  auto o = RunFiltered(f, [](Values& v) {
    v[0] = Sys(1000);
    v[1] = Sys(436);  // above the highest named
    v[2] = Sys(434);  // pidfd_open: below the highest named, not named -> default
    v[3] = Sys(SYS_clone3, nullptr, 0);
    v[4] = Sys(SYS_getppid);
  });
  ExpectExitedCleanly(o);
#if defined(__x86_64__)
  EXPECT_EQ(o.values[0], -ENOSYS);
  EXPECT_EQ(o.values[1], -ENOSYS);
#endif
  EXPECT_EQ(o.values[2], -EPERM);
  EXPECT_EQ(o.values[3], -EXDEV);
  EXPECT_EQ(o.values[4], -EPERM);
}

TEST(SeccompTest, NoEnosysStubWithPermissiveDefault) {
  auto p = Profile("SCMP_ACT_ALLOW");
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_ERRNO"));
  auto with_allow = MustCompile(p);
  p.default_action = "SCMP_ACT_ERRNO";
  auto with_errno = MustCompile(p);
#if defined(__x86_64__)
  // The stub is 7 instructions; libseccomp's program itself starts with the same arch load.
  EXPECT_GT(with_errno.program.size(), with_allow.program.size());
#endif
  auto o = RunFiltered(with_allow, [](Values& v) {
    v[0] = Sys(SYS_getppid);
    v[1] = Sys(SYS_getpid);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -EPERM);
  EXPECT_GT(o.values[1], 0);
}

TEST(SeccompTest, X32SyscallsGetTheirOwnBound) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86_64 only";
#endif
  auto p = Profile();
  auto f = MustCompile(p);
  auto o = RunFiltered(f, [](Values& v) {
    // An x32 number above every x32 syscall: ENOSYS from the stub (never EPERM).
    v[0] = Sys(0x40000000L + 1000);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -ENOSYS);
}

TEST(SeccompTest, X32CallsWithoutX32InTheProfileGetTheBadArchAction) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86_64 only";
#endif
  auto p = Profile();
  p.architectures = {"SCMP_ARCH_X86_64"};
  auto o = RunFiltered(MustCompile(p), [](Values& v) { v[0] = Sys(0x40000000L + 1000); });
  // The stub leaves x32 numbers to libseccomp, whose bad-arch action is KILL.
  EXPECT_FALSE(o.loaded);
  ASSERT_TRUE(WIFSIGNALED(o.status)) << "status " << o.status << " value " << o.values[0];
  EXPECT_EQ(WTERMSIG(o.status), SIGSYS);
}

// For a kernel without the x32 ABI a filter with the ENOSYS stub leaves x32 out, shorter, and
// answers every x32 call with ENOSYS as such a kernel does; a permissive one keeps it.
TEST(SeccompTest, X32IsLeftOutForAKernelWithoutIt) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86_64 only";
#endif
  auto p = Profile();
  p.syscalls.push_back(
      Rule({"getpid", "openat", "close", "read", "fstat", "lseek"}, "SCMP_ACT_ALLOW"));
  auto with = CompileSeccompFor(p, true);
  auto without = CompileSeccompFor(p, false);
  ASSERT_TRUE(with && without);
  EXPECT_LT(without->program.size(), with->program.size());
  auto o = RunFiltered(*without, [](Values& v) {
    v[0] = Sys(0x40000000L + SYS_getpid);
    v[1] = Sys(0x40000000L + 1000);
    v[2] = Sys(SYS_getpid);
    v[3] = Sys(SYS_getppid);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -ENOSYS);
  EXPECT_EQ(o.values[1], -ENOSYS);
  EXPECT_GT(o.values[2], 0);
  EXPECT_EQ(o.values[3], -EPERM);

  auto permissive = Profile("SCMP_ACT_ALLOW");
  permissive.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_ERRNO"));
  auto kept = CompileSeccompFor(permissive, false);
  auto full = CompileSeccompFor(permissive, true);
  ASSERT_TRUE(kept && full);
  EXPECT_EQ(kept->program.size(), full->program.size());
}

TEST(SeccompTest, RuleEqualToDefaultIsSkipped) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_ERRNO"));  // EPERM, like the default
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW"));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_getppid);
    v[1] = Sys(SYS_getpid);
  });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -EPERM);
  EXPECT_GT(o.values[1], 0);
}

TEST(SeccompTest, FirstOfTwoIdenticalRulesWins) {
  // libseccomp keeps the first action for an identical rule; runc, adding rules in the same
  // order through the same library, behaves the same.
  for (bool allow_first : {true, false}) {
    auto p = Profile();
    auto allow = Rule({"getpid"}, "SCMP_ACT_ALLOW");
    auto deny = Rule({"getpid"}, "SCMP_ACT_ERRNO", {}, EXDEV);
    p.syscalls.push_back(allow_first ? allow : deny);
    p.syscalls.push_back(allow_first ? deny : allow);
    auto o = RunFiltered(MustCompile(p), [](Values& v) { v[0] = Sys(SYS_getpid); });
    ExpectExitedCleanly(o);
    if (allow_first)
      EXPECT_GT(o.values[0], 0);
    else
      EXPECT_EQ(o.values[0], -EXDEV);
  }
}

TEST(SeccompTest, UnknownSyscallNamesAreSkipped) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"no_such_syscall_berth", "getpid"}, "SCMP_ACT_ALLOW"));
  auto o = RunFiltered(MustCompile(p), [](Values& v) { v[0] = Sys(SYS_getpid); });
  ExpectExitedCleanly(o);
  EXPECT_GT(o.values[0], 0);
}

// How many instructions the program runs for syscall nr on x86_64 with all arguments 0: the
// classic-BPF subset libseccomp emits (loads from seccomp_data, jumps, ret). 0 if the program
// leaves that subset or runs off its end.
size_t StepsFor(const std::vector<sock_filter>& prog, uint32_t nr) {
  uint32_t acc = 0;
  for (size_t pc = 0, steps = 1; pc < prog.size(); ++steps) {
    const sock_filter& in = prog[pc];
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        acc = in.k == 0 ? nr : in.k == 4 ? AUDIT_ARCH_X86_64 : 0;
        ++pc;
        break;
      case BPF_JMP | BPF_JA | BPF_K:
        pc += 1 + in.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (acc == in.k ? in.jt : in.jf);
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += 1 + (acc > in.k ? in.jt : in.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (acc >= in.k ? in.jt : in.jf);
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += 1 + ((acc & in.k) ? in.jt : in.jf);
        break;
      case BPF_RET | BPF_K:
        return steps;
      default:
        return 0;
    }
  }
  return 0;
}

// Big profiles name their syscalls in a few entries (Docker's has ~300 names in its first). A
// linear program walks every name before the last one: each attached filter makes the kernel run
// it for every syscall number (its action cache) and every syscall of the container runs it, so
// such a profile must get libseccomp's binary-tree layout however its names are grouped.
TEST(SeccompTest, ManyNamesInOneEntryUseTheOptimizedLayout) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86_64 only";
#endif
  auto p = Profile();
  std::vector<std::string> names;
  for (long nr = 0; nr < 300; ++nr) {
    char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(nr));
    if (n && nr != SYS_getppid) names.emplace_back(n);
    free(n);
  }
  p.syscalls.push_back(Rule(names, "SCMP_ACT_ALLOW"));
  CompiledFilter f = MustCompile(p);
  size_t worst = 0;
  for (uint32_t nr = 0; nr < 300; ++nr) {
    size_t steps = StepsFor(f.program, nr);
    ASSERT_GT(steps, 0u) << "syscall " << nr;
    worst = std::max(worst, steps);
  }
  EXPECT_LT(worst, 40u) << "a linear program would take ~300 steps";
  ExpectGetpidAllowedGetppidRefused(f);
}

TEST(SeccompTest, LargeProfileUsesTheOptimizedLayout) {
  auto p = Profile();
  const char* names[] = {
      "read",       "open",       "close",       "stat",         "fstat",         "lstat",
      "poll",       "lseek",      "mmap",        "mprotect",     "munmap",        "brk",
      "ioctl",      "pread64",    "pwrite64",    "readv",        "writev",        "access",
      "pipe",       "select",     "sched_yield", "mremap",       "msync",         "mincore",
      "madvise",    "dup",        "dup2",        "pause",        "nanosleep",     "getitimer",
      "alarm",      "setitimer",  "getpid",      "sendfile",     "socket",        "connect",
      "accept",     "sendto",     "recvfrom",    "sendmsg",      "recvmsg",       "shutdown",
      "bind",       "listen",     "getsockname", "getpeername",  "socketpair",    "setsockopt",
      "getsockopt", "clone",      "fork",        "vfork",        "execve",        "wait4",
      "kill",       "uname",      "fcntl",       "flock",        "fsync",         "fdatasync",
      "openat",     "newfstatat", "getrandom",   "rt_sigaction", "rt_sigprocmask"};
  for (const char* n : names) p.syscalls.push_back(Rule({n}, "SCMP_ACT_ALLOW"));
  auto o = RunFiltered(MustCompile(p), [](Values& v) {
    v[0] = Sys(SYS_getpid);
    v[1] = Sys(SYS_getppid);
    v[2] = Sys(SYS_getrandom, nullptr, 0, 0);
  });
  ExpectExitedCleanly(o);
  EXPECT_GT(o.values[0], 0);
  EXPECT_EQ(o.values[1], -EPERM);
  EXPECT_EQ(o.values[2], 0);
}

TEST(SeccompTest, ErrorsNameTheCulprit) {
  auto p = Profile();
  p.default_action = "SCMP_ACT_BOGUS";
  EXPECT_NE(CompileError(p).find("SCMP_ACT_BOGUS"), std::string::npos);

  p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_FROB"));
  auto msg = CompileError(p);
  EXPECT_NE(msg.find("SCMP_ACT_FROB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("syscalls[1]"), std::string::npos) << msg;

  p = Profile();
  p.syscalls.push_back(Rule({"umask"}, "SCMP_ACT_ALLOW", {{0, 1, 0, "SCMP_CMP_ALMOST"}}));
  msg = CompileError(p);
  EXPECT_NE(msg.find("SCMP_CMP_ALMOST"), std::string::npos) << msg;

  p = Profile();
  p.syscalls.push_back(Rule({"umask"}, "SCMP_ACT_ALLOW", {{6, 1, 0, "SCMP_CMP_EQ"}}));
  msg = CompileError(p);
  EXPECT_NE(msg.find("index"), std::string::npos) << msg;

  p = Profile();
  p.architectures.push_back("SCMP_ARCH_VAX");
  msg = CompileError(p);
  EXPECT_NE(msg.find("SCMP_ARCH_VAX"), std::string::npos) << msg;

  p = Profile();
  p.flags.push_back("SECCOMP_FILTER_FLAG_BOGUS");
  msg = CompileError(p);
  EXPECT_NE(msg.find("SECCOMP_FILTER_FLAG_BOGUS"), std::string::npos) << msg;

  p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW", {}, EPERM));
  msg = CompileError(p);
  EXPECT_NE(msg.find("errnoRet"), std::string::npos) << msg;

  p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_NOTIFY"));
  msg = CompileError(p);
  EXPECT_NE(msg.find("listenerPath"), std::string::npos) << msg;

  p = Profile("SCMP_ACT_NOTIFY");
  p.listener_path = "/run/agent.sock";
  msg = CompileError(p);
  EXPECT_NE(msg.find("default action"), std::string::npos) << msg;
  EXPECT_EQ(CompileSeccomp(p).error().code(), base::ErrorCode::kInvalidArgument);
}

TEST(SeccompTest, FlagsAreKept) {
  auto p = Profile();
  p.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto f = MustCompile(p);
  EXPECT_EQ(f.flags,
            SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  auto o = RunFiltered(f, [](Values& v) { v[0] = Sys(SYS_getppid); });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -EPERM);
}

TEST(SeccompTest, NotifyRoundTrip) {
  auto p = Profile();
  p.listener_path = "/run/agent.sock";
  p.syscalls.push_back(Rule({"sendmsg"}, "SCMP_ACT_ALLOW"));
  p.syscalls.push_back(Rule({"getppid"}, "SCMP_ACT_NOTIFY"));
  auto f = MustCompile(p);
  EXPECT_TRUE(f.NeedsListener());
  auto refused = LoadSeccomp(f);  // refused before any syscall: safe in the test process
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("LoadSeccompWithListener"), std::string::npos);

  // The child loads the filter, passes the listener fd over a socket and calls getppid; we play
  // the agent and answer 4242.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int fd = -1;
    long rc = LoadSeccompRaw(f, &fd);
    char data = rc == 0 ? 'F' : 'E';
    iovec iov = {&data, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    if (sendmsg(sv[1], &msg, 0) != 1) _exit(3);
    if (rc != 0) _exit(2);
    long r = Sys(SYS_getppid);
    (void)!write(sv[1], &r, sizeof r);
    _exit(0);
  }
  close(sv[1]);
  char data = 0;
  iovec iov = {&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ASSERT_EQ(recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC), 1);
  ASSERT_EQ(data, 'F');
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  ASSERT_NE(c, nullptr);
  int listener_fd = -1;
  std::memcpy(&listener_fd, CMSG_DATA(c), sizeof listener_fd);
  sys::UniqueFd listener(listener_fd);

  seccomp_notif req = {};
  ASSERT_EQ(ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &req), 0) << strerror(errno);
  EXPECT_EQ(req.data.nr, SYS_getppid);
  EXPECT_EQ(static_cast<pid_t>(req.pid), pid);
  seccomp_notif_resp resp = {};
  resp.id = req.id;
  resp.val = 4242;
  ASSERT_EQ(ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);

  long r = 0;
  EXPECT_EQ(read(sv[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  EXPECT_EQ(r, 4242);
  close(sv[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(SeccompTest, LoadWithoutNoNewPrivsNeedsCapSysAdmin) {
  auto f = MustCompile(Profile("SCMP_ACT_ALLOW"));
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string msg = "ok";
    // Drop CAP_SYS_ADMIN from the effective set; no_new_privs stays off.
    __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &hdr, data) == 0) {
      data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
      syscall(SYS_capset, &hdr, data);
    }
    auto st = LoadSeccomp(f);
    if (!st) msg = st.error().message();
    (void)!write(p[1], msg.data(), msg.size());
    _exit(0);
  }
  close(p[1]);
  auto msg = sys::ReadFd(p[0]);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(msg);
  EXPECT_NE(msg->find("without no_new_privs or CAP_SYS_ADMIN"), std::string::npos) << *msg;
  EXPECT_NE(msg->find("seccomp(SECCOMP_SET_MODE_FILTER"), std::string::npos) << *msg;
}

class SeccompCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-seccomp-cache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/cache";  // does not exist yet: the cache makes it
  }
  void TearDown() override { (void)sys::RemoveAll(dir_.substr(0, dir_.rfind('/'))); }

  ino_t Inode(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  std::string dir_;
};

bool SameProgram(const CompiledFilter& a, const CompiledFilter& b) {
  return a.flags == b.flags && a.program.size() == b.program.size() &&
         std::memcmp(a.program.data(), b.program.data(), a.program.size() * sizeof(sock_filter)) ==
             0;
}

TEST_F(SeccompCacheTest, HitReturnsIdenticalBytes) {
  auto p = Profile();
  p.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW"));
  auto fresh = MustCompile(p);
  auto first = CompileSeccompCached(p, dir_);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(SameProgram(*first, fresh));
  const std::string file = dir_ + "/" + SeccompCacheKey(p) + ".bpf";
  ino_t ino = Inode(file);
  ASSERT_NE(ino, 0u) << file;

  auto second = CompileSeccompCached(p, dir_);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(SameProgram(*second, fresh));
  EXPECT_EQ(Inode(file), ino) << "a hit must not rewrite the file";

  auto o = RunFiltered(*second, [](Values& v) { v[0] = Sys(SYS_getppid); });
  ExpectExitedCleanly(o);
  EXPECT_EQ(o.values[0], -EPERM);
}

TEST_F(SeccompCacheTest, KeyDependsOnEveryField) {
  auto p = Profile();
  std::string base = SeccompCacheKey(p);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(SeccompCacheKey(p), base);
  auto q = p;
  q.syscalls[0].names.push_back("getpid");
  EXPECT_NE(SeccompCacheKey(q), base);
  q = p;
  q.default_errno_ret = EPERM;
  EXPECT_NE(SeccompCacheKey(q), base);
  q = p;
  q.syscalls.push_back(Rule({"umask"}, "SCMP_ACT_ALLOW", {{0, 1, 2, "SCMP_CMP_MASKED_EQ"}}));
  auto r = q;
  r.syscalls.back().args[0].value_two = 3;
  EXPECT_NE(SeccompCacheKey(q), SeccompCacheKey(r));
  // Field boundaries matter: ["ab","c"] vs ["a","bc"].
  q = p;
  r = p;
  q.syscalls[0].names = {"ab", "c"};
  r.syscalls[0].names = {"a", "bc"};
  EXPECT_NE(SeccompCacheKey(q), SeccompCacheKey(r));
}

TEST_F(SeccompCacheTest, CorruptOrShortFileIsRecompiled) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW"));
  auto fresh = MustCompile(p);
  ASSERT_TRUE(CompileSeccompCached(p, dir_));
  const std::string file = dir_ + "/" + SeccompCacheKey(p) + ".bpf";
  auto good = sys::ReadFile(file);
  ASSERT_TRUE(good);

  std::string flipped = *good;
  flipped[10] ^= 0x40;  // inside the program: a changed jump offset
  std::string short_file = good->substr(0, good->size() - 8);
  std::string whole_insns_only = good->substr(0, good->size() - 40);  // trailer gone
  for (const std::string& bad :
       {flipped, short_file, whole_insns_only, std::string("x"), std::string()}) {
    ASSERT_TRUE(sys::WriteFileAtomic(file, bad));
    auto again = CompileSeccompCached(p, dir_);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_TRUE(SameProgram(*again, fresh));
    auto rewritten = sys::ReadFile(file);
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(*rewritten, *good);
  }
}

TEST_F(SeccompCacheTest, FilesOthersCouldWriteAreNotTrusted) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_ALLOW"));
  ASSERT_TRUE(CompileSeccompCached(p, dir_));
  const std::string file = dir_ + "/" + SeccompCacheKey(p) + ".bpf";
  ASSERT_EQ(chmod(file.c_str(), 0666), 0);
  ino_t ino = Inode(file);
  auto again = CompileSeccompCached(p, dir_);
  ASSERT_TRUE(again);
  EXPECT_NE(Inode(file), ino) << "an untrusted file must be replaced, not used";

  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  ino = Inode(file);
  again = CompileSeccompCached(p, dir_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(SameProgram(*again, MustCompile(p)));
  EXPECT_EQ(Inode(file), ino) << "a world-writable cache dir is neither read nor written";
}

TEST_F(SeccompCacheTest, UnwritableCacheStillCompiles) {
  auto p = Profile();
  auto f = CompileSeccompCached(p, "/proc/berth-no-such-dir/cache");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(SameProgram(*f, MustCompile(p)));
}

TEST_F(SeccompCacheTest, InvalidProfileIsNotCached) {
  auto p = Profile();
  p.syscalls.push_back(Rule({"getpid"}, "SCMP_ACT_FROB"));
  EXPECT_FALSE(CompileSeccompCached(p, dir_));
  EXPECT_FALSE(sys::Exists(dir_ + "/" + SeccompCacheKey(p) + ".bpf"));
}

}  // namespace
}  // namespace berth::runtime::linux
