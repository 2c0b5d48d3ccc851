// moby's default seccomp profile as data, the Docker profile JSON reader, and the per-container
// resolution of includes/excludes into an OCI linux.seccomp.
#include "daemon/spec/seccomp_default.h"

#include <errno.h>
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::daemon::spec {
namespace {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

constexpr uint64_t kAfAlg = 38;
constexpr uint64_t kAfVsock = 40;
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
// CLONE_NEWNET.
constexpr uint64_t kCloneNewMask = 0x7E020000;

// Calls any container may make: no namespace/mount manipulation, no kernel keyring, no module
// loading, no io_uring (its own syscall surface, unfiltered by seccomp), no socketcall (it would
// bypass the socket() family filter on 32-bit x86).
const char* const kAllowed[] = {"accept",
                                "accept4",
                                "access",
                                "adjtimex",
                                "alarm",
                                "bind",
                                "brk",
                                "capget",
                                "capset",
                                "chdir",
                                "chmod",
                                "chown",
                                "chown32",
                                "clock_adjtime",
                                "clock_adjtime64",
                                "clock_getres",
                                "clock_getres_time64",
                                "clock_gettime",
                                "clock_gettime64",
                                "clock_nanosleep",
                                "clock_nanosleep_time64",
                                "close",
                                "close_range",
                                "connect",
                                "copy_file_range",
                                "creat",
                                "dup",
                                "dup2",
                                "dup3",
                                "epoll_create",
                                "epoll_create1",
                                "epoll_ctl",
                                "epoll_ctl_old",
                                "epoll_pwait",
                                "epoll_pwait2",
                                "epoll_wait",
                                "epoll_wait_old",
                                "eventfd",
                                "eventfd2",
                                "execve",
                                "execveat",
                                "exit",
                                "exit_group",
                                "faccessat",
                                "faccessat2",
                                "fadvise64",
                                "fadvise64_64",
                                "fallocate",
                                "fanotify_mark",
                                "fchdir",
                                "fchmod",
                                "fchmodat",
                                "fchmodat2",
                                "fchown",
                                "fchown32",
                                "fchownat",
                                "fcntl",
                                "fcntl64",
                                "fdatasync",
                                "fgetxattr",
                                "flistxattr",
                                "flock",
                                "fork",
                                "fremovexattr",
                                "fsetxattr",
                                "fstat",
                                "fstat64",
                                "fstatat64",
                                "fstatfs",
                                "fstatfs64",
                                "fsync",
                                "ftruncate",
                                "ftruncate64",
                                "futex",
                                "futex_requeue",
                                "futex_time64",
                                "futex_wait",
                                "futex_waitv",
                                "futex_wake",
                                "futimesat",
                                "getcpu",
                                "getcwd",
                                "getdents",
                                "getdents64",
                                "getegid",
                                "getegid32",
                                "geteuid",
                                "geteuid32",
                                "getgid",
                                "getgid32",
                                "getgroups",
                                "getgroups32",
                                "getitimer",
                                "getpeername",
                                "getpgid",
                                "getpgrp",
                                "getpid",
                                "getppid",
                                "getpriority",
                                "getrandom",
                                "getresgid",
                                "getresgid32",
                                "getresuid",
                                "getresuid32",
                                "getrlimit",
                                "get_robust_list",
                                "getrusage",
                                "getsid",
                                "getsockname",
                                "getsockopt",
                                "get_thread_area",
                                "gettid",
                                "gettimeofday",
                                "getuid",
                                "getuid32",
                                "getxattr",
                                "inotify_add_watch",
                                "inotify_init",
                                "inotify_init1",
                                "inotify_rm_watch",
                                "io_cancel",
                                "ioctl",
                                "io_destroy",
                                "io_getevents",
                                "io_pgetevents",
                                "io_pgetevents_time64",
                                "ioprio_get",
                                "ioprio_set",
                                "io_setup",
                                "io_submit",
                                "ipc",
                                "kill",
                                "landlock_add_rule",
                                "landlock_create_ruleset",
                                "landlock_restrict_self",
                                "lchown",
                                "lchown32",
                                "lgetxattr",
                                "link",
                                "linkat",
                                "listen",
                                "listxattr",
                                "llistxattr",
                                "_llseek",
                                "lremovexattr",
                                "lseek",
                                "lsetxattr",
                                "lstat",
                                "lstat64",
                                "madvise",
                                "map_shadow_stack",
                                "membarrier",
                                "memfd_create",
                                "memfd_secret",
                                "mincore",
                                "mkdir",
                                "mkdirat",
                                "mknod",
                                "mknodat",
                                "mlock",
                                "mlock2",
                                "mlockall",
                                "mmap",
                                "mmap2",
                                "mprotect",
                                "mq_getsetattr",
                                "mq_notify",
                                "mq_open",
                                "mq_timedreceive",
                                "mq_timedreceive_time64",
                                "mq_timedsend",
                                "mq_timedsend_time64",
                                "mq_unlink",
                                "mremap",
                                "msgctl",
                                "msgget",
                                "msgrcv",
                                "msgsnd",
                                "msync",
                                "munlock",
                                "munlockall",
                                "munmap",
                                "name_to_handle_at",
                                "nanosleep",
                                "newfstatat",
                                "_newselect",
                                "open",
                                "openat",
                                "openat2",
                                "pause",
                                "pidfd_open",
                                "pidfd_send_signal",
                                "pipe",
                                "pipe2",
                                "pkey_alloc",
                                "pkey_free",
                                "pkey_mprotect",
                                "poll",
                                "ppoll",
                                "ppoll_time64",
                                "prctl",
                                "pread64",
                                "preadv",
                                "preadv2",
                                "prlimit64",
                                "process_mrelease",
                                "pselect6",
                                "pselect6_time64",
                                "pwrite64",
                                "pwritev",
                                "pwritev2",
                                "read",
                                "readahead",
                                "readlink",
                                "readlinkat",
                                "readv",
                                "recv",
                                "recvfrom",
                                "recvmmsg",
                                "recvmmsg_time64",
                                "recvmsg",
                                "remap_file_pages",
                                "removexattr",
                                "rename",
                                "renameat",
                                "renameat2",
                                "restart_syscall",
                                "rmdir",
                                "rseq",
                                "rt_sigaction",
                                "rt_sigpending",
                                "rt_sigprocmask",
                                "rt_sigqueueinfo",
                                "rt_sigreturn",
                                "rt_sigsuspend",
                                "rt_sigtimedwait",
                                "rt_sigtimedwait_time64",
                                "rt_tgsigqueueinfo",
                                "sched_getaffinity",
                                "sched_getattr",
                                "sched_getparam",
                                "sched_get_priority_max",
                                "sched_get_priority_min",
                                "sched_getscheduler",
                                "sched_rr_get_interval",
                                "sched_rr_get_interval_time64",
                                "sched_setaffinity",
                                "sched_setattr",
                                "sched_setparam",
                                "sched_setscheduler",
                                "sched_yield",
                                "seccomp",
                                "select",
                                "semctl",
                                "semget",
                                "semop",
                                "semtimedop",
                                "semtimedop_time64",
                                "send",
                                "sendfile",
                                "sendfile64",
                                "sendmmsg",
                                "sendmsg",
                                "sendto",
                                "setfsgid",
                                "setfsgid32",
                                "setfsuid",
                                "setfsuid32",
                                "setgid",
                                "setgid32",
                                "setgroups",
                                "setgroups32",
                                "setitimer",
                                "setpgid",
                                "setpriority",
                                "setregid",
                                "setregid32",
                                "setresgid",
                                "setresgid32",
                                "setresuid",
                                "setresuid32",
                                "setreuid",
                                "setreuid32",
                                "setrlimit",
                                "set_robust_list",
                                "setsid",
                                "setsockopt",
                                "set_thread_area",
                                "set_tid_address",
                                "setuid",
                                "setuid32",
                                "setxattr",
                                "shmat",
                                "shmctl",
                                "shmdt",
                                "shmget",
                                "shutdown",
                                "sigaltstack",
                                "signalfd",
                                "signalfd4",
                                "sigprocmask",
                                "sigreturn",
                                "socketpair",
                                "splice",
                                "stat",
                                "stat64",
                                "statfs",
                                "statfs64",
                                "statx",
                                "symlink",
                                "symlinkat",
                                "sync",
                                "sync_file_range",
                                "syncfs",
                                "sysinfo",
                                "tee",
                                "tgkill",
                                "time",
                                "timer_create",
                                "timer_delete",
                                "timer_getoverrun",
                                "timer_gettime",
                                "timer_gettime64",
                                "timer_settime",
                                "timer_settime64",
                                "timerfd_create",
                                "timerfd_gettime",
                                "timerfd_gettime64",
                                "timerfd_settime",
                                "timerfd_settime64",
                                "times",
                                "tkill",
                                "truncate",
                                "truncate64",
                                "ugetrlimit",
                                "umask",
                                "uname",
                                "unlink",
                                "unlinkat",
                                "utime",
                                "utimensat",
                                "utimensat_time64",
                                "utimes",
                                "vfork",
                                "vmsplice",
                                "wait4",
                                "waitid",
                                "waitpid",
                                "write",
                                "writev"};

SeccompRule Allow(std::vector<std::string> names) {
  SeccompRule r;
  r.syscall.names = std::move(names);
  r.syscall.action = "SCMP_ACT_ALLOW";
  return r;
}

SeccompRule AllowWithCap(std::vector<std::string> names, std::string cap) {
  SeccompRule r = Allow(std::move(names));
  r.includes.caps = {std::move(cap)};
  return r;
}

SeccompRule AllowOnArches(std::vector<std::string> names, std::vector<std::string> arches) {
  SeccompRule r = Allow(std::move(names));
  r.includes.arches = std::move(arches);
  return r;
}

SeccompRule AllowIfArg(std::string name, uint32_t index, std::string op, uint64_t value,
                       uint64_t value_two = 0) {
  SeccompRule r = Allow({std::move(name)});
  r.syscall.args.push_back(
      {.index = index, .value = value, .value_two = value_two, .op = std::move(op)});
  return r;
}

Result<std::vector<std::string>> StringList(const nlohmann::json& j, const std::string& field) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array())
    return Fail(Error::InvalidArgument(fmt::format("seccomp profile: {}: not an array", field)));
  for (const auto& e : j) {
    if (!e.is_string())
      return Fail(Error::InvalidArgument(fmt::format("seccomp profile: {}: not a string", field)));
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<KernelVersion> ParseKernelVersion(std::string_view s) {
  KernelVersion v;
  if (std::sscanf(std::string(s).c_str(), "%d.%d", &v.major, &v.minor) < 1 || v.major < 0 ||
      v.minor < 0)
    return Fail(
        Error::InvalidArgument(fmt::format("seccomp profile: invalid minKernel \"{}\"", s)));
  return v;
}

Result<SeccompFilter> ParseFilter(const nlohmann::json& j, const std::string& field) {
  SeccompFilter f;
  if (j.is_null()) return f;
  if (!j.is_object())
    return Fail(Error::InvalidArgument(fmt::format("seccomp profile: {}: not an object", field)));
  if (j.contains("caps")) f.caps = TRY(StringList(j["caps"], field + ".caps"));
  if (j.contains("arches")) f.arches = TRY(StringList(j["arches"], field + ".arches"));
  if (j.contains("minKernel") && !j["minKernel"].is_null()) {
    if (!j["minKernel"].is_string())
      return Fail(Error::InvalidArgument(
          fmt::format("seccomp profile: {}.minKernel: not a string", field)));
    f.min_kernel = TRY(ParseKernelVersion(j["minKernel"].get<std::string>()));
  }
  return f;
}

// seccomp arch name for the native arch of a uname -m machine.
std::string NativeScmpArch(std::string_view machine) {
  std::string go = GoArch(machine);
  if (go == "amd64") return "SCMP_ARCH_X86_64";
  if (go == "386") return "SCMP_ARCH_X86";
  if (go == "arm64") return "SCMP_ARCH_AARCH64";
  if (go == "arm") return "SCMP_ARCH_ARM";
  if (go == "s390x") return "SCMP_ARCH_S390X";
  if (go == "ppc64le") return "SCMP_ARCH_PPC64LE";
  if (go == "riscv64") return "SCMP_ARCH_RISCV64";
  if (go == "mips64le") return "SCMP_ARCH_MIPSEL64";
  if (go == "mips64") return "SCMP_ARCH_MIPS64";
  return "";
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string GoArch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686")
    return "386";
  if (machine.rfind("armv", 0) == 0) return "arm";
  return std::string(machine);
}

SeccompProfile DefaultSeccompProfile() {
  SeccompProfile p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.default_errno_ret = EPERM;
  p.arch_map = {
      {"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}},
      {"SCMP_ARCH_MIPS64", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
      {"SCMP_ARCH_MIPS64N32", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}},
      {"SCMP_ARCH_MIPSEL64", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
      {"SCMP_ARCH_MIPSEL64N32", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}},
      {"SCMP_ARCH_S390X", {"SCMP_ARCH_S390"}},
      {"SCMP_ARCH_RISCV64", {}},
  };
  auto& s = p.syscalls;
  s.push_back(Allow({std::begin(kAllowed), std::end(kAllowed)}));
  {
    SeccompRule r = Allow({"process_vm_readv", "process_vm_writev", "ptrace"});
    r.includes.min_kernel = KernelVersion{4, 8};  // older kernels let ptrace bypass seccomp
    s.push_back(std::move(r));
  }
  // socket(): every family but AF_ALG (CVE-2026-31431) and AF_VSOCK. Three rules because
  // conditions on one argument index are ANDed within a rule and runtimes split them.
  s.push_back(AllowIfArg("socket", 0, "SCMP_CMP_LT", kAfAlg));
  s.push_back(AllowIfArg("socket", 0, "SCMP_CMP_EQ", kAfAlg + 1));
  s.push_back(AllowIfArg("socket", 0, "SCMP_CMP_GT", kAfVsock));
  // personality(): PER_LINUX, UNAME26, PER_LINUX32, their combination, and the query value.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    s.push_back(AllowIfArg("personality", 0, "SCMP_CMP_EQ", persona));
  s.push_back(AllowOnArches({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
  s.push_back(AllowOnArches({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                             "breakpoint", "cacheflush", "set_tls"},
                            {"arm", "arm64"}));
  s.push_back(AllowOnArches({"arch_prctl"}, {"amd64", "x32"}));
  s.push_back(AllowOnArches({"modify_ldt"}, {"amd64", "x32", "x86"}));
  s.push_back(AllowOnArches({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
                            {"s390", "s390x"}));
  s.push_back(AllowOnArches({"riscv_flush_icache"}, {"riscv64"}));
  s.push_back(AllowWithCap({"open_by_handle_at"}, "CAP_DAC_READ_SEARCH"));
  s.push_back(
      AllowWithCap({"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
                    "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
                    "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
                    "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
                    "umount",        "umount2",       "unshare"},
                   "CAP_SYS_ADMIN"));
  {
    // clone() without namespace flags; s390 swaps the first two arguments.
    SeccompRule r = AllowIfArg("clone", 0, "SCMP_CMP_MASKED_EQ", kCloneNewMask, 0);
    r.excludes.caps = {"CAP_SYS_ADMIN"};
    r.excludes.arches = {"s390", "s390x"};
    s.push_back(std::move(r));
    SeccompRule r390 = AllowIfArg("clone", 1, "SCMP_CMP_MASKED_EQ", kCloneNewMask, 0);
    r390.includes.arches = {"s390", "s390x"};
    r390.excludes.caps = {"CAP_SYS_ADMIN"};
    s.push_back(std::move(r390));
  }
  {
    // clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes libc fall
    // back to clone(), whose flags the rule above can check.
    SeccompRule r;
    r.syscall.names = {"clone3"};
    r.syscall.action = "SCMP_ACT_ERRNO";
    r.syscall.errno_ret = ENOSYS;
    r.excludes.caps = {"CAP_SYS_ADMIN"};
    s.push_back(std::move(r));
  }
  s.push_back(AllowWithCap({"reboot"}, "CAP_SYS_BOOT"));
  s.push_back(AllowWithCap({"chroot"}, "CAP_SYS_CHROOT"));
  s.push_back(AllowWithCap({"delete_module", "init_module", "finit_module"}, "CAP_SYS_MODULE"));
  s.push_back(AllowWithCap({"acct"}, "CAP_SYS_PACCT"));
  s.push_back(AllowWithCap(
      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
      "CAP_SYS_PTRACE"));
  s.push_back(AllowWithCap({"iopl", "ioperm"}, "CAP_SYS_RAWIO"));
  s.push_back(
      AllowWithCap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, "CAP_SYS_TIME"));
  s.push_back(AllowWithCap({"vhangup"}, "CAP_SYS_TTY_CONFIG"));
  s.push_back(AllowWithCap({"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
                           "CAP_SYS_NICE"));
  s.push_back(AllowWithCap({"syslog"}, "CAP_SYSLOG"));
  s.push_back(AllowWithCap({"bpf"}, "CAP_BPF"));
  s.push_back(AllowWithCap({"perf_event_open"}, "CAP_PERFMON"));
  return p;
}

Result<SeccompProfile> ParseSeccompProfile(std::string_view json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return Fail(Error::InvalidArgument(fmt::format(
        "Error loading seccomp profile: decoding seccomp profile failed: {}", e.what())));
  }
  if (!j.is_object())
    return Fail(Error::InvalidArgument("Error loading seccomp profile: not a JSON object"));
  SeccompProfile p;
  auto str = [&](const nlohmann::json& o, const char* key, std::string& out) -> Status {
    if (!o.contains(key) || o[key].is_null()) return {};
    if (!o[key].is_string())
      return Fail(Error::InvalidArgument(fmt::format("seccomp profile: {}: not a string", key)));
    out = o[key].get<std::string>();
    return {};
  };
  auto errno_ret = [&](const nlohmann::json& o, std::optional<uint32_t>& out,
                       const char* key) -> Status {
    if (!o.contains(key) || o[key].is_null()) return {};
    if (!o[key].is_number_unsigned())
      return Fail(
          Error::InvalidArgument(fmt::format("seccomp profile: {}: not an unsigned int", key)));
    out = o[key].get<uint32_t>();
    return {};
  };
  TRY(str(j, "defaultAction", p.default_action));
  TRY(errno_ret(j, p.default_errno_ret, "defaultErrnoRet"));
  TRY(str(j, "listenerPath", p.listener_path));
  TRY(str(j, "listenerMetadata", p.listener_metadata));
  if (j.contains("architectures"))
    p.architectures = TRY(StringList(j["architectures"], "architectures"));
  if (j.contains("flags")) p.flags = TRY(StringList(j["flags"], "flags"));
  if (j.contains("archMap") && !j["archMap"].is_null()) {
    if (!j["archMap"].is_array())
      return Fail(Error::InvalidArgument("seccomp profile: archMap: not an array"));
    for (const auto& a : j["archMap"]) {
      SeccompArchMap m;
      TRY(str(a, "architecture", m.arch));
      if (a.contains("subArchitectures"))
        m.sub_arches = TRY(StringList(a["subArchitectures"], "archMap.subArchitectures"));
      p.arch_map.push_back(std::move(m));
    }
  }
  if (!p.architectures.empty() && !p.arch_map.empty())
    return Fail(Error::InvalidArgument(
        "Error loading seccomp profile: both 'architectures' and 'archMap' are specified in the "
        "seccomp profile, use either 'architectures' or 'archMap'"));
  if (j.contains("syscalls") && !j["syscalls"].is_null()) {
    if (!j["syscalls"].is_array())
      return Fail(Error::InvalidArgument("seccomp profile: syscalls: not an array"));
    for (const auto& sj : j["syscalls"]) {
      if (!sj.is_object())
        return Fail(Error::InvalidArgument("seccomp profile: syscalls[]: not an object"));
      SeccompRule r;
      std::string name;
      TRY(str(sj, "name", name));
      if (sj.contains("names")) r.syscall.names = TRY(StringList(sj["names"], "syscalls.names"));
      if (!name.empty() && !r.syscall.names.empty())
        return Fail(Error::InvalidArgument(
            "Error loading seccomp profile: 'name' and 'names' were specified in the seccomp "
            "profile, use either 'name' or 'names'"));
      if (!name.empty()) r.syscall.names = {name};
      TRY(str(sj, "action", r.syscall.action));
      TRY(errno_ret(sj, r.syscall.errno_ret, "errnoRet"));
      if (sj.contains("args") && !sj["args"].is_null()) {
        if (!sj["args"].is_array())
          return Fail(Error::InvalidArgument("seccomp profile: syscalls.args: not an array"));
        for (const auto& aj : sj["args"]) {
          oci::SeccompArg arg;
          auto num = [&](const char* key, auto& out) -> Status {
            if (!aj.contains(key) || aj[key].is_null()) return {};
            if (!aj[key].is_number_unsigned())
              return Fail(Error::InvalidArgument(
                  fmt::format("seccomp profile: syscalls.args.{}: not an unsigned int", key)));
            out = aj[key].get<std::decay_t<decltype(out)>>();
            return {};
          };
          TRY(num("index", arg.index));
          TRY(num("value", arg.value));
          TRY(num("valueTwo", arg.value_two));
          TRY(str(aj, "op", arg.op));
          r.syscall.args.push_back(arg);
        }
      }
      if (sj.contains("includes")) r.includes = TRY(ParseFilter(sj["includes"], "includes"));
      if (sj.contains("excludes")) r.excludes = TRY(ParseFilter(sj["excludes"], "excludes"));
      p.syscalls.push_back(std::move(r));
    }
  }
  return p;
}

Result<oci::Seccomp> ResolveSeccompProfile(const SeccompProfile& profile,
                                           const std::vector<std::string>& caps,
                                           std::string_view machine, KernelVersion kernel) {
  if (!profile.architectures.empty() && !profile.arch_map.empty())
    return Fail(Error::InvalidArgument(
        "both 'architectures' and 'archMap' are specified in the seccomp profile, use either "
        "'architectures' or 'archMap'"));
  oci::Seccomp out;
  out.default_action = profile.default_action;
  out.default_errno_ret = profile.default_errno_ret;
  out.flags = profile.flags;
  out.listener_path = profile.listener_path;
  out.listener_metadata = profile.listener_metadata;
  out.architectures = profile.architectures;
  std::string native = NativeScmpArch(machine);
  for (const auto& m : profile.arch_map) {
    if (m.arch != native) continue;
    out.architectures.push_back(m.arch);
    out.architectures.insert(out.architectures.end(), m.sub_arches.begin(), m.sub_arches.end());
  }
  std::string arch = GoArch(machine);
  for (const auto& rule : profile.syscalls) {
    const SeccompFilter& ex = rule.excludes;
    if (Has(ex.arches, arch)) continue;
    if (std::any_of(ex.caps.begin(), ex.caps.end(),
                    [&](const std::string& c) { return Has(caps, c); }))
      continue;
    if (ex.min_kernel && kernel >= *ex.min_kernel) continue;
    const SeccompFilter& in = rule.includes;
    if (!in.arches.empty() && !Has(in.arches, arch)) continue;
    if (!std::all_of(in.caps.begin(), in.caps.end(),
                     [&](const std::string& c) { return Has(caps, c); }))
      continue;
    if (in.min_kernel && kernel < *in.min_kernel) continue;
    if (rule.syscall.names.empty()) continue;
    out.syscalls.push_back(rule.syscall);
  }
  return out;
}

}  // namespace berth::daemon::spec
