// mount(2) family wrappers. Errors name the call, source, target and type:
// `mount "proc" on "/x/proc" (proc): Operation not permitted`.
#pragma once

#include <string>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

base::Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
                   unsigned long flags, const std::string& data);
// Same, but the target is an fd (O_PATH) mounted through its /proc/self/fd path so the kernel
// uses exactly the inode we resolved (no second path walk an attacker could race).
base::Status MountOnFd(const std::string& source, int target_fd, const std::string& shown_target,
                       const std::string& fstype, unsigned long flags, const std::string& data);
base::Status Umount(const std::string& target, int flags);
base::Status PivotRoot(const std::string& new_root, const std::string& put_old);
// The path /proc/self/fd/N for an fd.
std::string FdPath(int fd);
// A read-only view of one file: a detached bind mount of it (open_tree OPEN_TREE_CLONE, then
// mount_setattr RDONLY|NOSUID|NODEV), attached to no mount tree and gone with its last fd. The
// fd is close-on-exec and numbered at least min_fd (so dup2s to low fds in a spawn cannot land
// on it). Exec through FdPath(fd): the process's /proc/<pid>/exe then cannot be reopened for
// writing (EROFS). Needs CAP_SYS_ADMIN and Linux 5.12.
base::Result<UniqueFd> OpenReadOnlyView(const std::string& path, int min_fd = 100);

}  // namespace berth::sys
