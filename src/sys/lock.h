// Advisory whole-file locks (flock(2)) on an open fd. The lock belongs to the open file
// description, so two open()s of the same file conflict even within one process, and the kernel
// drops the lock when the last fd of that description closes (including on SIGKILL).
#pragma once

#include "base/result.h"

namespace berth::sys {

enum class LockMode { kShared, kExclusive };

// Takes the lock without waiting: true when taken, false when another open file description holds
// a conflicting lock. Other failures (EBADF, ENOLCK) are errors.
base::Result<bool> TryLock(int fd, LockMode mode);
// Waits for the lock (retries EINTR).
base::Status Lock(int fd, LockMode mode);
base::Status Unlock(int fd);

}  // namespace berth::sys
