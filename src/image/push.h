// Pusher: pushes an image from the content store to a registry through a PushTarget, the way
// `docker push` does: per layer (base first, up to three at a time) skip it when the repository
// has it, else mount it from another repository of the same registry that the image is known
// under, else upload it; then the config; then the manifest under the tag.
//
// The manifest is pushed byte-identical to the one in the content store, so the repo digest is
// the digest the image already has locally. Layers go up exactly as stored: an image loaded from
// `docker save` keeps its uncompressed layers under the Docker tar media type
// (application/vnd.docker.image.rootfs.diff.tar), which registries accept; nothing is
// recompressed. For an image pulled through an index only the platform manifest is pushed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/content/content_store.h"
#include "image/metadata.h"
#include "image/pull.h"
#include "image/push_target.h"
#include "oci/digest.h"
#include "oci/reference.h"

namespace berth::image {

// One progress event, in the shape of Docker's JSON progress messages (PullProgress's). `id` is
// the short diff ID of the layer, as docker push shows it. Per-layer statuses, in order:
// "Preparing"; "Waiting" (only for layers queued behind the concurrency limit); then either
// "Layer already exists", "Mounted from <path>", or "Pushing" (current/total, at most one per
// MiB plus the last) followed by "Pushed".
using PushProgress = PullProgress;
using PushProgressFn = PullProgressFn;

struct PushOptions {
  int max_concurrent_uploads = 3;
  // Called from the push's threads, one call at a time.
  PushProgressFn progress;
  // Cross-repository mounts tried per blob (docker's maxMountAttempts).
  int max_mount_attempts = 3;
};

struct PushResult {
  std::string tag;
  oci::Digest digest;  // of the manifest pushed: the repo digest
  int64_t size = 0;    // of the manifest, in bytes
  oci::Digest image_id;
};

// The stores and target are not owned and must outlive the Pusher. Push may be called from
// several threads at once (each call has its own workers).
class Pusher {
 public:
  Pusher(ContentStore* content, MetadataStore* meta, PushTarget* target)
      : content_(content), meta_(meta), target_(target) {}

  // Pushes the image ResolvePushImage(ref) finds to ref's repository under ref's tag.
  base::Result<PushResult> Push(const oci::ImageReference& ref, const PushOptions& options = {});

  // Pushes `image` to the repository and tag of `target`. After the manifest is stored the image
  // gets the name "<target repository>@<digest>" (best effort: a failure to record it is only
  // logged). Errors are the PushTarget's and the stores' (NotFound for a blob missing locally
  // that the registry lacks too), with "push <target>" as context.
  base::Result<PushResult> PushImage(const ImageRecord& image, const oci::ImageReference& target,
                                     const PushOptions& options = {});

 private:
  ContentStore* content_;
  MetadataStore* meta_;
  PushTarget* target_;
};

// The local image a push of `ref` (a tag reference) sends, with Docker's errors: NotFound
// "An image does not exist locally with the tag: <repository>" when no local image has a tag in
// ref's repository, NotFound "tag does not exist: <ref>" when others do; InvalidArgument "cannot
// push a digest reference" for a digest reference.
base::Result<ImageRecord> ResolvePushImage(MetadataStore& meta, const oci::ImageReference& ref);

// The tags local images have in the repository `repo_name` ("127.0.0.1:5000/a/b"), sorted:
// what a push without a tag sends (Docker pushes every tag of the repository).
base::Result<std::vector<std::string>> LocalTags(MetadataStore& meta, const std::string& repo_name);

}  // namespace berth::image
