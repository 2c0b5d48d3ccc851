// Byte streams that archive code reads from and writes to: a tar arrives as a ByteSource (a
// blob fd, a decompressor, a socket) and leaves through a ByteSink, so extraction and diffing
// never care where bytes come from or go.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::archive {

// A pull stream. Not thread-safe.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `buf`; returns how many were read, 0 only at the end of the
  // stream (and on every call after it). A short read is not the end.
  virtual base::Result<size_t> Read(void* buf, size_t size) = 0;
};

// A push stream. Not thread-safe.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of data[0, size) or fails.
  virtual base::Status Write(const void* data, size_t size) = 0;
  // Flushes whatever the sink buffers (a compressor's trailer). Writing after Close fails.
  // Sinks that buffer nothing need not be closed. Calling it twice is harmless.
  virtual base::Status Close() { return {}; }
};

// Reads a file descriptor it does not own (retries EINTR).
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  base::Result<size_t> Read(void* buf, size_t size) override;

 private:
  int fd_;
};

// Writes a file descriptor it does not own (loops over short writes, retries EINTR).
class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  base::Status Write(const void* data, size_t size) override;

 private:
  int fd_;
};

// Reads a caller-owned buffer that must outlive the source.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> data) : data_(data) {}
  explicit MemorySource(std::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data()), data.size()) {}
  // A temporary would dangle.
  explicit MemorySource(std::string&&) = delete;
  base::Result<size_t> Read(void* buf, size_t size) override;

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Appends to a string: for tests, small manifests and the fuzzer.
class StringSink : public ByteSink {
 public:
  base::Status Write(const void* data, size_t size) override;
  const std::string& data() const { return data_; }
  std::string Take() { return std::move(data_); }

 private:
  std::string data_;
};

}  // namespace berth::archive
