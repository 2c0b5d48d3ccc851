// flock(2) wrappers.
#include "sys/lock.h"

#include <sys/file.h>

#include <cerrno>

namespace berth::sys {

using base::Error;
using base::Fail;

namespace {
int Op(LockMode mode) { return mode == LockMode::kShared ? LOCK_SH : LOCK_EX; }
}  // namespace

base::Result<bool> TryLock(int fd, LockMode mode) {
  while (::flock(fd, Op(mode) | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return Fail(Error::FromErrno(errno, "flock"));
  }
  return true;
}

base::Status Lock(int fd, LockMode mode) {
  while (::flock(fd, Op(mode)) != 0) {
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "flock"));
  }
  return {};
}

base::Status Unlock(int fd) {
  if (::flock(fd, LOCK_UN) != 0) return Fail(Error::FromErrno(errno, "flock unlock"));
  return {};
}

}  // namespace berth::sys
