// fd-relative removal and member-name parsing for extraction.
#include "archive/fs_at.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::archive::internal {

using base::Error;
using base::Fail;

base::Result<std::vector<std::string>> SplitMemberName(std::string_view name) {
  if (name.find('\0') != std::string_view::npos)
    return Fail(Error::InvalidArgument("member name contains a NUL byte"));
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view part = name.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      // CVE-2014-9356 class: refuse, as Docker does, rather than silently clamping at the root.
      if (parts.empty())
        return Fail(Error::InvalidArgument(
            fmt::format("member \"{}\" would be written outside the root (breakout)", name)));
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return parts;
}

std::string JoinComponents(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

namespace {

base::Status RemoveChildren(int dirfd, const std::string& what) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::FromErrno(errno, fmt::format("open \"{}\"", what)));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return Fail(Error::FromErrno(errno, fmt::format("fdopendir \"{}\"", what)));
  }
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (de == nullptr) break;
    if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
    names.emplace_back(de->d_name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Fail(Error::FromErrno(err, fmt::format("readdir \"{}\"", what)));
  for (const auto& n : names) TRY(RemoveAllAt(dirfd, n));
  return {};
}

}  // namespace

base::Status RemoveAllAt(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM)
    return Fail(Error::FromErrno(errno, fmt::format("unlink \"{}\"", name)));
  // O_NOFOLLOW: if a symlink took the directory's place meanwhile we fail instead of descending.
  sys::UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) {
    if (errno == ENOENT) return {};
    return Fail(Error::FromErrno(errno, fmt::format("open \"{}\"", name)));
  }
  TRY(RemoveChildren(sub.get(), name));
  sub.Reset();
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail(Error::FromErrno(errno, fmt::format("rmdir \"{}\"", name)));
  return {};
}

std::string ProcFdPath(int dirfd, const std::string& name) {
  return fmt::format("/proc/self/fd/{}/{}", dirfd, name);
}

}  // namespace berth::archive::internal
