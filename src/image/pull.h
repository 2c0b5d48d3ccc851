// Puller: pulls an image from a registry (through a Fetcher) into the content store, the
// snapshots and the metadata. Layers download in parallel (a small thread pool) and each is
// extracted in parallel too; snapshots are committed base first. A layer downloaded from byte 0
// is extracted while it downloads (its bytes teed into an extraction thread); its snapshot is
// committed only once the blob's digest (ContentWriter::Commit) and the diff_id are verified.
// Resumed downloads, blobs already present and downloads that fail or restart are extracted
// from the store once whole.
//
// Crash safety: blobs become visible only when whole and verified (ContentStore), snapshots only
// when whole (Snapshotter), and the image record last, in one transaction. Everything a pull
// writes is held by a lease (with a TTL) until the image record holds it, so GC never removes
// the blobs of a pull in flight. A pull killed at any instant is simply repeated: it reuses the
// whole blobs and snapshots, and resumes partial downloads with Range requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/content/content_store.h"
#include "image/fetcher.h"
#include "image/metadata.h"
#include "image/snapshot/snapshotter.h"
#include "image/unpack.h"
#include "oci/image_spec.h"
#include "oci/reference.h"

namespace berth::image {

// One progress event, in the shape of Docker's JSON progress messages:
// {"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "id": "abc123def456"}.
// Per-layer statuses, in order: "Pulling fs layer", "Waiting", "Downloading" (current/total),
// "Verifying Checksum", "Download complete", "Extracting" (current/total), "Pull complete";
// or "Already exists" for a layer whose snapshot is present. A layer extracted while it downloads
// interleaves "Extracting" with "Downloading", then sends "Download complete", one last
// "Extracting" (total/total) and "Pull complete".
struct PullProgress {
  std::string id;  // 12 hex characters of the layer blob digest
  std::string status;
  int64_t current = 0;  // Downloading / Extracting only
  int64_t total = 0;
};
using PullProgressFn = std::function<void(const PullProgress&)>;

struct PullOptions {
  oci::Platform platform = oci::HostPlatform();
  int max_concurrent_downloads = 3;
  // Called from the pull's threads, one call at a time.
  PullProgressFn progress;
  // How long a killed pull's partial content stays protected from GC.
  std::chrono::seconds lease_ttl{std::chrono::hours(24)};
};

struct PullResult {
  oci::Digest image_id;  // the config digest
  oci::Digest digest;    // what the reference resolved to (index or manifest): the repo digest
  // The names the image got: "docker.io/library/busybox:latest" (pull by tag) and
  // "docker.io/library/busybox@sha256:<digest>".
  std::vector<std::string> names;
  // false when the first name already pointed at this image ("Image is up to date").
  bool updated = true;
};

struct StreamedExtract;  // pull.cc

// The stores and fetcher are not owned and must outlive the Puller. Pull may be called from
// several threads at once (each call has its own workers).
class Puller {
 public:
  Puller(ContentStore* content, MetadataStore* meta, Snapshotter* snapshots, Fetcher* fetcher)
      : content_(content), meta_(meta), snapshots_(snapshots), fetcher_(fetcher) {}

  // Errors are the Fetcher's (NotFound for an unknown image, ...), InvalidArgument for an image
  // whose config does not match its manifest or layers, and store errors.
  base::Result<PullResult> Pull(const oci::ImageReference& ref, const PullOptions& options = {});

 private:
  base::Status Download(const oci::ImageReference& ref, const oci::Descriptor& blob,
                        const std::function<bool()>& aborted,
                        const std::function<void(int64_t, int64_t)>& progress,
                        StreamedExtract* stream = nullptr);

  ContentStore* content_;
  MetadataStore* meta_;
  Snapshotter* snapshots_;
  Fetcher* fetcher_;
};

// "sha256:0123456789abcdef..." -> "0123456789ab" (Docker's short IDs).
std::string ShortId(const oci::Digest& digest);

}  // namespace berth::image
