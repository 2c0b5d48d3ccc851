// The last steps before a container process execs, shared by create and exec: rlimits, user and
// groups, capabilities, no_new_privs, umask, cwd inside the rootfs, fd hygiene, path lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "runtime/linux/seccomp.h"

namespace berth::runtime::linux {

// Applies process.rlimits. Raising a hard limit needs CAP_SYS_RESOURCE, which this host's root
// lacks: the error says what was asked, what the host allows and why.
base::Status ApplyRlimits(const std::vector<oci::Rlimit>& rlimits);
// setgroups, setresgid, setresuid, keeping capabilities across the switch; then the five
// capability sets. Must run after every mount (needs CAP_SYS_ADMIN until then).
base::Status ApplyUserAndCapabilities(const oci::Process& process);
// chdir to process.cwd and check the result is inside the container's root: a leaked host fd
// via cwd "/proc/self/fd/N" shows up as "(unreachable)" (CVE-2024-21626).
base::Status EnterCwd(const std::string& cwd);
// Closes every fd >= first except those in keep (our own CLOEXEC fds).
base::Status CloseFdsFrom(int first, const std::vector<int>& keep);
// Finds args[0] like execvp with the process's PATH, inside the current root.
base::Result<std::string> LookPath(const std::string& file, const std::vector<std::string>& env);
// The home directory of `uid` in passwd text ("name:pw:uid:gid:gecos:home:shell" lines): the
// first matching entry's, "/" when there is none (runc's default).
std::string HomeOf(std::string_view passwd, uint32_t uid);
// Default environment completion (runc's, and so Docker's, for exec too): PATH when absent, and
// HOME when absent from `uid`'s entry in passwd_path, read inside the current root. Only a
// regular file of sane size is read: the image could make it a fifo or a device.
std::vector<std::string> EnvWithDefaults(std::vector<std::string> env, uint32_t uid,
                                         const char* passwd_path = "/etc/passwd");
// execve; returns only on failure.
base::Status Exec(const std::string& path, const std::vector<std::string>& args,
                  const std::vector<std::string>& env);

}  // namespace berth::runtime::linux
