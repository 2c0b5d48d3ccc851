// MetadataStore: what berth knows about its images, in SQLite (<root>/berth.db, WAL).
//
// Images (keyed by config digest) with their ordered layers, the names that point at them (tags
// and repo digests), the blobs each image keeps alive in the content store, leases that keep the
// blobs of a pull in progress alive, and snapshots (unpacked layers keyed by chain ID).
// Every change is one SQLite transaction, so a SIGKILL at any instant leaves either the whole
// change or none of it, and the next Open needs no repair. The schema is versioned
// (schema_version table) and migrated forward on Open.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/digest.h"
#include "oci/image_spec.h"

struct sqlite3;

namespace berth::image {

class StmtCache;

struct LayerRecord {
  oci::Digest diff_id;   // digest of the uncompressed tar (config rootfs.diff_ids[i])
  oci::Digest chain_id;  // oci::ChainIds(diff_ids)[i]; names the layer's snapshot
  oci::Digest blob;      // the layer blob as stored (usually compressed)
  int64_t size = 0;      // the blob's size in bytes
  std::string media_type;
  bool operator==(const LayerRecord&) const = default;
};

struct ImageRecord {
  oci::Digest id;               // the config digest: the image ID
  oci::Digest manifest_digest;  // the platform manifest
  // What the name resolved to when pulled: an index or the manifest itself. Only media_type,
  // digest and size are stored.
  oci::Descriptor target;
  std::string created;              // RFC 3339, from the config
  int64_t size = 0;                 // bytes as the engine reports them (the caller's sum)
  oci::Platform platform;           // os, architecture and variant are stored
  std::vector<LayerRecord> layers;  // base layer first
  // Normalised references: "docker.io/library/busybox:latest" (tag) or
  // "docker.io/library/busybox@sha256:..." (repo digest). PutImage adds these (moving a name
  // from another image); GetImage returns all, sorted.
  std::vector<std::string> names;
  // Every blob the image keeps alive in the content store. PutImage adds target, manifest,
  // config and layer blobs itself, so callers list only others; GetImage returns all, sorted.
  std::vector<oci::Digest> blobs;
  int64_t added_at = 0;  // unix nanoseconds when first stored; set by PutImage
};

// An unpacked layer. refcount counts the users this database does not record by itself
// (containers, builds); images (through their layers) and child snapshots (through parent) hold
// a snapshot without counting.
struct SnapshotRecord {
  oci::Digest chain_id;
  std::string key;  // the snapshot's directory name under the snapshots root; unique
  std::optional<oci::Digest> parent;
  int64_t size = 0;
  int64_t refcount = 0;
  bool operator==(const SnapshotRecord&) const = default;
};

// Thread-safe: one connection, calls serialised by a mutex. Several processes may open the same
// database (SQLite locking; a busy database is retried for busy_timeout, then Unavailable).
// Not usable across fork(): open a new store in the child.
// Errors: SQLite failures carry "metadata: <sqlite message>" with context, classed as
// AlreadyExists (UNIQUE/PRIMARY KEY), Conflict (FOREIGN KEY), InvalidArgument (other
// constraints), Unavailable (busy/locked), PermissionDenied (read-only, no access), Internal.
class MetadataStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens or creates <root>/berth.db (root must exist) and migrates it to kSchemaVersion.
  // Fails when the database is from a newer berth (a schema version above kSchemaVersion).
  static base::Result<std::unique_ptr<MetadataStore>> Open(
      const std::string& root,
      std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000));
  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  const std::string& path() const { return path_; }
  base::Result<int> SchemaVersion();
  // PRAGMA integrity_check and foreign_key_check; Internal naming the first problem.
  base::Status Check();

  // --- images -------------------------------------------------------------------------------
  // Inserts or updates the image, replaces its layers, adds its blob refs and names; one
  // transaction. Updating keeps added_at and earlier blob refs.
  base::Status PutImage(const ImageRecord& image);
  // NotFound "image sha256:... not found".
  base::Result<ImageRecord> GetImage(const oci::Digest& id);
  // By exact normalised name, else by full image ID ("sha256:<hex>"). NotFound otherwise.
  base::Result<ImageRecord> ResolveName(const std::string& name);
  // By a prefix of the ID's hex (Docker's short IDs, "sha256:" optional). NotFound when none
  // matches, Conflict when several do; InvalidArgument when the prefix is not hex.
  base::Result<ImageRecord> ResolveIdPrefix(std::string_view prefix);
  // Points name at image id (moving it from any other image); NotFound if id is unknown.
  base::Status Tag(const std::string& name, const oci::Digest& id);
  // Removes name; returns whether its image still has other names. NotFound for unknown names.
  base::Result<bool> Untag(const std::string& name);
  // All images, most recently added first.
  base::Result<std::vector<ImageRecord>> ListImages();
  // Removes the image with its names, layers and blob refs (not its blobs or snapshots).
  base::Status DeleteImage(const oci::Digest& id);
  // Images without any tag (Docker's "<none>:<none>"), sorted by ID.
  base::Result<std::vector<oci::Digest>> DanglingImages();

  // --- blob references and leases -------------------------------------------------------------
  // The subset of all_blobs that no image and no unexpired lease references, sorted. For a
  // garbage collector: a pull takes a lease and adds each blob to it before writing the blob, so
  // a blob listed by the content store after that is never returned here while the pull runs.
  base::Result<std::vector<oci::Digest>> UnreferencedBlobs(
      const std::vector<oci::Digest>& all_blobs);
  // ttl 0 means the lease never expires. AlreadyExists for a taken id.
  base::Status CreateLease(const std::string& id, std::chrono::seconds ttl);
  // NotFound for an unknown lease; adding a blob twice is fine.
  base::Status AddLeaseBlob(const std::string& lease, const oci::Digest& blob);
  base::Status DeleteLease(const std::string& id);
  // Returns how many expired leases were removed.
  base::Result<int> DeleteExpiredLeases();

  // --- snapshots ------------------------------------------------------------------------------
  // AlreadyExists when the chain ID or key is taken; NotFound when the parent is unknown.
  // `durable` false: the commit is not synced (a --rm container's writable layer, which a power
  // loss ends anyway); the next synced commit makes it durable with everything before it.
  base::Status PutSnapshot(const SnapshotRecord& snapshot, bool durable = true);
  base::Result<SnapshotRecord> GetSnapshot(const oci::Digest& chain_id);
  base::Result<std::vector<SnapshotRecord>> ListSnapshots();
  // Return the new count. Decrementing a zero count is InvalidArgument.
  base::Result<int64_t> IncSnapshotRef(const oci::Digest& chain_id);
  base::Result<int64_t> DecSnapshotRef(const oci::Digest& chain_id);
  // Conflict while the snapshot is counted, has children, or is a layer of an image.
  // `release_one` first drops one reference in the same transaction (one commit, one sync):
  // the last holder deleting what it held.
  base::Status DeleteSnapshot(const oci::Digest& chain_id, bool release_one = false,
                              bool durable = true);
  // Snapshots that nothing holds, directly or through a descendant: children before parents, so
  // deleting them in order succeeds.
  base::Result<std::vector<SnapshotRecord>> UnreferencedSnapshots();

 private:
  MetadataStore(sqlite3* db, std::string path);
  base::Status Migrate();
  base::Result<ImageRecord> LoadImage(const oci::Digest& id);
  base::Result<std::optional<oci::Digest>> LookupName(const std::string& name);

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
  // Prepared statements by SQL text, kept for the connection's life: a container's create and
  // removal run some forty statements, and preparing each anew cost more than running it.
  std::unique_ptr<StmtCache> stmts_;
};

}  // namespace berth::image
