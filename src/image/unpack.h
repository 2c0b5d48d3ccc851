// Unpacking layer blobs from the content store into snapshots: decompress (gzip, zstd or none,
// from the media type, else the magic number), hash the uncompressed stream into the diff_id
// while extracting with overlayfs whiteouts, check the diff_id against the image config, and
// commit the directory under the layer's chain ID.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "archive/extract.h"
#include "archive/stream.h"
#include "base/result.h"
#include "image/content/content_store.h"
#include "image/snapshot/snapshotter.h"
#include "oci/digest.h"
#include "oci/image_spec.h"

namespace berth::image {

// A layer extracted into a prepared directory but not yet committed.
struct ExtractedLayer {
  std::string dir;   // from Snapshotter::PrepareLayerDir
  int64_t size = 0;  // DirectorySize of dir
};

// Called with compressed bytes read so far and the blob's size.
using UnpackProgressFn = std::function<void(int64_t done, int64_t total)>;

// A bounded, thread-safe byte queue from one producer thread (Push, Finish, Fail) to one
// reader (Read): streams a blob that is being downloaded into an extraction. Push blocks while
// `capacity` bytes are queued, so the download runs no further ahead of the extraction than
// that. Once the reader is done (CloseReader, whether it read to the end or failed), Push drops
// its data and returns false instead of blocking.
class BlobPipe : public archive::ByteSource {
 public:
  explicit BlobPipe(size_t capacity = size_t(8) << 20) : capacity_(capacity) {}
  bool Push(std::string_view data);
  // The end of the stream: Read returns 0 once the queued bytes are read.
  void Finish();
  // Read fails with `error` from now on (queued bytes are dropped).
  void Fail(base::Error error);
  void CloseReader();
  base::Result<size_t> Read(void* buf, size_t size) override;

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t front_pos_ = 0;  // bytes of chunks_.front() already read
  size_t queued_ = 0;     // bytes in chunks_ not yet read
  bool finished_ = false, reader_closed_ = false;
  std::optional<base::Error> error_;
};

// Stateless apart from the stores it points at (not owned, must outlive it). Thread-safe:
// different layers may be extracted concurrently.
class Unpacker {
 public:
  Unpacker(ContentStore* content, Snapshotter* snapshots,
           archive::ExtractOptions options = archive::ExtractOptions{})
      : content_(content), snapshots_(snapshots), options_(options) {}

  // Extracts the blob `layer` into a fresh directory and checks that its uncompressed digest is
  // `diff_id` (InvalidArgument "layer sha256:..: diff_id mismatch: expected X, got Y"). On error
  // the directory is removed. NotFound when the blob is not in the content store.
  base::Result<ExtractedLayer> Extract(const oci::Descriptor& layer, const oci::Digest& diff_id,
                                       const UnpackProgressFn& progress = {});

  // Extract, reading the blob's bytes from `in` instead of the content store (e.g. while it is
  // being downloaded: the caller must still verify the blob's digest before committing).
  base::Result<ExtractedLayer> ExtractFrom(archive::ByteSource& in, const oci::Descriptor& layer,
                                           const oci::Digest& diff_id,
                                           const UnpackProgressFn& progress = {});

  // Commits an extracted layer (see Snapshotter::CommitLayer); removes the dir on failure.
  base::Status Commit(const ExtractedLayer& layer, const oci::Digest& chain_id,
                      const std::optional<oci::Digest>& parent);

  // Extract + Commit; does nothing when the chain ID's snapshot exists. Returns whether it
  // unpacked (false: the snapshot was already there).
  base::Result<bool> Unpack(const oci::Descriptor& layer, const oci::Digest& diff_id,
                            const oci::Digest& chain_id, const std::optional<oci::Digest>& parent,
                            const UnpackProgressFn& progress = {});

 private:
  ContentStore* content_;
  Snapshotter* snapshots_;
  archive::ExtractOptions options_;
};

}  // namespace berth::image
