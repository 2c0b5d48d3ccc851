// Writing layer tars: the diff of an overlayfs upper dir (for commit and build) and plain tars of
// a directory tree (for save and export). Output is pax, deterministic for equal trees.
#pragma once

#include <ctime>
#include <optional>

#include "archive/stream.h"
#include "base/result.h"

namespace berth::archive {

struct DiffOptions {
  // When set, no member's mtime is later than this (SOURCE_DATE_EPOCH), for reproducible layers.
  std::optional<struct timespec> mtime_clamp;
  // Also read user.overlay.opaque as the opaque marker (overlay mounted with "userxattr").
  bool user_opaque_xattr = false;
  // security.selinux labels are host policy and are dropped unless this is set.
  bool include_selinux_xattr = false;
};

// Writes the overlayfs upper dir `upper_dirfd` (any fd of the directory; not consumed) as a
// layer tar into `out`, in OCI form: a 0:0 character device becomes an empty regular file
// ".wh.<name>", a directory with the opaque xattr ("y") is followed by "<dir>/.wh..wh..opq".
// Files with several links are written once, later names as hardlinks to the first (by
// device and inode). Members: names sorted bytewise in each directory, directories as "d/",
// numeric uid/gid without user names, mtime only (no atime/ctime), xattrs except overlay's own
// (trusted.overlay.*, user.overlay.*) and, unless allowed, security.selinux. Sockets are skipped.
// Symlinks are never followed. Writes the end-of-archive marker but does not Close() `out`.
// Errors name the member; a file whose size changes while it is read fails with kConflict.
// The tree must not change meanwhile (the container is stopped or paused).
base::Status WriteDiff(int upper_dirfd, ByteSink& out, const DiffOptions& options = {});

// Writes the tree below `dirfd` as a plain tar: the same as WriteDiff, but character devices
// 0:0 and opaque xattrs are not treated as whiteouts.
base::Status WriteTree(int dirfd, ByteSink& out);

}  // namespace berth::archive
