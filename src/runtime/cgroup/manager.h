// The cgroup manager: one interface over v1, hybrid and v2 hierarchies that places a container's
// processes in its cgroup(s), applies linux.resources, freezes, kills, reports stats and removes
// the cgroup(s). A manager is made for a new container (NewManager) or reopened from the paths
// saved in the container's state (LoadManager).
//
// Thread-safety: none; a manager is used by one thread (the shim or berth-runtime) at a time.
// All paths come from the CgroupLayout, so tests point a manager at a fake tree of plain files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/stats.h"

namespace berth::runtime::cgroup {

// The key Paths() uses for the cgroup2 directory (pure v2, and the joined unified path in
// hybrid). v1 directories are keyed by subsystem ("memory", "cpu", "name=systemd").
inline constexpr const char* kUnifiedKey = "unified";

class Manager {
 public:
  virtual ~Manager() = default;

  // Creates the cgroup directories and moves pid (the whole thread group) into them. pid < 0
  // creates only. On v2 it also enables every available controller top-down in the ancestors'
  // cgroup.subtree_control; on v1 it seeds empty cpuset.cpus/mems from the parent (the kernel
  // refuses to attach to an empty cpuset with ENOSPC). Idempotent. On v1 a cpuset hierarchy of
  // its own is created only on demand (see ManagerOptions::cpuset_on_demand); a manager from
  // LoadManager joins the cpuset directory only if it exists.
  virtual base::Status Apply(pid_t pid) = 0;

  // Writes linux.resources. A limit for a controller this host does not offer fails with
  // kUnavailable naming the controller; nothing else is skipped silently. Call after Apply(),
  // and again for `update`.
  virtual base::Status Set(const oci::Resources& resources) = 0;

  // Freezes / thaws every process and waits (a few seconds at most) until the kernel reports
  // the new state; kUnavailable on timeout or without a freezer.
  virtual base::Status Freeze() = 0;
  virtual base::Status Thaw() = 0;
  virtual base::Result<bool> IsFrozen() = 0;

  // Every process in the cgroup and its descendant cgroups.
  virtual base::Result<std::vector<pid_t>> Pids() = 0;

  // Signals every process (cgroup.kill for SIGKILL on v2; else freeze, signal each, thaw, so
  // nothing forks away meanwhile). Does not wait for them to exit.
  virtual base::Status KillAll(int sig) = 0;

  virtual base::Result<Stats> GetStats() = 0;

  // Removes the cgroup directories (descendants first), retrying for about a second while
  // exiting processes keep them busy. A directory that is already gone counts as removed.
  virtual base::Status Destroy() = 0;

  // Subsystem (or kUnifiedKey) -> absolute directory; persist it and hand it to LoadManager.
  // A v1 cpuset directory is listed even while it does not exist (cpuset_on_demand).
  virtual std::map<std::string, std::string> Paths() const = 0;

  // The subset of Paths() whose directories the container's processes are in after Apply():
  // what the init shows under /sys/fs/cgroup. Without an on-demand cpuset, Paths().
  virtual std::map<std::string, std::string> JoinedPaths() const { return Paths(); }

  // OOM kills inside the cgroup so far (v1 memory.oom_control, v2 memory.events "oom_kill").
  virtual base::Result<uint64_t> OomKillCount() = 0;
  bool OomKilled() {
    auto n = OomKillCount();
    return n && *n > 0;
  }
};

struct ManagerOptions {
  // cgroups_path is systemd's "slice:prefix:name" (--systemd-cgroup); only the path mapping is
  // implemented, the cgroup is still managed through the filesystem.
  bool systemd_path = false;
  // Prefix used when cgroups_path is empty: "/<default_parent>-<container id>".
  std::string default_parent = "berth";
  // v1 only: do not create a cpuset cgroup until a cpuset limit asks for one (Set() then creates
  // it and moves the container's processes in). The first non-root cpuset switches a kernel
  // static key on and removing the last switches it off, each a live patch of kernel text
  // (cpuset_css_online: ~1.6 ms of CPU per container start on the reference VM, and the same
  // again at removal); a container without cpuset limits gains nothing from its own cpuset.
  // The processes stay in the runtime's cpuset cgroup. Ignored when cpuset is co-mounted with
  // another controller, and on v2.
  bool cpuset_on_demand = false;
};

// The cgroup path for a container, as runc interprets linux.cgroupsPath: "/a/b" is relative to
// each hierarchy's root, "a/b" to the runtime's own cgroup, "" is "/<default_parent>-<id>".
// Paths with ".." components or that name the root itself are kInvalidArgument.
base::Result<std::string> ContainerCgroupPath(const std::string& cgroups_path,
                                              const std::string& container_id,
                                              const ManagerOptions& options = {});

// "system.slice:docker:abc" -> "/system.slice/docker-abc.scope"; nested slices expand the way
// systemd does ("a-b.slice" -> "/a.slice/a-b.slice"); an empty slice is "system.slice".
base::Result<std::string> SystemdCgroupPath(const std::string& spec,
                                            const std::string& container_id);

// Parses /proc/<pid>/cgroup text: v1 subsystem -> path, and kUnifiedKey -> the "0::" path.
base::Result<std::map<std::string, std::string>> ParseProcCgroup(std::string_view text);

base::Result<std::unique_ptr<Manager>> NewManager(const CgroupLayout& layout,
                                                  const std::string& cgroups_path,
                                                  const std::string& container_id,
                                                  const ManagerOptions& options = {});

// Reopens a manager from Paths() saved earlier. Every path must lie inside the matching mount
// of layout (state files are not trusted to point elsewhere).
base::Result<std::unique_ptr<Manager>> LoadManager(
    const CgroupLayout& layout, const std::map<std::string, std::string>& saved_paths);

}  // namespace berth::runtime::cgroup
