// Unpacking layer blobs from the content store into snapshots: decompress (gzip, zstd or none,
// from the media type, else the magic number), hash the uncompressed stream into the diff_id
// while extracting with overlayfs whiteouts, check the diff_id against the image config, and
// commit the directory under the layer's chain ID.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "archive/extract.h"
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
