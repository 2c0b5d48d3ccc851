// Writing a tar of named files, directories and symlinks (pax where needed, ustar otherwise),
// for archives of files that are not layers: docker save output and OCI layout tars.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "archive/stream.h"
#include "base/result.h"

namespace berth::archive {

// Writes members to `out` (which must outlive it) in the order they are added. Members are
// owned by root (numeric 0:0) with mtime `mtime`. Not thread-safe.
class TarWriter {
 public:
  explicit TarWriter(ByteSink& out, time_t mtime = 0);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // A regular file of exactly `size` bytes read from `content`; InvalidArgument when the source
  // ends early or has more bytes (the member would be corrupt).
  base::Status AddFile(const std::string& name, int64_t size, ByteSource& content,
                       mode_t mode = 0644);
  base::Status AddFile(const std::string& name, std::string_view content, mode_t mode = 0644);
  base::Status AddDirectory(const std::string& name, mode_t mode = 0755);
  base::Status AddSymlink(const std::string& name, const std::string& target);
  // Writes the end-of-archive marker; does not Close() `out`. Adding afterwards fails.
  base::Status Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::archive
