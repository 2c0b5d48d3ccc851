// Snapshotter: unpacked layers and container writable layers as overlayfs directories under
// <root>/{<n>/fs, <n>/work}, where <n> is a short sequence number. The chain ID -> <n> mapping
// (and parent links, refcounts) lives in MetadataStore's snapshots table. The snapshotter never
// mounts anything for its caller: it returns MountSpecs that the runtime (or a tool) performs.
//
// Crash safety: a snapshot directory is built under a temporary name ("tmp-*"), renamed into
// place, and only then recorded in the database. A crash leaves either an unrecorded temporary
// or numbered directory (removed by CleanupOrphans, never used) or a recorded, whole snapshot.
//
// Overlayfs limit: all mount options must fit in one page (4096 bytes on x86-64/arm64), so an
// image of more than ~100 layers under a long root path cannot be mounted with absolute
// lowerdirs. Directory names are kept short for that reason; a spec that would exceed the limit
// is refused with InvalidArgument ("overlay mount options exceed one page: N layers").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/metadata.h"
#include "oci/digest.h"
#include "sys/unique_fd.h"

namespace berth::image {

// What to mount: mount(source, target, type, flags from options, data from options).
// type "overlay": options "lowerdir=a:b:c" (top first), "upperdir=..", "workdir=..".
// type "bind": options include "rbind" and "ro" for a read-only single-layer view.
struct MountSpec {
  std::string type;
  std::string source;
  std::vector<std::string> options;
  bool operator==(const MountSpec&) const = default;
};

// A path that containers of an image need in their rootfs before the runtime mounts over it:
// a directory, or an empty file (the target of a file bind mount). Relative ("proc",
// "etc/hosts").
struct MountPoint {
  std::string path;
  bool directory = true;
  bool operator==(const MountPoint&) const = default;
};

// Thread-safe; several processes may share one root (renames and a lock file serialise them).
class Snapshotter {
 public:
  // `root` is the snapshots directory (<berth root>/snapshots), created when missing.
  // `meta` is not owned and must outlive the snapshotter.
  static base::Result<std::unique_ptr<Snapshotter>> Open(std::string root, MetadataStore* meta);

  // Removes the spare container layers it made (MakeSpareContainerDir).
  ~Snapshotter();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  const std::string& root() const { return root_; }

  // A fresh empty directory to extract one layer into (<root>/tmp-<random>/fs). Pass it to
  // CommitLayer, or DiscardLayerDir on failure.
  base::Result<std::string> PrepareLayerDir();
  base::Status DiscardLayerDir(const std::string& dir);

  // Moves a directory from PrepareLayerDir into place as the snapshot of chain_id (with its
  // parent's chain ID, which must already be committed) and records it. If that chain ID is
  // already committed (a concurrent unpack won), ours is discarded and this succeeds.
  // `size` is the layer's content size (see DirectorySize). NotFound for an unknown parent.
  base::Status CommitLayer(const std::string& dir, const oci::Digest& chain_id,
                           const std::optional<oci::Digest>& parent, int64_t size);

  bool Exists(const oci::Digest& chain_id);

  // A container's writable layer on top of the image whose top layer is `parent` (nullopt for
  // an image without layers): new upper and work dirs, recorded as a snapshot held by the
  // container (refcount 1) so GC keeps it and everything below it. Returns one overlay mount
  // (lowerdirs top first); with no parent, a rw bind of the upper dir. AlreadyExists when `key`
  // is taken. `durable` false: its record is not synced (MetadataStore::PutSnapshot), for a
  // container that a power loss ends anyway (--rm).
  base::Result<std::vector<MountSpec>> PrepareContainer(const std::string& key,
                                                        const std::optional<oci::Digest>& parent,
                                                        bool durable = true);
  // Gives the image whose top layer is `top` an init layer (as dockerd's "-init" layer, but
  // shared by all the image's containers): a directory beside the top layer's fs/ holding
  // those of `points` the image lacks, placed above the image's layers in the mounts of every
  // container on it (ContainerMounts). Otherwise the runtime creates its mount points in each
  // container's upper dir at every start, each a create through overlayfs (~1 ms per start
  // here). A point counts as present when some layer has it (whiteouts and opaque directories
  // honoured); a point under a symlink or a non-directory is left to the runtime. Built once,
  // atomically (a rename), and removed with the top layer. NotFound for an unknown `top`.
  base::Status EnsureInitLayer(const oci::Digest& top, const std::vector<MountPoint>& points);
  // The mounts of an existing container snapshot. NotFound for an unknown key.
  base::Result<std::vector<MountSpec>> ContainerMounts(const std::string& key);
  // The container's upper directory (for commit: archive::WriteDiff). NotFound as above.
  base::Result<std::string> ContainerUpperDir(const std::string& key);
  // Drops the container's snapshot and its directories (the caller has unmounted it).
  // NotFound for an unknown key. `durable` as for PrepareContainer.
  base::Status RemoveContainer(const std::string& key, bool durable = true);

  // A read-only view of a committed layer and all below it: a ro bind for one layer, an
  // overlay with only lowerdirs for several.
  base::Result<std::vector<MountSpec>> View(const oci::Digest& chain_id);

  // The content size recorded for a layer snapshot (bytes, see DirectorySize).
  base::Result<int64_t> Usage(const oci::Digest& chain_id);
  // The current content size of a container's upper dir.
  base::Result<int64_t> ContainerUsage(const std::string& key);

  // The directory holding a layer's files (<root>/<n>/fs). NotFound when not committed.
  base::Result<std::string> LayerDir(const oci::Digest& chain_id);

  // Removes a snapshot that MetadataStore::UnreferencedSnapshots listed: the record first, then
  // the directory. Conflict when it is still referenced.
  base::Status Remove(const oci::Digest& chain_id);

  // A writer's hold on the tree (a pull between committing snapshots and recording its image):
  // while any process holds one, CollectGarbage leaves snapshots alone. Released when the fd
  // closes (also on SIGKILL).
  base::Result<sys::UniqueFd> Hold();
  // For GC: the exclusive counterpart of Hold, or nullopt while a writer holds the tree.
  base::Result<std::optional<sys::UniqueFd>> TryHoldExclusive();

  // Removes numbered directories that no record names and temporaries older than max_age
  // (left by a crash or a failed unpack). Returns how many were removed.
  base::Result<int> CleanupOrphans(std::chrono::seconds max_age);

  // How RemoveContainer deletes a writable layer's directory once its record is gone (default:
  // sys::RemoveAll, here and now). berthd passes its trash so that the unlinks happen after the
  // client has its answer. Set before the snapshotter is shared between threads.
  // Makes one spare container layer ahead of need (<root>/tmp-<random> with fs/ and work/),
  // unless one is waiting already: the next PrepareContainer takes it instead of making those
  // directories while its client waits (three new inodes: on ext4 without a journal each scans
  // past the recently deleted ones, 0.2-0.5 ms during a loop of runs on the reference VM).
  // Call it off any request's path. A spare is an unrecorded temporary: a crash leaves it to
  // CleanupOrphans like any other. Thread-safe.
  base::Status MakeSpareContainerDir();

  using TreeRemover = std::function<base::Status(const std::string& dir)>;
  void SetContainerTreeRemover(TreeRemover remove) { remove_container_tree_ = std::move(remove); }

 private:
  Snapshotter(std::string root, MetadataStore* meta) : root_(std::move(root)), meta_(meta) {}
  // Renames the temporary dir `tmp` (the parent of fs/) to the next free number; returns it.
  base::Result<std::string> Place(const std::string& tmp);
  base::Result<std::string> LowerDirs(const oci::Digest& top, size_t* count);
  static oci::Digest ContainerId(const std::string& key);
  std::string InitDir(const std::string& top_key) const;

  std::string root_;
  MetadataStore* meta_;
  // A temporary dir with fs/ and work/ for a container layer: a spare when there is one.
  base::Result<std::string> TakeContainerDir(bool* spare);
  base::Result<std::string> MakeContainerDir();

  std::mutex mu_;
  uint64_t next_ = 0;                // guarded by mu_
  std::vector<std::string> spares_;  // guarded by mu_: from MakeSpareContainerDir
  TreeRemover remove_container_tree_;
};

// Bytes of content below dir: sizes of regular files (each inode once) and symlinks; what
// Docker reports as a layer's size.
base::Result<int64_t> DirectorySize(const std::string& dir);

}  // namespace berth::image
