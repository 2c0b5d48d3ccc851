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

bool ExeIsReadOnly() {
  struct statvfs st;
  return ::statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

int ReexecFromReadOnlyExe(char** argv, const char** step) {
  if (ExeIsReadOnly()) return 0;
  // A private copy of the mount of our file, detached from every mount tree.
  *step = "open_tree of the runtime's executable";
  int tree = ::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return errno;
  sys::UniqueFd tree_fd(tree);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  *step = "make the runtime's executable view read-only";
  if (::mount_setattr(tree_fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) return errno;
  *step = "re-exec the runtime from its read-only view";
  ::execveat(tree_fd.get(), "", argv, environ, AT_EMPTY_PATH);
  return errno;
}

}  // namespace berth::runtime::linux
