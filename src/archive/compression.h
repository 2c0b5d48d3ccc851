// Layer compression: detection by magic number, streaming decompression (isa-l igzip for gzip,
// libzstd for zstd) and streaming compression. Taps see the compressed and uncompressed bytes
// as they pass, so one pass over a blob yields its digest and the layer's diff_id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "archive/stream.h"
#include "base/result.h"

namespace berth::archive {

enum class Compression { kNone, kGzip, kZstd };

// "none", "gzip", "zstd".
std::string_view CompressionName(Compression c);

// The compression of a stream from its first bytes (4 are enough; fewer can only say kNone).
// Anything that is neither gzip nor zstd is kNone (a tar). Fails with kInvalidArgument for
// formats that we recognise but do not support (bzip2, xz), so that they are not read as tar.
base::Result<Compression> DetectCompression(std::span<const uint8_t> head);

// Called with each run of bytes as it passes; the pointer is valid only during the call.
using ByteTap = std::function<void(const void* data, size_t size)>;

struct StreamTaps {
  ByteTap compressed;    // the bytes read from the underlying source (the blob: its digest)
  ByteTap uncompressed;  // the bytes this source returns (the tar: the layer's diff_id)
};

// Decompresses `in` (which must outlive it) as it is read. gzip: every member of a multi-member
// stream, each CRC and length verified; zstd: every frame, skippable frames skipped. Errors:
// kInvalidArgument for corrupt or truncated data or bytes after the last gzip member; errors of
// `in` pass through. Not thread-safe.
class DecompressingSource : public ByteSource {
 public:
  // Detects the compression from the first bytes on the first Read (see DetectCompression).
  explicit DecompressingSource(ByteSource& in, StreamTaps taps = {});
  DecompressingSource(ByteSource& in, Compression compression, StreamTaps taps = {});
  ~DecompressingSource() override;
  DecompressingSource(const DecompressingSource&) = delete;
  DecompressingSource& operator=(const DecompressingSource&) = delete;

  base::Result<size_t> Read(void* buf, size_t size) override;

  // The compression in use; kNone until the first Read when detecting.
  Compression compression() const;
  // Bytes taken from `in` and bytes returned so far.
  uint64_t compressed_bytes() const;
  uint64_t uncompressed_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compresses what is written to it into `out` (which must outlive it). Close() must be called to
// write the end of the stream (gzip trailer, zstd epilogue) and it does not close `out`.
// gzip is one member with a fixed header (mtime 0), so equal input gives equal output.
// level: kDefaultLevel, or gzip 0..3 (isa-l's levels, 3 smallest), zstd 1..19.
class CompressingSink : public ByteSink {
 public:
  static constexpr int kDefaultLevel = -1;

  CompressingSink(ByteSink& out, Compression compression, int level = kDefaultLevel,
                  StreamTaps taps = {});
  ~CompressingSink() override;
  CompressingSink(const CompressingSink&) = delete;
  CompressingSink& operator=(const CompressingSink&) = delete;

  base::Status Write(const void* data, size_t size) override;
  base::Status Close() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::archive
