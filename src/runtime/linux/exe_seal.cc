#include "runtime/linux/exe_seal.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "sys/unique_fd.h"

extern char** environ;

namespace berth::runtime::linux {

using base::Error;
using base::Fail;

bool ExeIsReadOnly() {
  struct statvfs st;
  return ::statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

base::Status ReexecFromReadOnlyExe(char** argv) {
  if (ExeIsReadOnly()) return {};
  // A private copy of the mount of our file, detached from every mount tree.
  int tree = ::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return Fail(Error::FromErrno(errno, "open_tree of the runtime's executable"));
  sys::UniqueFd tree_fd(tree);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(tree_fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return Fail(Error::FromErrno(errno, "make the runtime's executable view read-only"));
  ::execveat(tree_fd.get(), "", argv, environ, AT_EMPTY_PATH);
  return Fail(Error::FromErrno(errno, "re-exec the runtime from its read-only view"));
}

}  // namespace berth::runtime::linux
