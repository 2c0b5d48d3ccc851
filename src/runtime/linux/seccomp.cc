// Seccomp profile -> BPF (libseccomp), the ENOSYS stub, the on-disk cache and the raw load.
#include "runtime/linux/seccomp.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>

#include "base/log.h"
#include "runtime/linux/sha256.h"
#include "sys/file.h"

namespace berth::runtime::linux {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

bool CompiledFilter::NeedsListener() const {
  return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
}

namespace {

constexpr int kMaxSyscallArgs = 6;
constexpr uint32_t kX32SyscallBit = 0x40000000;

// ---- Profile -> libseccomp values.

struct ActionInfo {
  uint32_t value;
  bool is_notify;
};

Result<ActionInfo> ParseAction(const std::string& name, std::optional<uint32_t> errno_ret,
                               const std::string& where) {
  auto no_errno = [&]() -> Status {
    if (errno_ret)
      return Fail(Error::InvalidArgument(
          fmt::format("{}: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not {}",
                      where, name)));
    return {};
  };
  auto ret = [&]() -> Result<uint32_t> {
    uint32_t e = errno_ret.value_or(EPERM);
    // SECCOMP_RET_DATA is 16 bits; a larger value would silently become another errno.
    if (e > 0xffff)
      return Fail(
          Error::InvalidArgument(fmt::format("{}: errnoRet {} does not fit in 16 bits", where, e)));
    return e;
  };
  if (name == "SCMP_ACT_ERRNO") return ActionInfo{SCMP_ACT_ERRNO(TRY(ret())), false};
  if (name == "SCMP_ACT_TRACE") return ActionInfo{SCMP_ACT_TRACE(TRY(ret())), false};
  uint32_t value;
  bool notify = false;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") {
    value = SCMP_ACT_KILL_THREAD;
  } else if (name == "SCMP_ACT_KILL_PROCESS") {
    value = SCMP_ACT_KILL_PROCESS;
  } else if (name == "SCMP_ACT_TRAP") {
    value = SCMP_ACT_TRAP;
  } else if (name == "SCMP_ACT_ALLOW") {
    value = SCMP_ACT_ALLOW;
  } else if (name == "SCMP_ACT_LOG") {
    value = SCMP_ACT_LOG;
  } else if (name == "SCMP_ACT_NOTIFY") {
    value = SCMP_ACT_NOTIFY;
    notify = true;
  } else {
    return Fail(
        Error::InvalidArgument(fmt::format("{}: unknown seccomp action \"{}\"", where, name)));
  }
  TRY(no_errno());
  return ActionInfo{value, notify};
}

Result<scmp_compare> ParseOp(const std::string& op, const std::string& where) {
  static constexpr std::pair<std::string_view, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, v] : kOps)
    if (op == n) return v;
  return Fail(
      Error::InvalidArgument(fmt::format("{}: unknown seccomp operator \"{}\"", where, op)));
}

Result<uint32_t> ParseArch(const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (name.size() > kPrefix.size() && name.compare(0, kPrefix.size(), kPrefix) == 0) {
    std::string lower = name.substr(kPrefix.size());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    token = seccomp_arch_resolve_name(lower.c_str());
  }
  if (token == 0)
    return Fail(Error::InvalidArgument(fmt::format("unknown seccomp architecture \"{}\"", name)));
  return token;
}

// The SECCOMP_FILTER_FLAG_* bits a profile asks for (validating names), without libseccomp.
Result<unsigned int> ProfileFlags(const oci::Seccomp& profile) {
  unsigned int flags = 0;
  for (const auto& f : profile.flags) {
    if (f == "SECCOMP_FILTER_FLAG_TSYNC")
      flags |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (f == "SECCOMP_FILTER_FLAG_LOG")
      flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else
      return Fail(Error::InvalidArgument(fmt::format("unsupported seccomp flag \"{}\"", f)));
  }
  for (const auto& s : profile.syscalls) {
    if (s.action == "SCMP_ACT_NOTIFY") {
      flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      break;
    }
  }
  // The kernel refuses TSYNC with NEW_LISTENER (it could not say which thread failed to sync)
  // unless TSYNC_ESRCH is set too.
  if ((flags & SECCOMP_FILTER_FLAG_TSYNC) && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
    flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  return flags;
}

Status SetFlagAttributes(scmp_filter_ctx ctx, const oci::Seccomp& profile) {
  for (const auto& f : profile.flags) {
    scmp_filter_attr attr;
    if (f == "SECCOMP_FILTER_FLAG_TSYNC")
      attr = SCMP_FLTATR_CTL_TSYNC;
    else if (f == "SECCOMP_FILTER_FLAG_LOG")
      attr = SCMP_FLTATR_CTL_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
      attr = SCMP_FLTATR_CTL_SSB;
    else
      return Fail(Error::InvalidArgument(fmt::format("unsupported seccomp flag \"{}\"", f)));
    // libseccomp probes the kernel here; we load the program ourselves, so this is the check
    // that the flag is supported by this kernel and libseccomp.
    int rc = seccomp_attr_set(ctx, attr, 1);
    if (rc < 0)
      return Fail(Error::FromErrno(
          -rc, fmt::format("seccomp flag {} is not supported here: seccomp_attr_set", f)));
  }
  return {};
}

// Owns a libseccomp context.
struct FilterCtx {
  scmp_filter_ctx ctx = nullptr;
  ~FilterCtx() {
    if (ctx) seccomp_release(ctx);
  }
};

Result<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx ctx) {
  int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Fail(Error::FromErrno(errno, "memfd_create"));
  sys::UniqueFd memfd(fd);
  int rc = seccomp_export_bpf(ctx, memfd.get());
  if (rc < 0) return Fail(Error::FromErrno(-rc, "seccomp_export_bpf"));
  if (lseek(memfd.get(), 0, SEEK_SET) < 0) return Fail(Error::FromErrno(errno, "lseek memfd"));
  std::string bytes = TRY_CTX(sys::ReadFd(memfd.get()), "read exported seccomp program");
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0)
    return Fail(Error::Internal(
        fmt::format("seccomp_export_bpf wrote {} bytes, not whole instructions", bytes.size())));
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.data(), bytes.size());
  return program;
}

bool IsPermissive(uint32_t action) {
  // TRACE counts as permissive (runc): a tracer should handle new syscalls itself.
  return action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG ||
         (action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_TRACE;
}

// Whether EnosysStub bounds the native syscall numbers for this default action.
bool HasEnosysStub(uint32_t default_action) {
  return !IsPermissive(default_action) && default_action != SCMP_ACT_ERRNO(ENOSYS);
}

// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf), for the native x86_64 arch only:
// syscalls numbered above the highest one the profile names return ENOSYS instead of the
// default action, so that libc falls back from syscalls newer than the profile (clone3, ...).
// x32 syscalls share AUDIT_ARCH_X86_64 and carry bit 30 in the number; they get their own
// bound when x32 is in the filter, all of them return ENOSYS when x32 was left out of the
// filter for a kernel without the x32 ABI (`x32_dropped`: the kernel's own answer), and
// otherwise they go to libseccomp's program untouched (which applies its bad-arch action).
std::vector<sock_filter> EnosysStub(const oci::Seccomp& profile, uint32_t default_action,
                                    bool has_x32, bool x32_dropped) {
#if defined(__x86_64__)
  if (!HasEnosysStub(default_action)) return {};
  std::optional<uint32_t> max64, max32;
  for (const auto& entry : profile.syscalls) {
    for (const auto& name : entry.names) {
      int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
      // Negative numbers are libseccomp pseudo-syscalls that do not exist on this arch.
      if (nr >= 0 && (!max64 || static_cast<uint32_t>(nr) > *max64)) max64 = nr;
      if (has_x32) {
        nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, name.c_str());
        if (nr >= 0 && (static_cast<uint32_t>(nr) & kX32SyscallBit) &&
            (!max32 || static_cast<uint32_t>(nr) > *max32))
          max32 = nr;
      }
    }
  }
  if (!max64 && !max32 && !x32_dropped) return {};
  constexpr uint32_t kArchOffset = offsetof(struct seccomp_data, arch);
  constexpr uint32_t kNrOffset = offsetof(struct seccomp_data, nr);
  constexpr uint32_t kEnosys = SECCOMP_RET_ERRNO | ENOSYS;
  // An unsigned "nr > bound" that can never be true, for a mode without a bound; every x32
  // number (bit 30 set) is above 0.
  const uint32_t bound64 = max64.value_or(0xffffffff);
  const uint32_t bound32 = x32_dropped ? 0 : max32.value_or(0xffffffff);
  // Layout (jumps are relative to the next instruction; "main" is libseccomp's program):
  //   0: ld [arch]
  //   1: jeq AUDIT_ARCH_X86_64, 0, main        -> 7
  //   2: ld [nr]
  //   3: jset X32_BIT, 0, 1                     x32 -> 4, x86_64 -> 5
  //   4: jgt bound32, enosys, main              -> 6 / 7
  //   5: jgt bound64, enosys, main              -> 6 / 7
  //   6: ret ERRNO(ENOSYS)
  //   7: main...
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, 0, 1),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, bound32, 1, 2),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, bound64, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, kEnosys),
  };
#else
  return {};
#endif
}

// ---- Cache file: program bytes, then magic and the SHA-256 of the program bytes.
constexpr std::string_view kCacheMagic = "BRTHBPF1";
constexpr size_t kCacheTrailer = 8 + 32;

std::string EncodeCacheFile(const std::vector<sock_filter>& program) {
  std::string out(reinterpret_cast<const char*>(program.data()),
                  program.size() * sizeof(sock_filter));
  auto digest = Sha256Of(out);
  out.append(kCacheMagic);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

std::optional<std::vector<sock_filter>> DecodeCacheFile(std::string_view data) {
  if (data.size() < kCacheTrailer + sizeof(sock_filter)) return std::nullopt;
  std::string_view body = data.substr(0, data.size() - kCacheTrailer);
  std::string_view trailer = data.substr(body.size());
  if (body.size() % sizeof(sock_filter) != 0) return std::nullopt;
  if (body.size() / sizeof(sock_filter) > BPF_MAXINSNS) return std::nullopt;
  if (trailer.substr(0, kCacheMagic.size()) != kCacheMagic) return std::nullopt;
  auto digest = Sha256Of(body);
  if (std::memcmp(digest.data(), trailer.data() + kCacheMagic.size(), digest.size()) != 0)
    return std::nullopt;
  std::vector<sock_filter> program(body.size() / sizeof(sock_filter));
  std::memcpy(program.data(), body.data(), body.size());
  return program;
}

// Length-prefixed, so that no two different profiles serialize alike.
void AppendField(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out.append(s);
  out += ';';
}
void AppendField(std::string& out, uint64_t v) { AppendField(out, std::to_string(v)); }
void AppendField(std::string& out, const std::optional<uint32_t>& v) {
  AppendField(out, v ? std::to_string(*v) : std::string("-"));
}

}  // namespace

bool KernelRunsX32Syscalls() {
#if defined(__x86_64__)
  static const bool runs = [] {
    // Under a seccomp filter (a nested engine's, a caller's) the probe could meet a bad-arch
    // kill: assume the ABI is there, which keeps x32 in the filter as the profile says.
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) return true;
    long rc = syscall(kX32SyscallBit | __NR_getpid);
    return !(rc < 0 && errno == ENOSYS);
  }();
  return runs;
#else
  return false;
#endif
}

Result<CompiledFilter> CompileSeccomp(const oci::Seccomp& profile) {
  return CompileSeccompFor(profile, KernelRunsX32Syscalls());
}

Result<CompiledFilter> CompileSeccompFor(const oci::Seccomp& profile, bool kernel_runs_x32) {
  CompiledFilter out;
  out.flags = TRY(ProfileFlags(profile));

  const ActionInfo def = TRY(ParseAction(profile.default_action, profile.default_errno_ret,
                                         "linux.seccomp.defaultAction"));
  if (def.is_notify)
    return Fail(Error::InvalidArgument(
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"));

  FilterCtx f;
  f.ctx = seccomp_init(def.value);
  if (!f.ctx)
    return Fail(Error::Internal(
        fmt::format("seccomp_init with default action {} failed", profile.default_action)));
  // no_new_privs is the caller's decision (process.noNewPrivileges); we never call
  // seccomp_load, but keep the context honest for anyone exporting it.
  seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 0);

  bool has_x32 = false, x32_dropped = false;
  for (const auto& name : profile.architectures) {
    uint32_t token = TRY(ParseArch(name));
    if (token == SCMP_ARCH_X32) {
      // Without the x32 ABI the kernel answers every x32 syscall with ENOSYS; where the stub is
      // there anyway it gives that answer instead, and a large filter is a third shorter
      // (Docker's profile: 1271 -> 898 instructions, whose load, JIT compile included, is
      // ~0.2 ms less here). Under a permissive default the x32 part is small; it stays.
      if (!kernel_runs_x32 && HasEnosysStub(def.value)) {
        x32_dropped = true;
        continue;
      }
      has_x32 = true;
    }
    int rc = seccomp_arch_add(f.ctx, token);
    if (rc < 0 && rc != -EEXIST)
      return Fail(Error::FromErrno(-rc, fmt::format("seccomp_arch_add {}", name)));
  }
  TRY(SetFlagAttributes(f.ctx, profile));
  // libseccomp's binary-tree layout: far shorter runs for big profiles. libseccomp <= 2.5.4
  // misbehaves with it on tiny ones, hence runc's threshold (runc counts syscall names).
  size_t names = 0;
  for (const auto& entry : profile.syscalls) names += entry.names.size();
  if (names > 32) seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const auto& entry = profile.syscalls[i];
    const std::string where = fmt::format("linux.seccomp.syscalls[{}]", i);
    const ActionInfo act = TRY(ParseAction(entry.action, entry.errno_ret, where + ".action"));
    if (act.is_notify) {
      if (profile.listener_path.empty())
        return Fail(Error::InvalidArgument(
            fmt::format("{}: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath", where)));
      for (const auto& name : entry.names) {
        // The init reports back to the runtime with write(2) after loading the filter; a
        // notified write would wait for a listener that never gets the fd (runc has the same
        // rule).
        if (name == "write")
          return Fail(Error::InvalidArgument(
              fmt::format("{}: SCMP_ACT_NOTIFY cannot be used for the write syscall", where)));
      }
    }
    std::vector<scmp_arg_cmp> conds;
    int count[kMaxSyscallArgs] = {};
    bool same_index_twice = false;
    for (size_t j = 0; j < entry.args.size(); ++j) {
      const auto& a = entry.args[j];
      const std::string awhere = fmt::format("{}.args[{}]", where, j);
      if (a.index >= kMaxSyscallArgs)
        return Fail(Error::InvalidArgument(
            fmt::format("{}.index: {} is out of range (0-5)", awhere, a.index)));
      scmp_compare op = TRY(ParseOp(a.op, awhere + ".op"));
      if (++count[a.index] > 1) same_index_twice = true;
      // For MASKED_EQ libseccomp takes (mask, datum): OCI's value is the mask, valueTwo the datum.
      conds.push_back(
          scmp_arg_cmp{a.index, op, a.value, op == SCMP_CMP_MASKED_EQ ? a.value_two : 0});
    }
    // libseccomp cannot AND two conditions on one argument; runc then adds one rule per
    // condition (ORed), and profiles (Docker's personality list) are written for that.
    if (act.value == def.value) continue;  // redundant, and libseccomp would refuse it
    for (const auto& name : entry.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        base::LogDebug("seccomp: syscall \"{}\" is unknown to libseccomp here; rule ignored", name);
        continue;
      }
      auto add = [&](unsigned int n, const scmp_arg_cmp* c) -> Status {
        int rc = seccomp_rule_add_array(f.ctx, act.value, nr, n, c);
        if (rc < 0)
          return Fail(Error::FromErrno(
              -rc, fmt::format("{}: seccomp_rule_add for syscall \"{}\"", where, name)));
        return {};
      };
      if (same_index_twice) {
        for (const auto& c : conds) TRY(add(1, &c));
      } else {
        TRY(add(static_cast<unsigned int>(conds.size()), conds.empty() ? nullptr : conds.data()));
      }
    }
  }

  std::vector<sock_filter> body = TRY(ExportBpf(f.ctx));
  out.program = EnosysStub(profile, def.value, has_x32, x32_dropped);
  out.program.insert(out.program.end(), body.begin(), body.end());
  if (out.program.size() > BPF_MAXINSNS)
    return Fail(Error::InvalidArgument(
        fmt::format("seccomp profile compiles to {} BPF instructions; the kernel takes at most {}",
                    out.program.size(), BPF_MAXINSNS)));
  return out;
}

std::string SeccompCacheKey(const oci::Seccomp& profile) {
  std::string s;
  AppendField(s, "berth-seccomp-cache-v3");
  const scmp_version* v = seccomp_version();
  AppendField(s, fmt::format("libseccomp {}.{}.{}", v->major, v->minor, v->micro));
  // libseccomp probes the kernel (API level) when it builds a program.
  struct utsname u;
  if (uname(&u) == 0) {
    AppendField(s, u.release);
    AppendField(s, u.machine);
  }
  // A boot option (syscall.x32=) decides this, not the release.
  AppendField(s, KernelRunsX32Syscalls() ? "x32" : "no-x32");
  AppendField(s, profile.default_action);
  AppendField(s, profile.default_errno_ret);
  AppendField(s, profile.architectures.size());
  for (const auto& a : profile.architectures) AppendField(s, a);
  AppendField(s, profile.flags.size());
  for (const auto& fl : profile.flags) AppendField(s, fl);
  AppendField(s, profile.listener_path);
  AppendField(s, profile.listener_metadata);
  AppendField(s, profile.syscalls.size());
  for (const auto& sc : profile.syscalls) {
    AppendField(s, sc.names.size());
    for (const auto& n : sc.names) AppendField(s, n);
    AppendField(s, sc.action);
    AppendField(s, sc.errno_ret);
    AppendField(s, sc.args.size());
    for (const auto& a : sc.args) {
      AppendField(s, a.index);
      AppendField(s, a.value);
      AppendField(s, a.value_two);
      AppendField(s, a.op);
    }
  }
  auto digest = Sha256Of(s);
  std::string hex;
  hex.reserve(64);
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

namespace {
// A cached program is loaded as the container's filter, so only trust files and a directory
// that nobody but us could have written.
bool TrustedByUs(const struct stat& st) {
  return st.st_uid == geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

std::optional<std::vector<sock_filter>> ReadCacheFile(const std::string& path) {
  auto fd = sys::Open(path, O_RDONLY | O_NOFOLLOW);
  if (!fd) {
    if (fd.error().sys_errno() != ENOENT)
      base::LogDebug("seccomp cache: {}; recompiling", fd.error().message());
    return std::nullopt;
  }
  struct stat st;
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode) || !TrustedByUs(st)) {
    base::LogDebug("seccomp cache: \"{}\" is not a private regular file; recompiling", path);
    return std::nullopt;
  }
  auto data = sys::ReadFd(fd->get());
  if (!data) return std::nullopt;
  auto program = DecodeCacheFile(*data);
  if (!program) base::LogDebug("seccomp cache: \"{}\" is corrupt; recompiling", path);
  return program;
}
}  // namespace

Result<CompiledFilter> CompileSeccompCached(const oci::Seccomp& profile,
                                            const std::string& cache_dir) {
  const std::string path = fmt::format("{}/{}.bpf", cache_dir, SeccompCacheKey(profile));
  struct stat dir_st;
  bool dir_exists = stat(cache_dir.c_str(), &dir_st) == 0;
  if (dir_exists && !(S_ISDIR(dir_st.st_mode) && TrustedByUs(dir_st))) {
    base::LogWarn("seccomp cache: \"{}\" is writable by others; not using it", cache_dir);
    return CompileSeccomp(profile);
  }
  if (dir_exists) {
    if (auto program = ReadCacheFile(path)) {
      CompiledFilter out;
      out.flags = TRY(ProfileFlags(profile));
      out.program = std::move(*program);
      return out;
    }
  }

  CompiledFilter out = TRY(CompileSeccomp(profile));
  auto st = sys::MkdirAll(cache_dir, 0700);
  if (st) st = sys::WriteFileAtomic(path, EncodeCacheFile(out.program), 0600);
  if (!st) base::LogWarn("seccomp cache: not written: {}", st.error().message());
  return out;
}

int LoadSeccompRaw(const CompiledFilter& filter, int* listener_fd) noexcept {
  if (listener_fd) *listener_fd = -1;
  if (filter.program.empty() || filter.program.size() > BPF_MAXINSNS) return -EINVAL;
  sock_fprog prog{static_cast<unsigned short>(filter.program.size()),
                  const_cast<sock_filter*>(filter.program.data())};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter.flags, &prog);
  if (rc < 0) return -errno;
  if (filter.NeedsListener()) {
    if (listener_fd)
      *listener_fd = static_cast<int>(rc);
    else
      close(static_cast<int>(rc));
  }
  return 0;
}

namespace {
Error LoadError(int err, const CompiledFilter& filter) {
  std::string what = fmt::format("seccomp(SECCOMP_SET_MODE_FILTER, flags {:#x}, {} instructions)",
                                 filter.flags, filter.program.size());
  if (err == EACCES) what += " without no_new_privs or CAP_SYS_ADMIN";
  return Error::FromErrno(err, std::move(what)).Context("load seccomp filter");
}
}  // namespace

Status LoadSeccomp(const CompiledFilter& filter) {
  if (filter.NeedsListener())
    return Fail(Error::InvalidArgument(
        "load seccomp filter: it has SCMP_ACT_NOTIFY rules; use LoadSeccompWithListener"));
  int rc = LoadSeccompRaw(filter, nullptr);
  if (rc < 0) return Fail(LoadError(-rc, filter));
  return {};
}

Result<sys::UniqueFd> LoadSeccompWithListener(const CompiledFilter& filter) {
  int fd = -1;
  int rc = LoadSeccompRaw(filter, &fd);
  if (rc < 0) return Fail(LoadError(-rc, filter));
  return sys::UniqueFd(fd);
}

}  // namespace berth::runtime::linux
