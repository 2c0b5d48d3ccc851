// Whole-file reads and writes, by path or relative to a directory fd. Errors name the call and
// the path: `open "/sys/fs/cgroup/x": No such file or directory`.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

base::Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
base::Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode = 0);
base::Result<std::string> ReadFile(const std::string& path);
base::Result<std::string> ReadFileAt(int dirfd, const std::string& path);
base::Result<std::string> ReadFd(int fd);
// Writes data with O_WRONLY|O_TRUNC (no O_CREAT): right for cgroupfs, procfs and sysfs files.
base::Status WriteExisting(const std::string& path, std::string_view data);
base::Status WriteExistingAt(int dirfd, const std::string& path, std::string_view data);
// Creates or replaces path atomically: temp file in the same dir, fsync, rename.
base::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// Same, without fsync: for state that need not survive a crash of the machine.
base::Status WriteFileReplace(const std::string& path, std::string_view data, mode_t mode = 0644);
// Creates path, which must not exist yet (else an errno error for EEXIST), and
// writes data into it in place: no temporary, no rename, no fsync. For files in a directory made
// just before, that nobody reads until the write returned and that need not survive a crash of
// the machine (a --rm container's files): on a filesystem where each new inode costs (ext4
// without a journal scans past recently deleted ones) it is half the inodes of
// WriteFileReplace. A failed write removes the file.
base::Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode = 0644);
base::Status WriteAll(int fd, std::string_view data);
base::Status MkdirAll(const std::string& path, mode_t mode = 0755);
// Removes a directory tree (no symlink following). Missing path is success.
base::Status RemoveAll(const std::string& path);
bool Exists(const std::string& path);
base::Result<std::vector<std::string>> ListDir(const std::string& path);

}  // namespace berth::sys
