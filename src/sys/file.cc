// File helpers over raw syscalls.
#include "sys/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace berth::sys {

using base::Error;
using base::Fail;

base::Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  return OpenAt(AT_FDCWD, path, flags, mode);
}

base::Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Fail(Error::FromErrno(errno, fmt::format("open \"{}\"", path)));
  return UniqueFd(fd);
}

base::Result<std::string> ReadFd(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "read"));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

base::Result<std::string> ReadFile(const std::string& path) { return ReadFileAt(AT_FDCWD, path); }

base::Result<std::string> ReadFileAt(int dirfd, const std::string& path) {
  auto fd = TRY(OpenAt(dirfd, path, O_RDONLY));
  return TRY_CTX(ReadFd(fd.get()), fmt::format("read \"{}\"", path));
}

base::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "write"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

base::Status WriteExisting(const std::string& path, std::string_view data) {
  return WriteExistingAt(AT_FDCWD, path, data);
}

base::Status WriteExistingAt(int dirfd, const std::string& path, std::string_view data) {
  auto fd = TRY(OpenAt(dirfd, path, O_WRONLY | O_TRUNC));
  // Kernel interface files take one write; report the errno the kernel gives for the value.
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0)
    return Fail(Error::FromErrno(errno, fmt::format("write \"{}\" to \"{}\"", data, path)));
  return {};
}

namespace {
base::Status WriteAndRename(const std::string& path, std::string_view data, mode_t mode,
                            bool sync) {
  std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  {
    auto fd = TRY(Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    auto st = WriteAll(fd.get(), data);
    if (!st || (sync && ::fsync(fd.get()) != 0)) {
      ::unlink(tmp.c_str());
      if (!st) return Fail(std::move(st).error().Context(fmt::format("write \"{}\"", tmp)));
      return Fail(Error::FromErrno(errno, fmt::format("fsync \"{}\"", tmp)));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Fail(Error::FromErrno(e, fmt::format("rename \"{}\" to \"{}\"", tmp, path)));
  }
  return {};
}
}  // namespace

base::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, true);
}

base::Status WriteFileReplace(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, false);
}

base::Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  auto fd = TRY(Open(path, O_WRONLY | O_CREAT | O_EXCL, mode));
  if (auto st = WriteAll(fd.get(), data); !st) {
    ::unlink(path.c_str());
    return Fail(std::move(st).error().Context(fmt::format("write \"{}\"", path)));
  }
  return {};
}

base::Status MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  // The common case first: the parent exists (one mkdir), or the whole path does (one mkdir
  // and one stat). Walking from "/" costs a failed mkdir per component on every call.
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  }
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t next = path.find('/', i);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Fail(Error::FromErrno(errno, fmt::format("mkdir \"{}\"", cur)));
    i = next + 1;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("stat \"{}\"", path)));
  if (!S_ISDIR(st.st_mode))
    return Fail(Error::FromErrno(ENOTDIR, fmt::format("mkdir \"{}\"", path)));
  return {};
}

namespace {
base::Status RemoveAllAt(int dirfd, const std::string& name, const std::string& shown) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM)
    return Fail(Error::FromErrno(errno, fmt::format("unlink \"{}\"", shown)));
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return Fail(Error::FromErrno(errno, fmt::format("open \"{}\"", shown)));
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return Fail(Error::FromErrno(errno, fmt::format("fdopendir \"{}\"", shown)));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  base::Status st;
  for (auto& n : names) {
    st = RemoveAllAt(::dirfd(d), n, shown + "/" + n);
    if (!st) break;
  }
  ::closedir(d);
  TRY(st);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail(Error::FromErrno(errno, fmt::format("rmdir \"{}\"", shown)));
  return {};
}
}  // namespace

base::Status RemoveAll(const std::string& path) { return RemoveAllAt(AT_FDCWD, path, path); }

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

base::Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return Fail(Error::FromErrno(errno, fmt::format("opendir \"{}\"", path)));
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace berth::sys
