// docker save / docker load: images to and from one tar.
//
// Save writes Docker's docker-archive format (what `docker load` and `skopeo copy
// docker-archive:` read): manifest.json, repositories, <config hex>.json and per layer
// <id>/{layer.tar,VERSION,json} with the layer UNCOMPRESSED, plus the OCI image layout entries
// Docker 25+ adds (oci-layout, index.json, blobs/sha256/...), so the same file is also an
// oci-archive. Load reads a docker-archive (layers plain or compressed) or an OCI image layout
// tar (the whole tar may itself be gzip- or zstd-compressed), verifies every blob and diff_id,
// stores blobs, config and manifest in the content store and records the image.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archive/stream.h"
#include "base/result.h"
#include "image/content/content_store.h"
#include "image/metadata.h"
#include "oci/image_spec.h"

namespace berth::image {

// Writes the images named by `refs` into `out` as one docker-archive (+ OCI layout) tar. A ref
// is a name as the user types it ("busybox", normalised to docker.io/library/busybox:latest),
// a full normalised name, a repo digest or an image ID ("sha256:<hex>" or a unique hex prefix).
// Tags among refs become RepoTags in Docker's familiar form ("busybox:latest"); refs naming the
// same image are merged into one entry. Each layer blob is read twice (once to learn its
// uncompressed size and check its diff_id, once to write it). Writes the tar end marker but
// does not Close() `out`. Errors: NotFound for an unknown ref or a missing blob;
// InvalidArgument for an empty refs list; Internal when a stored layer does not match its
// diff_id. On error `out` holds a partial tar the caller discards.
base::Status Save(const std::vector<std::string>& refs, const ContentStore& content,
                  MetadataStore& metadata, archive::ByteSink& out);

struct LoadOptions {
  // For OCI layouts: the platform picked from a multi-platform index (default: the host's).
  std::optional<oci::Platform> platform;
  // Upper bounds against hostile archives.
  int64_t max_json_size = 8 << 20;  // manifest.json, index.json, configs, manifests
  size_t max_images = 1000;         // manifest.json entries / index.json manifests
  size_t max_layers = 1000;         // per image
  size_t max_entries = 1'000'000;   // tar members
  // Called once per loaded image after its record is stored (PutImage), to unpack its layers
  // into snapshots. The daemon wires Unpacker::Unpack over record.layers here; when unset the
  // image is stored but not unpacked. An error fails Load (the image record stays: a retried
  // unpack finds it).
  std::function<base::Status(const ImageRecord& record)> unpack;
};

// Reads a docker-archive or OCI image layout tar from `in` and stores its images. Returns, per
// image in archive order, its names in familiar form ("busybox:latest"), or its ID
// ("sha256:<hex>") when it has none, as `docker load` prints them.
//
// Checks: member names and the paths in manifest.json/index.json must be plain relative names
// (no "..", no leading "/"; symlinks inside the archive are followed only to other members);
// every blob named by digest must match; each layer's uncompressed digest must equal the
// config's rootfs.diff_ids entry; counts and JSON sizes are bounded by `options`. Only the
// content store and metadata database are written, never a path taken from the archive.
// Errors: InvalidArgument for a malformed or hostile archive (naming the member or field),
// NotFound when a referenced member is missing; store errors pass through.
// Blobs are held by a lease while loading, so a concurrent garbage collection keeps them.
base::Result<std::vector<std::string>> Load(archive::ByteSource& in, ContentStore& content,
                                            MetadataStore& metadata,
                                            const LoadOptions& options = {});

}  // namespace berth::image
