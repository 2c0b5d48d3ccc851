// Path resolution confined to a root directory fd: openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS). A symlink in an image ("/evil -> /") resolves inside the root, never
// onto the host (CVE-2021-30465 class). Paths are cleaned lexically first.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

// "a//b/./c/../d/" -> "/a/b/d"; ".." never climbs above "/".
std::string CleanPath(const std::string& path);

base::Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode = 0);
// Like OpenInRoot, but any symlink on the way fails with ELOOP (RESOLVE_NO_SYMLINKS).
base::Result<UniqueFd> OpenInRootNoSymlinks(int root_fd, const std::string& path, int flags);
// Creates every missing directory of path inside root; returns an O_PATH fd of the last one.
base::Result<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& path, mode_t mode = 0755);
// Ensures path exists inside root as a regular file (mount point for a file bind) or directory,
// creating parents; returns an O_PATH fd of it.
base::Result<UniqueFd> EnsureMountPointInRoot(int root_fd, const std::string& path, bool is_dir);

}  // namespace berth::sys
