// Sequential reading of a plain tar (ustar, pax, GNU) as entries: name, kind, size and a
// ByteSource over the current entry's content. For archives of files (docker save output, OCI
// layout tars) that are read without extracting them; layers are applied with ExtractLayer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "archive/stream.h"
#include "base/result.h"

namespace berth::archive {

struct TarEntry {
  enum class Kind { kRegular, kDirectory, kSymlink, kHardlink, kOther };
  std::string name;  // as stored (not cleaned)
  Kind kind = Kind::kOther;
  int64_t size = 0;  // content bytes of a regular file, 0 otherwise
  std::string link;  // symlink target or hardlink target, as stored
};

// Reads `in` (which must outlive it; not decompressed here) one entry at a time.
// Not thread-safe.
class TarReader {
 public:
  explicit TarReader(ByteSource& in);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, or nullopt at the end of the archive. Unread content of the previous entry
  // is skipped. An empty stream is an archive without entries. Errors: InvalidArgument for a
  // damaged tar; errors of `in` pass through with context.
  base::Result<std::optional<TarEntry>> Next();
  // The content of the entry Next() returned last; valid until the next call to Next().
  ByteSource& content();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::archive
