// Where fetched blob bytes go (BlobSink) and where pushed ones come from (BlobSource), so the
// client streams blobs without holding them in memory; plus in-memory and fd implementations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::registry {

// Receives a blob in order. Not shared between concurrent fetches.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  // Appends the next bytes. An error stops the fetch at once (no retry) and is returned by it.
  virtual base::Status Write(std::string_view data) = 0;
  // Drops everything written so far: the fetch starts again at byte 0 (a server ignored our
  // Range request). A sink that cannot restart returns an error, which ends the fetch.
  virtual base::Status Restart() = 0;
};

// Supplies a blob of known size for upload. ReadAt may be called again for bytes already
// read (a retry restarts an upload), so it must be repeatable.
class BlobSource {
 public:
  virtual ~BlobSource() = default;
  // Copies up to n bytes starting at offset into buf; returns how many (0 only past the end).
  virtual base::Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) = 0;
};

// Called with the bytes of the blob transferred so far and its total size (-1 when unknown).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class StringSink : public BlobSink {
 public:
  base::Status Write(std::string_view data) override {
    data_.append(data);
    return {};
  }
  base::Status Restart() override {
    data_.clear();
    return {};
  }
  const std::string& data() const { return data_; }
  std::string& data() { return data_; }

 private:
  std::string data_;
};

class StringSource : public BlobSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  base::Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) override;

 private:
  std::string data_;
};

// Reads with pread(2) from an fd the caller owns and keeps open.
class FdSource : public BlobSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  base::Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) override;

 private:
  int fd_;
};

}  // namespace berth::registry
