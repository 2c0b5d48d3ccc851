#include "runtime/linux/exe_seal.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "sys/mount.h"

extern char** environ;

namespace berth::runtime::linux {

bool ExeIsReadOnly() {
  struct statvfs st;
  return ::statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

int ReexecFromReadOnlyExe(char** argv, const char** step) {
  if (ExeIsReadOnly()) return 0;
  *step = "make a read-only view of the runtime's executable";
  auto view = sys::OpenReadOnlyView("/proc/self/exe", 3);
  if (!view) return view.error().sys_errno();
  *step = "re-exec the runtime from its read-only view";
  ::execveat(view->get(), "", argv, environ, AT_EMPTY_PATH);
  return errno;
}

}  // namespace berth::runtime::linux
