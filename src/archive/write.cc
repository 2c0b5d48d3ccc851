// WriteDiff/WriteTree: a sorted, fd-relative walk (no path is ever re-resolved, no symlink
// followed) feeding libarchive's pax writer through custom callbacks.
#include "archive/write.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "archive/fs_at.h"
#include "archive/whiteout.h"
#include "base/strings.h"
#include "sys/unique_fd.h"

namespace berth::archive {

using base::Error;
using base::Fail;

namespace {

constexpr size_t kCopyBufSize = 1 << 20;

struct WriteContext {
  explicit WriteContext(ByteSink* s) : sink(s) {}
  ByteSink* sink;
  std::optional<Error> error;
};

la_ssize_t WriteCallback(struct archive* a, void* opaque, const void* buf, size_t size) {
  auto* ctx = static_cast<WriteContext*>(opaque);
  if (auto r = ctx->sink->Write(buf, size); !r) {
    ctx->error = r.error();
    archive_set_error(a, EIO, "%s", r.error().message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<struct archive_entry, EntryFree>;

base::Result<std::vector<std::string>> SortedNames(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::FromErrno(errno, "open directory"));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return Fail(Error::FromErrno(errno, "fdopendir"));
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
  if (err != 0) return Fail(Error::FromErrno(err, "readdir"));
  std::sort(names.begin(), names.end());  // bytewise: std::string compares as unsigned char
  return names;
}

// xattrs of an entry, sorted by name; through `fd` when it is open, else by proc path.
base::Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(int fd,
                                                                          const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string names;
  while (true) {
    ssize_t n = fd >= 0 ? ::flistxattr(fd, nullptr, 0) : ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return out;
      return Fail(Error::FromErrno(errno, "listxattr"));
    }
    if (n == 0) return out;
    names.resize(static_cast<size_t>(n));
    n = fd >= 0 ? ::flistxattr(fd, names.data(), names.size())
                : ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;  // grew meanwhile
    if (n < 0) return Fail(Error::FromErrno(errno, "listxattr"));
    names.resize(static_cast<size_t>(n));
    break;
  }
  for (size_t i = 0; i < names.size();) {
    std::string key(names.c_str() + i);
    i += key.size() + 1;
    if (key.empty()) continue;
    std::string value;
    while (true) {
      ssize_t n = fd >= 0 ? ::fgetxattr(fd, key.c_str(), nullptr, 0)
                          : ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
      if (n < 0 && errno == ENODATA) break;  // removed meanwhile
      if (n < 0) return Fail(Error::FromErrno(errno, fmt::format("getxattr \"{}\"", key)));
      value.resize(static_cast<size_t>(n));
      n = fd >= 0 ? ::fgetxattr(fd, key.c_str(), value.data(), value.size())
                  : ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
      if (n < 0 && errno == ERANGE) continue;
      if (n < 0) return Fail(Error::FromErrno(errno, fmt::format("getxattr \"{}\"", key)));
      value.resize(static_cast<size_t>(n));
      out.emplace_back(std::move(key), std::move(value));
      break;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class TreeWriter {
 public:
  TreeWriter(struct archive* a, WriteContext& ctx, bool diff, const DiffOptions& options)
      : a_(a),
        ctx_(ctx),
        diff_(diff),
        options_(options),
        buf_(std::make_unique_for_overwrite<char[]>(kCopyBufSize)) {}

  base::Status WalkDir(int dirfd, const std::string& prefix);

 private:
  base::Status Member(int dirfd, const std::string& name, const std::string& path);
  base::Status WriteHeader(struct archive_entry* e);
  base::Status WriteEmptyFile(const std::string& path, const struct stat& st);
  base::Status CopyData(int fd, int64_t size);
  void SetTimes(struct archive_entry* e, const struct stat& st) const;
  bool KeepXattr(std::string_view key) const;
  Error ArchiveError(std::string_view what) const {
    if (ctx_.error) return Error(*ctx_.error).Context(what);
    const char* msg = archive_error_string(a_);
    return Error::Internal(fmt::format("{}: {}", what, msg ? msg : "unknown error"));
  }

  struct archive* a_;
  WriteContext& ctx_;
  bool diff_;
  const DiffOptions& options_;
  std::unique_ptr<char[]> buf_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

void TreeWriter::SetTimes(struct archive_entry* e, const struct stat& st) const {
  struct timespec m = st.st_mtim;
  if (options_.mtime_clamp) {
    const auto& c = *options_.mtime_clamp;
    if (m.tv_sec > c.tv_sec || (m.tv_sec == c.tv_sec && m.tv_nsec > c.tv_nsec)) m = c;
  }
  archive_entry_set_mtime(e, m.tv_sec, m.tv_nsec);
}

bool TreeWriter::KeepXattr(std::string_view key) const {
  // overlay's own bookkeeping describes this upper dir, not the content.
  if (base::StartsWith(key, "trusted.overlay.") || base::StartsWith(key, "user.overlay."))
    return false;
  if (key == "security.selinux") return options_.include_selinux_xattr;
  return true;
}

base::Status TreeWriter::WriteHeader(struct archive_entry* e) {
  int r = archive_write_header(a_, e);
  if (r < ARCHIVE_WARN) return Fail(ArchiveError("write header"));
  return {};
}

base::Status TreeWriter::WriteEmptyFile(const std::string& path, const struct stat& st) {
  EntryPtr e(archive_entry_new());
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  SetTimes(e.get(), st);
  return WriteHeader(e.get());
}

base::Status TreeWriter::CopyData(int fd, int64_t size) {
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf_.get(), static_cast<size_t>(std::min<int64_t>(left, kCopyBufSize)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "read file"));
    }
    if (n == 0) return Fail(Error::Conflict("file shrank while it was archived"));
    la_ssize_t w = archive_write_data(a_, buf_.get(), static_cast<size_t>(n));
    if (w != n) return Fail(ArchiveError("write data"));
    left -= n;
  }
  char probe;
  ssize_t extra = ::read(fd, &probe, 1);
  if (extra > 0) return Fail(Error::Conflict("file grew while it was archived"));
  return {};
}

base::Status TreeWriter::Member(int dirfd, const std::string& name, const std::string& path) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return Fail(Error::FromErrno(errno, "stat"));
  if (S_ISSOCK(st.st_mode)) return {};
  size_t slash = path.rfind('/');
  std::string dir_prefix = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  if (diff_ && S_ISCHR(st.st_mode) && st.st_rdev == 0)
    return WriteEmptyFile(dir_prefix + std::string(kWhiteoutPrefix) + name, st);

  sys::UniqueFd fd;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    // O_NOFOLLOW: the entry was just seen as a file or directory; if it changed, fail.
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
    fd.Reset(::openat(dirfd, name.c_str(), flags));
    if (!fd) return Fail(Error::FromErrno(errno, "open"));
  }

  EntryPtr e(archive_entry_new());
  archive_entry_set_pathname(e.get(), (S_ISDIR(st.st_mode) ? path + "/" : path).c_str());
  archive_entry_set_mode(e.get(), st.st_mode);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  SetTimes(e.get(), st);

  bool opaque = false;
  auto xattrs = TRY(ReadXattrs(fd.get(), fd ? std::string() : internal::ProcFdPath(dirfd, name)));
  for (const auto& [key, value] : xattrs) {
    if (diff_ && S_ISDIR(st.st_mode) && value == "y" &&
        (key == kTrustedOpaqueXattr || (options_.user_opaque_xattr && key == kUserOpaqueXattr)))
      opaque = true;
    if (!KeepXattr(key)) continue;
    archive_entry_xattr_add_entry(e.get(), key.c_str(), value.data(), value.size());
  }

  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!first) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return WriteHeader(e.get());
      }
    }
    archive_entry_set_size(e.get(), st.st_size);
    TRY(WriteHeader(e.get()));
    return CopyData(fd.get(), st.st_size);
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) return Fail(Error::FromErrno(errno, "readlink"));
    if (static_cast<size_t>(n) >= target.size())
      return Fail(Error::Conflict("symlink changed while it was archived"));
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(e.get(), target.c_str());
    return WriteHeader(e.get());
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    archive_entry_set_rdev(e.get(), st.st_rdev);
    return WriteHeader(e.get());
  }
  if (S_ISFIFO(st.st_mode)) return WriteHeader(e.get());
  if (S_ISDIR(st.st_mode)) {
    TRY(WriteHeader(e.get()));
    if (opaque) TRY(WriteEmptyFile(path + "/" + std::string(kOpaqueWhiteout), st));
    return WalkDir(fd.get(), path + "/");
  }
  return Fail(Error::InvalidArgument(fmt::format("unsupported file type 0{:o}", st.st_mode)));
}

base::Status TreeWriter::WalkDir(int dirfd, const std::string& prefix) {
  auto names = TRY(SortedNames(dirfd));
  for (const auto& name : names) {
    std::string path = prefix + name;
    TRY_CTX(Member(dirfd, name, path), fmt::format("archive \"{}\"", path));
  }
  return {};
}

base::Status WriteTar(int dirfd, ByteSink& out, bool diff, const DiffOptions& options) {
  WriteContext ctx(&out);
  std::unique_ptr<struct archive, ArchiveWriteFree> a(archive_write_new());
  if (!a) return Fail(Error::Internal("archive_write_new failed"));
  // pax_restricted: ustar headers, plus a pax header only where a member needs one (long names,
  // large ids, xattrs, sub-second mtimes), which is what Docker and containerd write too.
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK)
    return Fail(
        Error::Internal(fmt::format("configure tar writer: {}", archive_error_string(a.get()))));
  if (archive_write_open(a.get(), &ctx, nullptr, WriteCallback, nullptr) != ARCHIVE_OK)
    return Fail(Error::Internal(fmt::format("open tar writer: {}", archive_error_string(a.get()))));
  TreeWriter writer(a.get(), ctx, diff, options);
  TRY(writer.WalkDir(dirfd, ""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (ctx.error) return Fail(Error(*ctx.error).Context("finish tar"));
    return Fail(Error::Internal(fmt::format("finish tar: {}", archive_error_string(a.get()))));
  }
  return {};
}

}  // namespace

base::Status WriteDiff(int upper_dirfd, ByteSink& out, const DiffOptions& options) {
  return WriteTar(upper_dirfd, out, true, options);
}

base::Status WriteTree(int dirfd, ByteSink& out) {
  return WriteTar(dirfd, out, false, DiffOptions{});
}

}  // namespace berth::archive
