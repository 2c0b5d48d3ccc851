// Root-confined path resolution.
#include "sys/path.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/strings.h"

namespace berth::sys {

using base::Error;
using base::Fail;

std::string CleanPath(const std::string& path) {
  std::vector<std::string> out;
  for (auto& part : base::SplitNonEmpty(path, '/')) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return "/" + base::Join(out, "/");
}

base::Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = CleanPath(path).substr(1);
  if (rel.empty()) rel = ".";
  while (true) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return Fail(Error::FromErrno(errno, fmt::format("open \"{}\" in rootfs", path)));
  }
}

base::Result<UniqueFd> OpenInRootNoSymlinks(int root_fd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
  std::string rel = CleanPath(path).substr(1);
  if (rel.empty()) rel = ".";
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return Fail(Error::FromErrno(errno, fmt::format("open \"{}\" in rootfs", path)));
  return UniqueFd(static_cast<int>(fd));
}

base::Result<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& path, mode_t mode) {
  std::string clean = CleanPath(path);
  // Usually the directory exists (mount points in an image): one lookup instead of a walk.
  auto existing = OpenInRoot(root_fd, clean, O_PATH | O_DIRECTORY);
  if (existing || existing.error().sys_errno() != ENOENT || clean == "/") return existing;
  // Missing: make sure of the parent first (usually there already, or just created by this
  // call's caller: /dev/pts after /dev), then create only the last name.
  size_t slash = clean.rfind('/');
  std::string name = clean.substr(slash + 1);
  UniqueFd parent = TRY(MkdirAllInRoot(root_fd, slash == 0 ? "/" : clean.substr(0, slash), mode));
  // Only a plain name is created, relative to the already-confined parent fd.
  if (::mkdirat(parent.get(), name.c_str(), mode) != 0 && errno != EEXIST)
    return Fail(Error::FromErrno(errno, fmt::format("mkdir \"{}\" in rootfs", clean)));
  // The name is ours, but it is opened beneath the parent without following a symlink in
  // case something replaced it (or it existed as one: EEXIST above).
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(O_PATH | O_DIRECTORY | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, parent.get(), name.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return Fail(Error::FromErrno(errno, fmt::format("open \"{}\" in rootfs", clean)));
  return UniqueFd(static_cast<int>(fd));
}

base::Result<UniqueFd> EnsureMountPointInRoot(int root_fd, const std::string& path, bool is_dir) {
  std::string clean = CleanPath(path);
  if (is_dir) return MkdirAllInRoot(root_fd, clean);
  auto existing = OpenInRoot(root_fd, clean, O_PATH);
  if (existing) return existing;
  if (existing.error().sys_errno() != ENOENT) return existing;
  size_t slash = clean.rfind('/');
  std::string dir = clean.substr(0, slash);
  std::string name = clean.substr(slash + 1);
  UniqueFd parent = TRY(MkdirAllInRoot(root_fd, dir.empty() ? "/" : dir));
  int fd = ::openat(parent.get(), name.c_str(),
                    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST)
    return Fail(Error::FromErrno(errno, fmt::format("create \"{}\" in rootfs", clean)));
  if (fd >= 0) ::close(fd);
  return OpenInRoot(root_fd, clean, O_PATH);
}

}  // namespace berth::sys
