// Fetcher: what pulling needs from a registry, declared in image's own types so that image/
// never includes registry/ (DESIGN.md). The wiring layer (daemon/, cmd/berth-image) implements
// it over registry::Client.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/reference.h"

namespace berth::image {

// What a reference resolved to for one platform. `index` is set when the reference named an
// index (or Docker manifest list); the manifest is then the platform's entry in it. Every
// *_bytes field is verified against its descriptor by the Fetcher.
struct ResolvedImage {
  oci::Descriptor root;  // what the reference resolved to (index or manifest)
  std::optional<oci::Index> index;
  std::string index_bytes;
  oci::Descriptor manifest_descriptor;
  oci::Manifest manifest;
  std::string manifest_bytes;
  oci::ImageConfig config;
  std::string config_bytes;
};

// Receives a blob's bytes in order.
class FetchSink {
 public:
  virtual ~FetchSink() = default;
  // An error stops the fetch and is returned by FetchBlob as-is.
  virtual base::Status Write(std::string_view data) = 0;
  // Drop everything written so far: the fetch restarts at byte 0 (a server ignored Range).
  virtual base::Status Restart() = 0;
};

// Called with the bytes of the blob the sink holds so far (`offset` included) and its total size.
using FetchProgressFn = std::function<void(int64_t done, int64_t total)>;

// Implementations must allow concurrent calls from several threads (a pull downloads layers in
// parallel). Error codes follow base::ErrorCode: NotFound for unknown references/blobs,
// PermissionDenied for auth failures, Unavailable for network trouble, InvalidArgument for
// digest/size mismatches and malformed answers.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Resolves `ref` (tag or digest) and fetches the index, the manifest for `platform` and the
  // config.
  virtual base::Result<ResolvedImage> Resolve(const oci::ImageReference& ref,
                                              const oci::Platform& platform) = 0;
  // Streams a blob of the repository `ref` names into `sink`, from byte `offset` on (the sink
  // holds the bytes before it). With offset 0 the bytes are verified against the digest; with
  // offset > 0 only the size, and the caller verifies the whole blob.
  virtual base::Status FetchBlob(const oci::ImageReference& ref, const oci::Descriptor& blob,
                                 FetchSink& sink, int64_t offset,
                                 const FetchProgressFn& progress) = 0;
};

}  // namespace berth::image
