// mount(2) wrappers.
#include "sys/mount.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace berth::sys {

using base::Error;
using base::Fail;
using base::Result;

namespace {
const char* OrNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }
}  // namespace

std::string FdPath(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

base::Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
                   unsigned long flags, const std::string& data) {
  // NULL rather than "" for data: an empty string costs the kernel a page copy per call.
  if (::mount(OrNull(source), target.c_str(), OrNull(fstype), flags, OrNull(data)) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("mount \"{}\" on \"{}\" ({})", source, target,
                                                    fstype.empty() ? "bind" : fstype)));
  return {};
}

base::Status MountOnFd(const std::string& source, int target_fd, const std::string& shown_target,
                       const std::string& fstype, unsigned long flags, const std::string& data) {
  std::string p = FdPath(target_fd);
  if (::mount(OrNull(source), p.c_str(), OrNull(fstype), flags, OrNull(data)) != 0)
    return Fail(
        Error::FromErrno(errno, fmt::format("mount \"{}\" on \"{}\" ({})", source, shown_target,
                                            fstype.empty() ? "bind" : fstype)));
  return {};
}

base::Status Umount(const std::string& target, int flags) {
  if (::umount2(target.c_str(), flags) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("umount \"{}\"", target)));
  return {};
}

base::Status PivotRoot(const std::string& new_root, const std::string& put_old) {
  if (::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("pivot_root \"{}\"", new_root)));
  return {};
}

Result<UniqueFd> OpenReadOnlyView(const std::string& path, int min_fd) {
  int tree = ::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return Fail(Error::FromErrno(errno, fmt::format("open_tree \"{}\"", path)));
  UniqueFd view(tree);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(view.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("make a view of \"{}\" read-only", path)));
  int high = ::fcntl(view.get(), F_DUPFD_CLOEXEC, min_fd);
  if (high < 0) return Fail(Error::FromErrno(errno, "fcntl F_DUPFD_CLOEXEC"));
  return UniqueFd(high);
}

}  // namespace berth::sys
