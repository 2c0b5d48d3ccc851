// Internal to berth_archive: directory-fd-relative file operations that never follow a symlink
// in the last component, and lexical checks on names from untrusted archives.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::archive::internal {

// Splits an archive member name into components: leading "/" and "." components dropped, ".."
// applied lexically. Fails with kInvalidArgument when ".." would climb above the root (a
// "breakout" in Docker's terms) or on an embedded NUL. "" or "./" gives an empty vector: the root.
base::Result<std::vector<std::string>> SplitMemberName(std::string_view name);

// Joins components with "/" (no leading slash); "" for none.
std::string JoinComponents(const std::vector<std::string>& parts, size_t count);

// Removes `name` in `dirfd` and, for a directory, everything below it, without following any
// symlink. A missing name is success. Holds one fd per directory level while descending.
base::Status RemoveAllAt(int dirfd, const std::string& name);

// "/proc/self/fd/<dirfd>/<name>": lets l*xattr() reach an entry that must not be opened (a
// symlink, a device, a fifo) through an already-confined directory fd. The name is one component.
std::string ProcFdPath(int dirfd, const std::string& name);

}  // namespace berth::archive::internal
