// Facts about the host that /version and /info report: kernel, OS, CPUs, memory, cgroup version.
// Probed once at daemon start; each probe is best effort (a fact that cannot be read stays
// empty or zero) because a missing /etc/os-release must not stop the daemon.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::daemon {

struct HostFacts {
  std::string kernel_version;  // uname -r
  std::string machine;         // uname -m
  std::string hostname;
  std::string os_pretty_name;  // os-release PRETTY_NAME
  std::string os_version_id;   // os-release VERSION_ID
  int ncpu = 0;                // CPUs this process may run on
  int64_t mem_total = 0;       // bytes, /proc/meminfo MemTotal
  std::string cgroup_version;  // "2" when /sys/fs/cgroup is cgroup2, else "1"
};

HostFacts ProbeHost();

// The filesystem under `path` as dockerd names it in DriverStatus ("extfs", "xfs", "tmpfs", ...);
// "unknown" when it cannot be told.
std::string BackingFilesystem(const std::string& path);

// The unquoted value of `key` in os-release text, or "" when absent.
std::string OsReleaseValue(std::string_view os_release, std::string_view key);
// MemTotal from /proc/meminfo text, in bytes; 0 when absent.
int64_t MemTotalBytes(std::string_view meminfo);

}  // namespace berth::daemon
