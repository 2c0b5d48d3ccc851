// Host probes for /version and /info.
#include "daemon/host.h"

#include <linux/magic.h>
#include <sched.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/strings.h"
#include "sys/file.h"

namespace berth::daemon {

std::string OsReleaseValue(std::string_view os_release, std::string_view key) {
  for (const std::string& line : base::Split(os_release, '\n')) {
    std::string_view l = base::Trim(line);
    if (l.size() <= key.size() || !base::StartsWith(l, key) || l[key.size()] != '=') continue;
    std::string_view v = l.substr(key.size() + 1);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return "";
}

int64_t MemTotalBytes(std::string_view meminfo) {
  for (const std::string& line : base::Split(meminfo, '\n')) {
    if (!base::StartsWith(line, "MemTotal:")) continue;
    std::string_view rest = base::Trim(std::string_view(line).substr(9));
    size_t sp = rest.find(' ');
    auto kib = base::ParseInt(rest.substr(0, sp));
    return kib ? *kib * 1024 : 0;
  }
  return 0;
}

std::string BackingFilesystem(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return "unknown";
  switch (static_cast<unsigned long>(st.f_type)) {
    case EXT4_SUPER_MAGIC:  // ext2/3/4 share the magic
      return "extfs";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    case 0x2fc12fc1:  // ZFS, not in linux/magic.h
      return "zfs";
    default:
      return "unknown";
  }
}

HostFacts ProbeHost() {
  HostFacts f;
  struct utsname u {};
  if (uname(&u) == 0) {
    f.kernel_version = u.release;
    f.machine = u.machine;
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) f.hostname = host;
  // /etc/os-release, falling back to /usr/lib/os-release as os-release(5) says.
  auto os = sys::ReadFile("/etc/os-release");
  if (!os) os = sys::ReadFile("/usr/lib/os-release");
  if (os) {
    f.os_pretty_name = OsReleaseValue(*os, "PRETTY_NAME");
    f.os_version_id = OsReleaseValue(*os, "VERSION_ID");
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  f.ncpu = sched_getaffinity(0, sizeof(set), &set) == 0
               ? CPU_COUNT(&set)
               : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (auto mem = sys::ReadFile("/proc/meminfo")) f.mem_total = MemTotalBytes(*mem);
  struct statfs st {};
  f.cgroup_version =
      statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC ? "2" : "1";
  return f;
}

}  // namespace berth::daemon
