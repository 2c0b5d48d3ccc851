// Which cgroup hierarchies this host mounts and where: pure v1, hybrid (v1 controllers plus a
// cgroup2 mount, usually /sys/fs/cgroup/unified) or pure v2. Detected from /proc/self/mountinfo,
// never assumed; the managers take the result, so tests can hand them a fake tree.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::runtime::cgroup {

enum class CgroupMode { kV1, kHybrid, kV2 };

const char* CgroupModeName(CgroupMode mode);

// One mounted v1 hierarchy as seen by one subsystem.
struct V1Mount {
  std::string mount_point;  // "/sys/fs/cgroup/memory"
  // The hierarchy path mounted there (mountinfo field 4): "/" on a host, the container's own
  // cgroup inside a container that was given only its subtree.
  std::string root = "/";
};

struct CgroupLayout {
  CgroupMode mode = CgroupMode::kV2;
  // v1 subsystem -> its mount. Co-mounted subsystems ("cpu,cpuacct") each get an entry with the
  // same mount point; named hierarchies keep their "name=" prefix ("name=systemd").
  std::map<std::string, V1Mount> v1_mounts;
  // The cgroup2 mount point; empty in pure v1.
  std::string unified_mount;
  // Its superblock options as mountinfo shows them ("rw,nsdelegate,memory_recursiveprot").
  std::string unified_super_options;
};

// Parses /proc/self/mountinfo text. Only mounts at or below cgroup_root count (a container's
// bind-mounted cgroupfs elsewhere is not ours). cgroup2 at cgroup_root itself means v2; v1
// mounts plus a cgroup2 mount below the root mean hybrid. Pure; kNotFound when no cgroup
// filesystem is mounted there, kInvalidArgument on a malformed line.
base::Result<CgroupLayout> DetectLayout(std::string_view mountinfo_text,
                                        std::string_view cgroup_root = "/sys/fs/cgroup");

// DetectLayout over this process's /proc/self/mountinfo, cross-checked with statfs: the cgroup2
// mount must really be cgroup2 (CGROUP2_SUPER_MAGIC), else hybrid degrades to v1.
base::Result<CgroupLayout> DetectHostLayout();

}  // namespace berth::runtime::cgroup
