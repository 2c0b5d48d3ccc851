// The container's filesystem view, built in its new mount namespace by the init process:
// bind the rootfs onto itself, perform config.json mounts with every destination resolved
// inside the rootfs through fds (openat2 RESOLVE_IN_ROOT: CVE-2021-30465 class), create /dev
// nodes and symlinks, pivot_root, then mask and read-only paths, sysctls and a read-only root.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "sys/unique_fd.h"

namespace berth::runtime::linux {

// What /sys/fs/cgroup shows inside: v1/hybrid = a tmpfs with one read-only bind per hierarchy
// (name is the hierarchy's directory, e.g. "cpu,cpuacct"); v2 = the cgroup2 fs (or a bind).
struct CgroupView {
  bool v2 = false;
  std::vector<std::pair<std::string, std::string>> hierarchies;  // name -> host dir
};

struct RootfsContext {
  const oci::Spec* spec = nullptr;
  std::string rootfs;  // absolute host path
  std::string bundle;  // absolute; relative bind sources resolve against it
  bool user_ns = false;
  bool net_ns = false;
  bool cgroup_ns = false;
  CgroupView cgroup;
};

// Opens /dev/null of the current root and checks it is the real device, not a symlink or
// another node planted by the image (CVE-2025-31133 class).
base::Result<sys::UniqueFd> OpenVerifiedDevNull();
// Runs in the init, in its new mount namespace, before hooks and pivot_root.
base::Status PrepareRootfs(RootfsContext& ctx);
// Switches root: pivot_root (or MS_MOVE + chroot when no_pivot) and detaches the old root.
base::Status EnterRootfs(const RootfsContext& ctx, bool no_pivot);
// After the switch: masked and read-only paths, sysctls, read-only root.
base::Status FinishRootfs(RootfsContext& ctx);
// Checks a sysctl key is namespaced for this container (runc's rules) and safe to write.
base::Status ValidateSysctl(const std::string& key, bool ipc_ns, bool net_ns, bool uts_ns);

}  // namespace berth::runtime::linux
