// PushTarget: what pushing needs from a registry, declared in image's own types so that image/
// never includes registry/ (DESIGN.md), like Fetcher for pulls. The wiring layer (daemon/)
// implements it over registry::Client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "base/result.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/reference.h"

namespace berth::image {

// Supplies the bytes of a blob being uploaded. ReadAt may be asked again for bytes already
// read (an upload that failed is started again), so it must be repeatable.
class PushSource {
 public:
  virtual ~PushSource() = default;
  // Copies up to n bytes from `offset` into buf; returns how many (0 only past the end). An
  // error stops the upload and is returned by PushBlob.
  virtual base::Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) = 0;
};

// Called with the bytes of a blob sent so far and its total size.
using UploadProgressFn = std::function<void(int64_t done, int64_t total)>;

// Every call names the repository by a reference whose tag and digest are ignored (domain and
// path only). Implementations must allow concurrent calls from several threads (layers are
// pushed in parallel). Error codes follow base::ErrorCode: PermissionDenied for auth failures,
// Unavailable for network trouble, InvalidArgument for digest mismatches and answers the
// registry refused as malformed, NotFound for unknown repositories.
class PushTarget {
 public:
  virtual ~PushTarget() = default;
  // Whether the repository already has the blob.
  virtual base::Result<bool> BlobExists(const oci::ImageReference& repo,
                                        const oci::Digest& digest) = 0;
  // Cross-repository mount from `from_path` ("library/busybox") on the same registry: true
  // when the registry mounted it, false when it did not (the blob must then be pushed).
  virtual base::Result<bool> MountBlob(const oci::ImageReference& repo, const oci::Digest& digest,
                                       std::string_view from_path) = 0;
  // Uploads the blob `blob` describes, reading it from `source`; the registry verifies its
  // digest.
  virtual base::Status PushBlob(const oci::ImageReference& repo, const oci::Descriptor& blob,
                                PushSource& source, const UploadProgressFn& progress) = 0;
  // Stores `bytes` as the manifest under `tag`; returns the manifest's digest.
  virtual base::Result<oci::Digest> PushManifest(const oci::ImageReference& repo,
                                                 std::string_view tag, std::string_view media_type,
                                                 std::string_view bytes) = 0;
};

}  // namespace berth::image
