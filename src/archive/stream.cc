// File-descriptor and in-memory byte streams.
#include "archive/stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::archive {

using base::Error;
using base::Fail;

base::Result<size_t> FdSource::Read(void* buf, size_t size) {
  while (true) {
    ssize_t n = ::read(fd_, buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "read layer stream"));
  }
}

base::Status FdSink::Write(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "write archive stream"));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

base::Result<size_t> MemorySource::Read(void* buf, size_t size) {
  size_t n = std::min(size, data_.size() - pos_);
  if (n > 0) std::memcpy(buf, data_.data() + pos_, n);
  pos_ += n;
  return n;
}

base::Status StringSink::Write(const void* data, size_t size) {
  data_.append(static_cast<const char*>(data), size);
  return {};
}

}  // namespace berth::archive
