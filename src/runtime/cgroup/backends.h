// The v1 (and hybrid) and v2 Manager implementations, and the cgroup2 steps hybrid reuses for
// its unified directory (internal to this library).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "runtime/cgroup/manager.h"

namespace berth::runtime::cgroup::internal {

// A cgroup directory and the mount of the hierarchy it lives in.
struct CgroupDir {
  std::string mount;
  std::string path;  // absolute, inside mount
};

// v1 directories by subsystem (co-mounted subsystems share a path); unified is the joined
// cgroup2 directory in hybrid mode. cpuset_on_demand: see ManagerOptions.
std::unique_ptr<Manager> NewV1Manager(std::map<std::string, CgroupDir> dirs,
                                      std::optional<CgroupDir> unified, bool cpuset_on_demand);
std::unique_ptr<Manager> NewV2Manager(CgroupDir dir);

// cgroup2: creates dir.path below dir.mount, enabling in every ancestor's cgroup.subtree_control
// the controllers it offers (all of them, or only those in `only` when given).
base::Status CreateV2(const CgroupDir& dir, const std::set<std::string>* only = nullptr);
// cgroup2: controllers listed in dir/cgroup.controllers.
base::Result<std::set<std::string>> V2Controllers(const std::string& dir);
// cgroup2: hugetlb.<size>.max for each limit.
base::Status SetHugetlbV2(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
// cgroup2: linux.resources.unified, raw file writes. Keys with '/' or ".." are rejected.
base::Status SetUnifiedV2(const std::string& dir, const std::map<std::string, std::string>& raw);

}  // namespace berth::runtime::cgroup::internal
