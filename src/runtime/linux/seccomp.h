// Seccomp: compiles an OCI `linux.seccomp` profile into a classic BPF program with libseccomp,
// caches compiled programs on disk, and loads a program into the calling thread right before
// execve. Compiling (~10 ms for a Docker-sized profile here) happens in the runtime before clone;
// the child only makes the one seccomp(2) call.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "sys/unique_fd.h"

namespace berth::runtime::linux {

// A ready-to-load program: what seccomp(SECCOMP_SET_MODE_FILTER, flags, {program}) takes.
struct CompiledFilter {
  // Host-endian instructions: an ENOSYS stub (see CompileSeccomp) followed by libseccomp's
  // exported program.
  std::vector<sock_filter> program;
  // SECCOMP_FILTER_FLAG_* for seccomp(2): from the profile's flags, plus NEW_LISTENER when any
  // rule uses SCMP_ACT_NOTIFY.
  unsigned int flags = 0;

  bool NeedsListener() const;
};

// Compiles a profile. Semantics follow runc 1.1:
//  - actions: SCMP_ACT_KILL (= KILL_THREAD), KILL_THREAD, KILL_PROCESS, TRAP, ERRNO and TRACE
//    (errnoRet, default EPERM), ALLOW, LOG, NOTIFY (needs listenerPath; never as the default).
//    errnoRet on any other action is an error. A rule whose action equals the default is skipped.
//  - args: SCMP_CMP_NE/LT/LE/EQ/GE/GT/MASKED_EQ (valueTwo is the datum, value the mask); index
//    0..5. The args of one entry are ANDed in one rule, unless two name the same index: then
//    each arg becomes its own rule (ORed), as runc does. Several entries may name one syscall.
//  - names libseccomp does not know on this host are skipped (logged at debug level).
//  - architectures "SCMP_ARCH_X86_64"...; the native one is always included.
//  - flags SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW.
//  - unless the default action is ALLOW/LOG/TRACE or already ERRNO(ENOSYS), a stub is
//    prepended that returns ENOSYS for native (x86_64, and x32 if listed) syscall numbers above
//    the highest one the profile names, so that syscalls newer than the profile make libc fall
//    back instead of failing with EPERM (runc's patchbpf; x86_64 hosts only).
//  - where that stub is prepended and the kernel has no x32 ABI (KernelRunsX32Syscalls),
//    SCMP_ARCH_X32 is left out of the filter: x32 syscalls get ENOSYS from the stub, as they
//    would from such a kernel, and the program is much shorter.
// Errors: kInvalidArgument naming the bad action/op/arch/flag/index; libseccomp failures as
// errno errors naming the libseccomp call and the syscall. Thread-compatible.
base::Result<CompiledFilter> CompileSeccomp(const oci::Seccomp& profile);

// CompileSeccomp for a kernel that does (or does not) run x32 syscalls (tests).
base::Result<CompiledFilter> CompileSeccompFor(const oci::Seccomp& profile, bool kernel_runs_x32);

// Whether this kernel runs x32 syscalls (x86_64 with CONFIG_X86_X32_ABI, not booted with
// syscall.x32=n): probed once per process with getpid(2) under the x32 bit, and only while the
// process is under no seccomp filter (under one: assumed true). False off x86_64.
bool KernelRunsX32Syscalls();

// CompileSeccomp with an on-disk cache in cache_dir (created 0700 if missing), keyed by the
// SHA-256 of a canonical serialization of the profile, the libseccomp version, the kernel
// release (libseccomp probes the kernel while it builds) and KernelRunsX32Syscalls. A cache file
// is the raw program followed by a 40-byte trailer (magic, SHA-256 of the program); a missing,
// short or corrupt file is recompiled and rewritten atomically. Failing to write the cache is
// logged, not returned. A cached program is trusted as the filter: cache_dir must be private to
// the runtime (a directory or file writable by group/others, or owned by another uid, is
// ignored and the profile compiled afresh).
base::Result<CompiledFilter> CompileSeccompCached(const oci::Seccomp& profile,
                                                  const std::string& cache_dir);

// The cache key for a profile (64 hex characters); exposed for tests and `berth-runtime` debug.
std::string SeccompCacheKey(const oci::Seccomp& profile);

// Loads the filter into the calling thread (all threads with TSYNC). Contract: the caller has
// set no_new_privs (PR_SET_NO_NEW_PRIVS) or holds CAP_SYS_ADMIN in its user namespace; every
// later syscall is filtered, so call it as late as possible before execve. Allocates nothing on
// success. A filter that NeedsListener() is refused here: use LoadSeccompWithListener.
base::Status LoadSeccomp(const CompiledFilter& filter);

// Like LoadSeccomp, also for NOTIFY filters: returns the user-notification listener fd (or an
// invalid fd when the filter has no NOTIFY rule). Handing that fd to listenerPath is the
// caller's job (it needs the container state).
base::Result<sys::UniqueFd> LoadSeccompWithListener(const CompiledFilter& filter);

// Async-signal-safe core of the two above, for code that must not allocate even on failure:
// returns 0 or -errno. *listener_fd gets the listener fd, or -1 when the filter has no NOTIFY
// rule; when listener_fd is null a listener fd is closed (NOTIFY rules then fail with ENOSYS).
int LoadSeccompRaw(const CompiledFilter& filter, int* listener_fd) noexcept;

}  // namespace berth::runtime::linux
