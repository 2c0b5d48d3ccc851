// mount(2) wrappers.
#include "sys/mount.h"

#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace berth::sys {

using base::Error;
using base::Fail;

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

}  // namespace berth::sys
