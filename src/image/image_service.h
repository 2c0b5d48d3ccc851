// ImageService: the image operations the Engine API and `berth-image` expose — list, inspect,
// tag, remove (Docker's untag/delete/conflict rules), history, prune — and garbage collection
// of blobs and snapshots. Results are C++ structs with ToJson helpers in Docker's field names.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "image/content/content_store.h"
#include "image/metadata.h"
#include "image/snapshot/snapshotter.h"
#include "oci/digest.h"
#include "oci/image_spec.h"

namespace berth::image {

// A container using an image, as the daemon knows it.
struct ContainerUser {
  std::string id;
  bool running = false;
};

// Implemented by the daemon (it knows the containers); image/ only asks.
class ContainerUsage {
 public:
  virtual ~ContainerUsage() = default;
  // Some container created from `image`, preferring a running one; nullopt when none.
  virtual std::optional<ContainerUser> FindUser(const oci::Digest& image) = 0;
  bool ImageInUse(const oci::Digest& image) { return FindUser(image).has_value(); }
};

// GET /images/json entry.
struct ImageSummary {
  std::string id;                         // "sha256:<hex>"
  std::vector<std::string> repo_tags;     // familiar: "busybox:latest"
  std::vector<std::string> repo_digests;  // familiar: "busybox@sha256:..."
  int64_t created = 0;                    // unix seconds
  int64_t size = 0;
  std::map<std::string, std::string> labels;
};

// GET /images/{name}/json.
struct ImageInspect {
  std::string id;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  std::string created;  // RFC 3339 as in the config
  std::string author;
  oci::ContainerConfig config;
  std::string architecture;
  std::string os;
  std::string variant;
  int64_t size = 0;
  std::vector<std::string> layers;  // RootFS.Layers: diff IDs
  std::string raw_config;           // the config blob, verbatim
};

// GET /images/{name}/history entry (newest first).
struct HistoryItem {
  std::string id;  // the image ID for the top entry, "<missing>" below
  int64_t created = 0;
  std::string created_by;
  std::vector<std::string> tags;
  int64_t size = 0;
  std::string comment;
};

// DELETE /images/{name} entry: exactly one of the two is set.
struct DeleteItem {
  std::string untagged;
  std::string deleted;
};

struct GcReport {
  std::vector<oci::Digest> blobs;      // removed
  std::vector<oci::Digest> snapshots;  // removed (chain IDs), children first
  int64_t bytes = 0;                   // blob bytes plus snapshot content bytes
  bool snapshots_skipped = false;      // a pull held the tree; try again later
};

struct PruneReport {
  std::vector<DeleteItem> deleted;
  int64_t space_reclaimed = 0;
};

nlohmann::json ToJson(const ImageSummary& s);
nlohmann::json ToJson(const ImageInspect& i);
nlohmann::json ToJson(const HistoryItem& h);
nlohmann::json ToJson(const DeleteItem& d);

// Thread-safe as far as the stores are. Pointers are not owned and must outlive the service;
// `containers` may be null (no containers: nothing is in use).
class ImageService {
 public:
  ImageService(ContentStore* content, MetadataStore* meta, Snapshotter* snapshots,
               ContainerUsage* containers)
      : content_(content), meta_(meta), snapshots_(snapshots), containers_(containers) {}

  // Docker's lookup: a reference ("busybox", "busybox:1", "x@sha256:..") that names an image,
  // else a full or short image ID. NotFound "No such image: <name>".
  base::Result<ImageRecord> Resolve(std::string_view name);

  // All images, most recently added first. dangling_only: only untagged ones.
  base::Result<std::vector<ImageSummary>> List(bool dangling_only = false);
  base::Result<ImageInspect> Inspect(std::string_view name);
  base::Result<std::vector<HistoryItem>> History(std::string_view name);
  // Points the tag reference `target` ("name[:tag]") at the image `source` names.
  // InvalidArgument for a target with a digest.
  base::Status Tag(std::string_view source, std::string_view target);

  // Docker's `rm` rules. By reference: untags it (and, when it was the repository's last tag,
  // its digest references too); deletes the image once it has no names. By ID: untags every
  // name and deletes the image; needs `force` when the names span several repositories
  // (Conflict "conflict: unable to delete <id> (must be forced) - image is referenced in
  // multiple repositories"). An image a container uses is not deleted unless forced (Conflict
  // "conflict: unable to remove repository reference \"x\" (must force) - container <id> is
  // using its referenced image <id>"); a running container's image is never deleted. Deleting
  // runs CollectGarbage, whose removed snapshots are reported as "Deleted" chain IDs.
  // `prune` is accepted for API compatibility (berth keeps no parent images).
  base::Result<std::vector<DeleteItem>> Remove(std::string_view name, bool force,
                                               bool prune = true);

  // Deletes every untagged image no container uses, then collects garbage.
  base::Result<PruneReport> PruneDangling();

  // Removes blobs no image or unexpired lease references, then snapshots nothing holds
  // (children first) unless a pull holds the tree, then leftover directories of crashed
  // unpacks. Never removes anything referenced.
  base::Result<GcReport> CollectGarbage();

 private:
  base::Result<ImageRecord> ResolveImpl(std::string_view name, bool* by_id, std::string* ref_name);
  base::Result<oci::ImageConfig> Config(const ImageRecord& rec, std::string* raw = nullptr);
  base::Result<std::vector<DeleteItem>> DeleteAndCollect(const oci::Digest& id);

  ContentStore* content_;
  MetadataStore* meta_;
  Snapshotter* snapshots_;
  ContainerUsage* containers_;
};

// Familiar forms of stored names: "docker.io/library/busybox:latest" -> "busybox:latest".
std::string FamiliarName(const std::string& stored_name);
// RFC 3339 ("2024-01-02T03:04:05.123Z", "+01:00" offsets too) to unix seconds; 0 for junk.
int64_t ParseRfc3339(std::string_view text);

}  // namespace berth::image
