// Layer extraction: applies an (uncompressed) OCI layer tar to a directory with fd-confined
// operations only, so that no member name, symlink or hardlink can write outside it.
#pragma once

#include <cstdint>

#include "archive/stream.h"
#include "base/result.h"

namespace berth::archive {

struct ExtractOptions {
  // true: the directory is an overlayfs lower/upper layer dir, and whiteouts are written in
  // overlayfs form (".wh.x" -> char device 0:0 named "x"; ".wh..wh..opq" -> the opaque xattr on
  // its directory). false: the directory is a flat rootfs holding the layers below, and
  // whiteouts delete what they name there (for import, and for filesystems without overlay).
  bool overlay_whiteouts = true;
  // Which opaque xattr(s) overlay mode sets: trusted.overlay.opaque (kernel overlay as root)
  // and/or user.overlay.opaque (overlay mounted with "userxattr" in a user namespace).
  bool trusted_opaque_xattr = true;
  bool user_opaque_xattr = false;
  // Apply each member's uid/gid. Off for a rootless daemon, which cannot chown.
  bool preserve_ownership = true;
  // xattrs from the archive are applied except trusted.* (it steers overlayfs: a layer could
  // plant trusted.overlay.redirect) and security.selinux (a label from another host) unless
  // these allow them. security.capability is kept (file capabilities, e.g. ping).
  bool allow_trusted_xattrs = false;
  bool allow_selinux_xattr = false;
};

struct ExtractStats {
  uint64_t entries = 0;  // members read, of every kind, including whiteouts and skipped
  uint64_t files = 0;    // regular files written
  uint64_t bytes = 0;    // file content bytes written (holes of sparse files excluded)
  uint64_t dirs = 0;
  uint64_t symlinks = 0;
  uint64_t hardlinks = 0;
  uint64_t devices = 0;         // char/block devices and fifos (whiteout devices excluded)
  uint64_t whiteouts = 0;       // ".wh.<name>" and ".wh..wh..opq" members
  uint64_t xattrs_skipped = 0;  // filtered by policy or unsupported by the filesystem
  uint64_t tar_bytes = 0;       // bytes read from the source, end-of-archive padding included
};

// Reads a tar (ustar, pax, GNU: long names, sparse files) from `uncompressed_tar` and writes
// every member below `root_dirfd` (an fd of a directory, O_PATH is enough, not consumed).
//
// Confinement: member names are cleaned lexically; a ".." that climbs above the root fails
// with kInvalidArgument ("breakout"), a leading "/" is relative to the root. Parent directories
// are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so symlinks met on the way
// (from this archive or already in the dir) resolve as if the root were "/"; the last component
// is created with *at() calls on the parent fd and O_NOFOLLOW/AT_SYMLINK_NOFOLLOW. Hardlink
// targets resolve the same way and must name an existing entry inside the root.
//
// Replacement follows Docker: an existing entry is removed (a directory with its contents)
// unless both it and the member are directories, in which case the directory is kept and its
// metadata updated. Member metadata applied: mode (incl. setuid/setgid/sticky), uid/gid,
// mtime/atime (directories' after all members, so their contents do not bump them), xattrs
// (see ExtractOptions). Sparse files are written with holes. Sockets are skipped.
//
// The source is read to its end after the tar's end-of-archive marker, so a tap on it sees the
// whole stream (the diff_id covers trailing padding too). On error the directory holds a partial
// extraction that the caller removes; nothing outside it has been touched.
// Not thread-safe with respect to other writers of the same directory.
base::Result<ExtractStats> ExtractLayer(ByteSource& uncompressed_tar, int root_dirfd,
                                        const ExtractOptions& options = {});

}  // namespace berth::archive
