// Docker-format seccomp profiles (rules with includes/excludes by capability, architecture and
// kernel version, plus an archMap) and their resolution into the OCI linux.seccomp a runtime
// compiles. Carries moby's default profile as data. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"

namespace berth::daemon::spec {

struct KernelVersion {
  int major = 0, minor = 0;
  bool operator==(const KernelVersion&) const = default;
  auto operator<=>(const KernelVersion&) const = default;
};

// A rule applies when every non-empty part of `includes` matches (all caps present, the arch
// listed, kernel >= min_kernel) and no part of `excludes` does (any cap present, arch listed,
// kernel >= min_kernel). Arches are Go names: amd64, x86, x32, arm64, arm, ...
struct SeccompFilter {
  std::vector<std::string> caps, arches;
  std::optional<KernelVersion> min_kernel;
  bool operator==(const SeccompFilter&) const = default;
};

struct SeccompRule {
  oci::SeccompSyscall syscall;
  SeccompFilter includes, excludes;
  bool operator==(const SeccompRule&) const = default;
};

struct SeccompArchMap {
  std::string arch;  // SCMP_ARCH_X86_64
  std::vector<std::string> sub_arches;
  bool operator==(const SeccompArchMap&) const = default;
};

struct SeccompProfile {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // either these ...
  std::vector<SeccompArchMap> arch_map;    // ... or a map resolved against the native arch
  std::vector<std::string> flags;
  std::string listener_path, listener_metadata;
  std::vector<SeccompRule> syscalls;
  bool operator==(const SeccompProfile&) const = default;
};

// moby's default profile (profiles/seccomp, 2026): ERRNO(EPERM) by default, an allow list of
// ordinary calls, socket() for every family but AF_ALG and AF_VSOCK, personality() for the five
// harmless personas, clone() without CLONE_NEW* flags, clone3 -> ENOSYS (so libc falls back to
// clone, which the filter can inspect), and groups unlocked by capabilities (CAP_SYS_ADMIN:
// mount, unshare, setns, ...). io_uring and socketcall are not allowed (socketcall would bypass
// the socket family filter).
SeccompProfile DefaultSeccompProfile();

// Parses a Docker/moby profile JSON (`--security-opt seccomp=<file>` content). InvalidArgument for
// bad JSON, wrong types, "name" together with "names", "architectures" together with "archMap".
base::Result<SeccompProfile> ParseSeccompProfile(std::string_view json_text);

// The Go arch name (amd64, arm64, ...) for a uname -m machine name (x86_64, aarch64, ...); names
// that already are Go names pass through.
std::string GoArch(std::string_view machine);

// Resolves a profile for one container as moby's setupSeccomp does: keeps the rules whose
// includes/excludes match `caps` (the container's bounding set, "CAP_" names), `machine` (uname
// -m) and `kernel`, expands the arch map for the native arch, and drops the filter parts.
base::Result<oci::Seccomp> ResolveSeccompProfile(const SeccompProfile& profile,
                                                 const std::vector<std::string>& caps,
                                                 std::string_view machine, KernelVersion kernel);

}  // namespace berth::daemon::spec
