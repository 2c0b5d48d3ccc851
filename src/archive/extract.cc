// ExtractLayer: libarchive parses the tar; every filesystem change is an *at() call on a
// directory fd obtained with openat2(RESOLVE_IN_ROOT), so hostile names, symlinks and hardlinks
// stay inside the root (CVE-2014-6407, CVE-2014-9356, CVE-2018-15664 classes).
#include "archive/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "archive/fs_at.h"
#include "archive/whiteout.h"
#include "base/strings.h"
#include "sys/file.h"
#include "sys/path.h"

namespace berth::archive {

using base::Error;
using base::Fail;
using internal::JoinComponents;
using internal::ProcFdPath;
using internal::RemoveAllAt;
using internal::SplitMemberName;

namespace {

constexpr size_t kReadBufSize = 1 << 20;

struct ReadContext {
  explicit ReadContext(ByteSource* s) : source(s) {}
  ByteSource* source;
  std::unique_ptr<uint8_t[]> buf = std::make_unique_for_overwrite<uint8_t[]>(kReadBufSize);
  std::optional<Error> error;
  uint64_t bytes = 0;
};

la_ssize_t ReadCallback(struct archive* a, void* opaque, const void** out) {
  auto* ctx = static_cast<ReadContext*>(opaque);
  auto n = ctx->source->Read(ctx->buf.get(), kReadBufSize);
  if (!n) {
    ctx->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  ctx->bytes += *n;
  *out = ctx->buf.get();
  return static_cast<la_ssize_t>(*n);
}

struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

const char* EntryPath(struct archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  // In the C locale libarchive cannot convert a pax UTF-8 name to "multibyte" and returns null;
  // Linux names are bytes, so the UTF-8 form is the right one to write.
  return p != nullptr ? p : archive_entry_pathname_utf8(e);
}
const char* EntryHardlink(struct archive_entry* e) {
  const char* p = archive_entry_hardlink(e);
  return p != nullptr ? p : archive_entry_hardlink_utf8(e);
}
const char* EntrySymlink(struct archive_entry* e) {
  const char* p = archive_entry_symlink(e);
  return p != nullptr ? p : archive_entry_symlink_utf8(e);
}

struct DirTime {
  std::vector<std::string> parts;
  struct timespec times[2];
};

class Extractor {
 public:
  Extractor(int root, const ExtractOptions& options, ExtractStats& stats)
      : root_(root), options_(options), stats_(stats) {}

  base::Status Entry(struct archive* a, struct archive_entry* e);
  base::Status Finish();

 private:
  // An O_PATH fd of the directory parts[0, n), resolved in the root and created (0755) when
  // missing and `create` is set. The fd stays valid until the next call.
  base::Result<int> ParentFd(const std::vector<std::string>& parts, size_t n, bool create);
  // Makes room for a new member `name` in `parent`: true when an existing directory is kept
  // (both are directories), false when the name is free now.
  base::Result<bool> PrepareTarget(int parent, const std::string& name, bool new_is_dir);
  base::Status RemoveAt(int parent, const std::string& name);

  base::Status Root(struct archive_entry* e);
  base::Status Whiteout(const std::vector<std::string>& parts, const std::string& target);
  base::Status Opaque(const std::vector<std::string>& dir_parts);
  base::Status PruneOpaque(int dirfd, const std::string& rel);
  base::Status Regular(struct archive* a, struct archive_entry* e, int parent,
                       const std::string& name);
  base::Status Directory(struct archive_entry* e, const std::vector<std::string>& parts,
                         int parent);
  base::Status Hardlink(struct archive_entry* e, int parent, const std::string& name);

  // Metadata through an open fd (regular files, directories).
  base::Status ApplyFd(struct archive_entry* e, int fd, bool set_times);
  // Metadata by name in the parent, never following a symlink (symlinks, devices, fifos).
  base::Status ApplyAt(struct archive_entry* e, int parent, const std::string& name,
                       bool is_symlink);
  base::Status ApplyXattrs(struct archive_entry* e, int fd, int parent, const std::string& name);
  bool XattrAllowed(std::string_view name) const;
  void Times(struct archive_entry* e, struct timespec ts[2]) const;
  void MarkUnpacked(const std::vector<std::string>& parts);

  int root_;
  const ExtractOptions& options_;
  ExtractStats& stats_;

  std::string cached_path_;
  sys::UniqueFd cached_fd_;
  bool cache_valid_ = false;

  std::vector<DirTime> dir_times_;
  // Flat mode: what this layer wrote, which an opaque whiteout in the same layer must spare.
  std::unordered_set<std::string> unpacked_;
};

base::Result<int> Extractor::ParentFd(const std::vector<std::string>& parts, size_t n,
                                      bool create) {
  std::string path = JoinComponents(parts, n);
  // Members come grouped by directory: one openat2 per directory rather than one per member.
  if (cache_valid_ && path == cached_path_) return cached_fd_.get();
  auto fd = sys::OpenInRoot(root_, path, O_PATH | O_DIRECTORY);
  if (!fd && create && fd.error().sys_errno() == ENOENT)
    fd = sys::MkdirAllInRoot(root_, path, 0755);
  if (!fd) return Fail(std::move(fd).error());
  cached_fd_ = std::move(*fd);
  cached_path_ = std::move(path);
  cache_valid_ = true;
  return cached_fd_.get();
}

base::Status Extractor::RemoveAt(int parent, const std::string& name) {
  // The removed entry may be a directory on the cached path; the cached fd itself stays usable
  // for this member (it is `parent`, which is not removed).
  cache_valid_ = false;
  return RemoveAllAt(parent, name);
}

base::Result<bool> Extractor::PrepareTarget(int parent, const std::string& name, bool new_is_dir) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return Fail(Error::FromErrno(errno, "stat existing entry"));
  }
  if (new_is_dir && S_ISDIR(st.st_mode)) return true;
  TRY(RemoveAt(parent, name));
  return false;
}

void Extractor::Times(struct archive_entry* e, struct timespec ts[2]) const {
  if (archive_entry_mtime_is_set(e)) {
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  } else {
    ts[1].tv_sec = 0;
    ts[1].tv_nsec = UTIME_OMIT;
  }
  if (archive_entry_atime_is_set(e)) {
    ts[0].tv_sec = archive_entry_atime(e);
    ts[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    ts[0] = ts[1];
  }
}

bool Extractor::XattrAllowed(std::string_view name) const {
  if (base::StartsWith(name, "trusted.")) return options_.allow_trusted_xattrs;
  if (name == "security.selinux") return options_.allow_selinux_xattr;
  return true;
}

base::Status Extractor::ApplyXattrs(struct archive_entry* e, int fd, int parent,
                                    const std::string& name) {
  if (archive_entry_xattr_reset(e) == 0) return {};
  const char* key;
  const void* value;
  size_t size;
  std::string proc_path;
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    if (!XattrAllowed(key)) {
      ++stats_.xattrs_skipped;
      continue;
    }
    int rc;
    if (fd >= 0) {
      rc = ::fsetxattr(fd, key, value, size, 0);
    } else {
      if (proc_path.empty()) proc_path = ProcFdPath(parent, name);
      rc = ::lsetxattr(proc_path.c_str(), key, value, size, 0);
    }
    if (rc != 0) {
      // Like Docker: not every filesystem takes xattrs, and user.* is refused on symlinks and
      // devices; losing those is not worth failing a pull.
      if (errno == ENOTSUP || errno == EPERM) {
        ++stats_.xattrs_skipped;
        continue;
      }
      return Fail(Error::FromErrno(errno, fmt::format("setxattr \"{}\"", key)));
    }
  }
  return {};
}

base::Status Extractor::ApplyFd(struct archive_entry* e, int fd, bool set_times) {
  // chown first: it clears setuid/setgid and file capabilities, which are set after it.
  if (options_.preserve_ownership && ::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)),
                                              static_cast<gid_t>(archive_entry_gid(e))) != 0)
    return Fail(Error::FromErrno(errno, "chown"));
  if (::fchmod(fd, archive_entry_perm(e) & 07777) != 0)
    return Fail(Error::FromErrno(errno, "chmod"));
  TRY(ApplyXattrs(e, fd, -1, {}));
  if (set_times) {
    struct timespec ts[2];
    Times(e, ts);
    if (::futimens(fd, ts) != 0) return Fail(Error::FromErrno(errno, "set times"));
  }
  return {};
}

base::Status Extractor::ApplyAt(struct archive_entry* e, int parent, const std::string& name,
                                bool is_symlink) {
  if (options_.preserve_ownership &&
      ::fchownat(parent, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
    return Fail(Error::FromErrno(errno, "chown"));
  // Symlink modes mean nothing on Linux; for nodes, glibc implements NOFOLLOW via O_PATH.
  if (!is_symlink &&
      ::fchmodat(parent, name.c_str(), archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW) != 0)
    return Fail(Error::FromErrno(errno, "chmod"));
  TRY(ApplyXattrs(e, -1, parent, name));
  struct timespec ts[2];
  Times(e, ts);
  if (::utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return Fail(Error::FromErrno(errno, "set times"));
  return {};
}

void Extractor::MarkUnpacked(const std::vector<std::string>& parts) {
  if (options_.overlay_whiteouts) return;
  for (size_t n = parts.size(); n > 0; --n) {
    if (!unpacked_.insert(JoinComponents(parts, n)).second) break;
  }
}

base::Status Extractor::Root(struct archive_entry* e) {
  if (archive_entry_filetype(e) != AE_IFDIR || EntryHardlink(e) != nullptr)
    return Fail(Error::InvalidArgument("member names the root but is not a directory"));
  sys::UniqueFd fd(::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Error::FromErrno(errno, "open root"));
  TRY(ApplyFd(e, fd.get(), false));
  DirTime dt{};
  Times(e, dt.times);
  dir_times_.push_back(std::move(dt));
  return {};
}

base::Status Extractor::Whiteout(const std::vector<std::string>& parts, const std::string& target) {
  if (target.empty() || target == "." || target == "..")
    return Fail(Error::InvalidArgument(fmt::format("invalid whiteout of \"{}\"", target)));
  if (options_.overlay_whiteouts) {
    int parent = TRY(ParentFd(parts, parts.size() - 1, true));
    TRY(PrepareTarget(parent, target, false));
    if (::mknodat(parent, target.c_str(), S_IFCHR, makedev(0, 0)) != 0)
      return Fail(Error::FromErrno(errno, "mknod whiteout"));
    return {};
  }
  auto parent = ParentFd(parts, parts.size() - 1, false);
  if (!parent) {
    // Nothing below to hide.
    int err = parent.error().sys_errno();
    if (err == ENOENT || err == ENOTDIR) return {};
    return Fail(std::move(parent).error());
  }
  return RemoveAt(*parent, target);
}

base::Status Extractor::PruneOpaque(int dirfd, const std::string& rel) {
  sys::UniqueFd fd(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Error::FromErrno(errno, "open opaque dir"));
  auto names = TRY(sys::ListDir(ProcFdPath(fd.get(), ".")));
  for (const auto& n : names) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    if (!unpacked_.contains(child)) {
      TRY(RemoveAt(fd.get(), n));
      continue;
    }
    sys::UniqueFd sub(
        ::openat(fd.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) TRY(PruneOpaque(sub.get(), child));
  }
  return {};
}

base::Status Extractor::Opaque(const std::vector<std::string>& dir_parts) {
  int dir = TRY(ParentFd(dir_parts, dir_parts.size(), true));
  if (!options_.overlay_whiteouts)
    return PruneOpaque(dir, JoinComponents(dir_parts, dir_parts.size()));
  sys::UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Error::FromErrno(errno, "open opaque dir"));
  for (auto [on, key] : {std::pair{options_.trusted_opaque_xattr, kTrustedOpaqueXattr},
                         std::pair{options_.user_opaque_xattr, kUserOpaqueXattr}}) {
    if (!on) continue;
    if (::fsetxattr(fd.get(), std::string(key).c_str(), "y", 1, 0) != 0)
      return Fail(Error::FromErrno(errno, fmt::format("setxattr \"{}\"", key)));
  }
  return {};
}

base::Status Extractor::Regular(struct archive* a, struct archive_entry* e, int parent,
                                const std::string& name) {
  sys::UniqueFd fd(
      ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return Fail(Error::FromErrno(errno, "create file"));
  int64_t end = 0;
  while (true) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      return Fail(Error::InvalidArgument(fmt::format("read data: {}", archive_error_string(a))));
    // Sparse members come as blocks at increasing offsets; pwrite leaves the gaps as holes.
    auto* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(Error::FromErrno(errno, "write file"));
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
      stats_.bytes += static_cast<uint64_t>(n);
    }
    end = std::max<int64_t>(end, offset);
  }
  // A trailing hole has no data block.
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
      ::ftruncate(fd.get(), archive_entry_size(e)) != 0)
    return Fail(Error::FromErrno(errno, "truncate file"));
  TRY(ApplyFd(e, fd.get(), true));
  ++stats_.files;
  return {};
}

base::Status Extractor::Directory(struct archive_entry* e, const std::vector<std::string>& parts,
                                  int parent) {
  const std::string& name = parts.back();
  bool kept = TRY(PrepareTarget(parent, name, true));
  if (!kept && ::mkdirat(parent, name.c_str(), 0700) != 0)
    return Fail(Error::FromErrno(errno, "mkdir"));
  sys::UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Fail(Error::FromErrno(errno, "open directory"));
  TRY(ApplyFd(e, fd.get(), false));
  DirTime dt{parts, {}};
  Times(e, dt.times);
  dir_times_.push_back(std::move(dt));
  ++stats_.dirs;
  // Tars list a directory right before its contents: it is the next member's parent. This
  // replaces the fd behind `parent`, which is not used after this point.
  cached_fd_ = std::move(fd);
  cached_path_ = JoinComponents(parts, parts.size());
  cache_valid_ = true;
  return {};
}

base::Status Extractor::Hardlink(struct archive_entry* e, int parent, const std::string& name) {
  const char* raw = EntryHardlink(e);
  auto target = TRY_CTX(SplitMemberName(raw), fmt::format("hardlink target \"{}\"", raw));
  if (target.empty())
    return Fail(Error::InvalidArgument(fmt::format("hardlink to the root (\"{}\")", raw)));
  // The target's directory resolves inside the root like any other path; its last component is
  // not followed (linkat without AT_SYMLINK_FOLLOW), so a symlink target links the symlink.
  auto tparent =
      sys::OpenInRoot(root_, JoinComponents(target, target.size() - 1), O_PATH | O_DIRECTORY);
  if (!tparent)
    return Fail(std::move(tparent).error().Context(fmt::format("hardlink target \"{}\"", raw)));
  TRY(PrepareTarget(parent, name, false));
  if (::linkat(tparent->get(), target.back().c_str(), parent, name.c_str(), 0) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("link to \"{}\"", raw)));
  ++stats_.hardlinks;
  return {};
}

base::Status Extractor::Entry(struct archive* a, struct archive_entry* e) {
  ++stats_.entries;
  const char* raw = EntryPath(e);
  if (raw == nullptr || *raw == '\0') return Fail(Error::InvalidArgument("member without a name"));
  auto parts = TRY(SplitMemberName(raw));
  if (parts.empty()) return Root(e);
  const std::string& base = parts.back();

  if (base::StartsWith(base, kWhiteoutPrefix)) {
    ++stats_.whiteouts;
    if (base == kOpaqueWhiteout) return Opaque({parts.begin(), parts.end() - 1});
    if (base::StartsWith(base, kWhiteoutMetaPrefix)) return {};
    return Whiteout(parts, base.substr(kWhiteoutPrefix.size()));
  }
  // AUFS keeps hardlink bookkeeping in /.wh..wh.plnk/: never image content.
  if (base::StartsWith(parts.front(), kWhiteoutMetaPrefix)) return {};

  int parent = TRY(ParentFd(parts, parts.size() - 1, true));
  MarkUnpacked(parts);
  if (EntryHardlink(e) != nullptr) return Hardlink(e, parent, base);

  mode_t type = archive_entry_filetype(e);
  switch (type) {
    case AE_IFDIR:
      return Directory(e, parts, parent);
    case AE_IFREG:
      TRY(PrepareTarget(parent, base, false));
      return Regular(a, e, parent, base);
    case AE_IFLNK: {
      const char* target = EntrySymlink(e);
      if (target == nullptr) return Fail(Error::InvalidArgument("symlink without a target"));
      TRY(PrepareTarget(parent, base, false));
      // The target is stored as is: it is only ever resolved later, inside the root.
      if (::symlinkat(target, parent, base.c_str()) != 0)
        return Fail(Error::FromErrno(errno, "symlink"));
      TRY(ApplyAt(e, parent, base, true));
      ++stats_.symlinks;
      return {};
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      TRY(PrepareTarget(parent, base, false));
      dev_t dev =
          type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (::mknodat(parent, base.c_str(), type | (archive_entry_perm(e) & 07777), dev) != 0)
        return Fail(Error::FromErrno(errno, "mknod"));
      TRY(ApplyAt(e, parent, base, false));
      ++stats_.devices;
      return {};
    }
    case AE_IFSOCK:
      return {};  // a socket is only meaningful to the process that bound it
    default:
      return Fail(Error::InvalidArgument(fmt::format("unsupported member type 0{:o}", type)));
  }
}

base::Status Extractor::Finish() {
  // Directory times last: creating their contents above bumped them.
  for (const auto& dt : dir_times_) {
    if (dt.parts.empty()) {
      sys::UniqueFd fd(::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd || ::futimens(fd.get(), dt.times) != 0)
        return Fail(Error::FromErrno(errno, "set times of the root"));
      continue;
    }
    auto parent = ParentFd(dt.parts, dt.parts.size() - 1, false);
    // A later member may have removed or replaced it.
    if (!parent) continue;
    if (::utimensat(*parent, dt.parts.back().c_str(), dt.times, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT)
      return Fail(Error::FromErrno(
          errno, fmt::format("set times of \"{}\"", JoinComponents(dt.parts, dt.parts.size()))));
  }
  return {};
}

}  // namespace

base::Result<ExtractStats> ExtractLayer(ByteSource& uncompressed_tar, int root_dirfd,
                                        const ExtractOptions& options) {
  ExtractStats stats;
  ReadContext ctx(&uncompressed_tar);
  std::unique_ptr<struct archive, ArchiveReadFree> a(archive_read_new());
  if (!a) return Fail(Error::Internal("archive_read_new failed"));
  // tar covers ustar, pax and GNU; "empty" lets a zero-byte stream be an empty layer.
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  auto archive_error = [&](std::string_view what) -> Error {
    if (ctx.error) return Error(*ctx.error).Context(what);
    const char* msg = archive_error_string(a.get());
    return Error::InvalidArgument(fmt::format("{}: {}", what, msg ? msg : "unknown error"));
  };
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK)
    return Fail(archive_error("read layer tar"));

  Extractor extractor(root_dirfd, options, stats);
  while (true) {
    struct archive_entry* entry;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // WARN is a recoverable oddity (an unknown pax key); RETRY means a damaged header, which a
    // layer must not have.
    if (r < ARCHIVE_WARN) return Fail(archive_error("read layer tar"));
    const char* name = EntryPath(entry);
    TRY_CTX(extractor.Entry(a.get(), entry),
            fmt::format("extract \"{}\"", name != nullptr ? name : ""));
  }
  TRY(extractor.Finish());
  // The digest of the uncompressed layer covers the bytes after the end-of-archive blocks too.
  while (true) {
    size_t n = TRY(uncompressed_tar.Read(ctx.buf.get(), kReadBufSize));
    if (n == 0) break;
    ctx.bytes += n;
  }
  stats.tar_bytes = ctx.bytes;
  return stats;
}

}  // namespace berth::archive
