// Running the runtime from a read-only view of its own file (CVE-2019-5736 class).
//
// The container init is a clone of the runtime process, so its /proc/self/exe is the runtime's
// host file. If the init execs a container file whose interpreter is /proc/self/exe (a script
// "#!/proc/self/exe"), the new container process runs the host binary; a process in the
// container can then open /proc/<pid>/exe and, once that process has exited (no ETXTBSY any
// more), reopen the fd for writing and replace the host binary. runc >= 1.2 and crun guard
// against it by running from a sealed copy or a sealed overlay; berth runs from a detached,
// read-only bind mount of its own file: no copy, nothing attached to the host's mount tree (the
// mount lives as long as a process executes from it), and every reopen for writing through it
// fails with EROFS.
#pragma once

#include "base/result.h"

namespace berth::runtime::linux {

// Whether /proc/self/exe lies on a read-only mount (already sealed, or installed read-only).
bool ExeIsReadOnly();

// If the executable is not on a read-only mount, re-executes it (same argv and environment)
// through a read-only detached bind mount of itself; does not return then. Returns 0 when it is
// already read-only, else the errno of the step that failed (named in *step) when the sealed
// view cannot be made (e.g. without CAP_SYS_ADMIN, or before Linux 5.12): the caller decides
// whether to go on unsealed. Plain C types: it may run from an early constructor, before the
// program's C++ static initialisation.
int ReexecFromReadOnlyExe(char** argv, const char** step);

}  // namespace berth::runtime::linux
