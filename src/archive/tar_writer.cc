// TarWriter on libarchive's writer (restricted pax: ustar headers unless a name or size needs
// pax), writing through a callback into a ByteSink.
#include "archive/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <cerrno>
#include <optional>
#include <vector>

namespace berth::archive {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

struct TarWriter::Impl {
  Impl(ByteSink& o, time_t m) : out(o), mtime(m) {}

  static la_ssize_t WriteCallback(struct archive* ar, void* opaque, const void* buf, size_t n) {
    auto* self = static_cast<Impl*>(opaque);
    if (auto st = self->out.Write(buf, n); !st) {
      self->error = st.error();
      archive_set_error(ar, EIO, "%s", st.error().message().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Error ArchiveError(std::string_view what) const {
    if (error) return Error(*error).Context(what);
    const char* msg = archive_error_string(a.get());
    return Error::Internal(fmt::format("{}: {}", what, msg ? msg : "unknown error"));
  }

  Status Open() {
    if (finished) return Fail(Error::InvalidArgument("tar writer already finished"));
    if (a) return {};
    a.reset(archive_write_new());
    if (!a) return Fail(Error::Internal("archive_write_new failed"));
    archive_write_set_format_pax_restricted(a.get());
    // No padding of the last block to 10240 bytes, as Go's archive/tar writes it.
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open(a.get(), this, nullptr, &Impl::WriteCallback, nullptr) != ARCHIVE_OK)
      return Fail(ArchiveError("open tar writer"));
    return {};
  }

  Result<std::unique_ptr<struct archive_entry, EntryFree>> NewEntry(const std::string& name,
                                                                    mode_t type, mode_t mode) {
    TRY(Open());
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    if (!e) return Fail(Error::Internal("archive_entry_new failed"));
    archive_entry_set_pathname_utf8(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), mtime, 0);
    return e;
  }

  Status WriteHeader(struct archive_entry* e, const std::string& name) {
    if (archive_write_header(a.get(), e) < ARCHIVE_WARN)
      return Fail(ArchiveError(fmt::format("write tar member \"{}\"", name)));
    return {};
  }

  ByteSink& out;
  time_t mtime;
  std::unique_ptr<struct archive, ArchiveWriteFree> a;
  std::optional<Error> error;
  bool finished = false;
};

TarWriter::TarWriter(ByteSink& out, time_t mtime) : impl_(std::make_unique<Impl>(out, mtime)) {}
TarWriter::~TarWriter() = default;

Status TarWriter::AddFile(const std::string& name, int64_t size, ByteSource& content, mode_t mode) {
  if (size < 0) return Fail(Error::InvalidArgument(fmt::format("\"{}\": negative size", name)));
  auto e = TRY(impl_->NewEntry(name, AE_IFREG, mode));
  archive_entry_set_size(e.get(), size);
  TRY(impl_->WriteHeader(e.get(), name));
  std::vector<uint8_t> buf(256 << 10);
  int64_t left = size;
  while (true) {
    size_t want = buf.size();
    size_t n = TRY_CTX(content.Read(buf.data(), want), fmt::format("write \"{}\"", name));
    if (n == 0) break;
    if (static_cast<int64_t>(n) > left) {
      return Fail(Error::InvalidArgument(
          fmt::format("write \"{}\": content is longer than {} bytes", name, size)));
    }
    la_ssize_t w = archive_write_data(impl_->a.get(), buf.data(), n);
    if (w < 0 || static_cast<size_t>(w) != n)
      return Fail(impl_->ArchiveError(fmt::format("write \"{}\"", name)));
    left -= static_cast<int64_t>(n);
  }
  if (left != 0) {
    return Fail(Error::InvalidArgument(
        fmt::format("write \"{}\": content ended after {} of {} bytes", name, size - left, size)));
  }
  return {};
}

Status TarWriter::AddFile(const std::string& name, std::string_view content, mode_t mode) {
  MemorySource src(content);
  return AddFile(name, static_cast<int64_t>(content.size()), src, mode);
}

Status TarWriter::AddDirectory(const std::string& name, mode_t mode) {
  auto e = TRY(impl_->NewEntry(name.ends_with('/') ? name : name + "/", AE_IFDIR, mode));
  return impl_->WriteHeader(e.get(), name);
}

Status TarWriter::AddSymlink(const std::string& name, const std::string& target) {
  auto e = TRY(impl_->NewEntry(name, AE_IFLNK, 0777));
  archive_entry_set_symlink_utf8(e.get(), target.c_str());
  return impl_->WriteHeader(e.get(), name);
}

Status TarWriter::Finish() {
  TRY(impl_->Open());
  impl_->finished = true;
  if (archive_write_close(impl_->a.get()) != ARCHIVE_OK)
    return Fail(impl_->ArchiveError("finish tar"));
  return {};
}

}  // namespace berth::archive
