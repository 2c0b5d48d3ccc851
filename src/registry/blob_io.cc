// StringSource and FdSource.
#include "registry/blob_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::registry {

base::Result<size_t> StringSource::ReadAt(int64_t offset, char* buf, size_t n) {
  if (offset < 0 || size_t(offset) >= data_.size()) return size_t{0};
  size_t len = std::min(n, data_.size() - size_t(offset));
  std::memcpy(buf, data_.data() + offset, len);
  return len;
}

base::Result<size_t> FdSource::ReadAt(int64_t offset, char* buf, size_t n) {
  while (true) {
    ssize_t got = pread(fd_, buf, n, offset);
    if (got >= 0) return size_t(got);
    if (errno != EINTR) return base::Fail(base::Error::FromErrno(errno, "pread blob source"));
  }
}

}  // namespace berth::registry
