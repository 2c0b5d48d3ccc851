// Host tuning of the cgroup core that berthd applies when its configuration asks for it.
//
// Moving a process into a cgroup (a write to cgroup.procs, as every container start on a cgroup
// v1 or hybrid host does) takes the kernel's global cgroup_threadgroup_rwsem for writing. That
// percpu rwsem lets readers (fork, exit) run lock-free and makes each writer that finds it idle
// wait for an RCU grace period first: 10-14 ms per container start on the reference VM, more than
// the rest of the start together. The cgroup2 mount option "favordynmods" keeps the rwsem in
// its slow-reader mode instead, so writers no longer wait, at a small cost to every fork and exit.
// The rwsem is shared by all hierarchies, so setting the option on the host's cgroup2 mount (the
// "unified" one on a hybrid host) helps v1 migrations too. Pure cgroup v2 starts do not need it:
// they clone the container straight into its cgroup (CLONE_INTO_CGROUP), which takes no write
// lock. It is a host-wide setting, so berthd never changes it unasked ("cgroup-favordynmods").
// Since Linux 6.18 enabling it also switches cgroup.procs writes to a per-threadgroup rwsem for
// the rest of the boot: turning the option off again clears the flag but not that (the kernel
// logs "per threadgroup rwsem mechanism can't be disabled").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::runtime::cgroup {

inline constexpr std::string_view kFavorDynmods = "favordynmods";

// Whether cgroup2 superblock options (mountinfo's last field) include favordynmods.
bool FavorsDynmods(std::string_view super_options);

// The options a reconfigure of a cgroup2 superblock must set to keep `super_options` and add
// favordynmods. cgroup2's reconfigure replaces the root's flags with exactly the ones given, so
// leaving out "nsdelegate" would turn delegation off; "rw"/"ro" are mount flags and "seclabel"
// is shown by the LSM, not set, so they are left out.
std::vector<std::string> FavorDynmodsOptions(std::string_view super_options);

// Reconfigures the cgroup2 superblock mounted at `mount_point` (fspick + fsconfig) with exactly
// `options` ("flag" or "key=value").
base::Status ReconfigureCgroup2(const std::string& mount_point,
                                const std::vector<std::string>& options);

struct FavorDynmodsOutcome {
  std::string mount_point;    // the cgroup2 mount that was looked at
  std::string super_options;  // its options before
  bool changed = false;       // false: favordynmods was already set
};

// Sets favordynmods on the host's cgroup2 mount under `cgroup_root`, read afresh from
// /proc/self/mountinfo. kNotFound on a pure v1 host (no cgroup2 mount to set it on); the
// kernel's error when it does not know the option (before 6.0).
base::Result<FavorDynmodsOutcome> EnableFavorDynmods(
    std::string_view cgroup_root = "/sys/fs/cgroup");

}  // namespace berth::runtime::cgroup
