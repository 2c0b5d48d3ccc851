// See host_probe.h.
#include "daemon/host_probe.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/strings.h"
#include "sys/file.h"

namespace berth::daemon {
namespace {

constexpr int64_t kCgroup2SuperMagic = 0x63677270;

uint64_t BoundingCaps() {
  auto status = sys::ReadFile("/proc/self/status");
  if (!status) return 0;
  for (std::string_view line : base::Split(*status, '\n')) {
    if (!base::StartsWith(line, "CapBnd:")) continue;
    std::string hex(base::Trim(line.substr(7)));
    return std::strtoull(hex.c_str(), nullptr, 16);
  }
  return 0;
}

spec::CgroupMode ProbeCgroupMode() {
  struct statfs st {};
  if (statfs("/sys/fs/cgroup", &st) == 0 && int64_t(st.f_type) == kCgroup2SuperMagic)
    return spec::CgroupMode::kV2;
  if (statfs("/sys/fs/cgroup/unified", &st) == 0 && int64_t(st.f_type) == kCgroup2SuperMagic)
    return spec::CgroupMode::kHybrid;
  return spec::CgroupMode::kV1;
}

std::optional<oci::Device> LookupDevice(std::string_view path) {
  struct stat st {};
  if (stat(std::string(path).c_str(), &st) != 0) return std::nullopt;
  oci::Device d;
  if (S_ISCHR(st.st_mode)) {
    d.type = "c";
  } else if (S_ISBLK(st.st_mode)) {
    d.type = "b";
  } else {
    return std::nullopt;
  }
  d.path = std::string(path);
  d.major = major(st.st_rdev);
  d.minor = minor(st.st_rdev);
  d.file_mode = st.st_mode & 07777;
  d.uid = st.st_uid;
  d.gid = st.st_gid;
  return d;
}

}  // namespace

spec::HostFacts ProbeSpecHostFacts() {
  spec::HostFacts h;
  h.bounding_caps = BoundingCaps();
  if (auto t = sys::ReadFile("/proc/sys/kernel/cap_last_cap"))
    h.last_cap = std::atoi(std::string(base::Trim(*t)).c_str());
  static const std::pair<const char*, int> kLimits[] = {
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_RSS", RLIMIT_RSS},
  };
  for (const auto& [name, res] : kLimits) {
    struct rlimit rl {};
    if (getrlimit(res, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) h.rlimit_hard[name] = rl.rlim_max;
  }
  h.cgroup_mode = ProbeCgroupMode();
  struct utsname u {};
  if (uname(&u) == 0) {
    h.machine = u.machine;
    h.hostname = u.nodename;
    std::sscanf(u.release, "%d.%d", &h.kernel.major, &h.kernel.minor);
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  h.ncpu = n > 0 ? int(n) : 1;
  h.seccomp_available =
      sys::ReadFile("/proc/self/status").value_or("").find("Seccomp:") != std::string::npos;
  // On v2 memory.swap.max exists in every non-root group whenever swap accounting is built in.
  h.swap_limit_supported = h.cgroup_mode == spec::CgroupMode::kV2 ||
                           access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/devices/system/cpu", ec)) {
    std::string p = e.path().string() + "/thermal_throttle";
    if (access(p.c_str(), F_OK) == 0) h.thermal_throttle_paths.push_back(p);
  }
  std::sort(h.thermal_throttle_paths.begin(), h.thermal_throttle_paths.end());
  h.path_exists = [](std::string_view p) { return access(std::string(p).c_str(), F_OK) == 0; };
  h.lookup_device = LookupDevice;
  return h;
}

}  // namespace berth::daemon
