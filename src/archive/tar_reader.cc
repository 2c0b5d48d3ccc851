// TarReader on libarchive's streaming reader, fed by a ByteSource through a read callback.
#include "archive/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <cerrno>
#include <optional>

namespace berth::archive {

using base::Error;
using base::Fail;
using base::Result;

namespace {

constexpr size_t kReadBufSize = 256 << 10;

struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

const char* Utf8OrLocal(const char* local, const char* utf8) {
  // In the C locale libarchive cannot convert a pax UTF-8 name and returns null for the local
  // form; Linux names are bytes, so the UTF-8 form is the right one.
  return local != nullptr ? local : (utf8 != nullptr ? utf8 : "");
}

}  // namespace

struct TarReader::Impl : public ByteSource {
  explicit Impl(ByteSource& in) : source(in) {}

  Result<size_t> Read(void* buf, size_t size) override {
    if (!a || !in_entry) return 0;
    la_ssize_t n = archive_read_data(a.get(), buf, size);
    if (n < 0) return Fail(ArchiveError("read tar member"));
    return static_cast<size_t>(n);
  }

  Error ArchiveError(std::string_view what) const {
    if (error) return Error(*error).Context(what);
    const char* msg = a ? archive_error_string(a.get()) : nullptr;
    return Error::InvalidArgument(fmt::format("{}: {}", what, msg ? msg : "unknown error"));
  }

  static la_ssize_t ReadCallback(struct archive* ar, void* opaque, const void** out) {
    auto* self = static_cast<Impl*>(opaque);
    auto n = self->source.Read(self->buf.get(), kReadBufSize);
    if (!n) {
      self->error = n.error();
      archive_set_error(ar, EIO, "%s", n.error().message().c_str());
      return -1;
    }
    *out = self->buf.get();
    return static_cast<la_ssize_t>(*n);
  }

  ByteSource& source;
  std::unique_ptr<uint8_t[]> buf = std::make_unique_for_overwrite<uint8_t[]>(kReadBufSize);
  std::unique_ptr<struct archive, ArchiveReadFree> a;
  std::optional<Error> error;
  bool opened = false;
  bool in_entry = false;
  bool done = false;
};

TarReader::TarReader(ByteSource& in) : impl_(std::make_unique<Impl>(in)) {}
TarReader::~TarReader() = default;

ByteSource& TarReader::content() { return *impl_; }

Result<std::optional<TarEntry>> TarReader::Next() {
  Impl& s = *impl_;
  if (s.done) return std::nullopt;
  if (!s.opened) {
    s.a.reset(archive_read_new());
    if (!s.a) return Fail(Error::Internal("archive_read_new failed"));
    archive_read_support_format_tar(s.a.get());
    archive_read_support_format_empty(s.a.get());
    if (archive_read_open(s.a.get(), &s, nullptr, &Impl::ReadCallback, nullptr) != ARCHIVE_OK)
      return Fail(s.ArchiveError("read tar"));
    s.opened = true;
  }
  s.in_entry = false;
  struct archive_entry* e;
  int r = archive_read_next_header(s.a.get(), &e);
  if (r == ARCHIVE_EOF) {
    s.done = true;
    return std::nullopt;
  }
  if (r < ARCHIVE_WARN) return Fail(s.ArchiveError("read tar"));
  TarEntry entry;
  entry.name = Utf8OrLocal(archive_entry_pathname(e), archive_entry_pathname_utf8(e));
  const char* hardlink = archive_entry_hardlink(e);
  if (hardlink == nullptr) hardlink = archive_entry_hardlink_utf8(e);
  if (hardlink != nullptr) {
    entry.kind = TarEntry::Kind::kHardlink;
    entry.link = hardlink;
  } else {
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        entry.kind = TarEntry::Kind::kRegular;
        entry.size = archive_entry_size(e);
        break;
      case AE_IFDIR:
        entry.kind = TarEntry::Kind::kDirectory;
        break;
      case AE_IFLNK:
        entry.kind = TarEntry::Kind::kSymlink;
        entry.link = Utf8OrLocal(archive_entry_symlink(e), archive_entry_symlink_utf8(e));
        break;
      default:
        entry.kind = TarEntry::Kind::kOther;
    }
  }
  s.in_entry = true;
  return entry;
}

}  // namespace berth::archive
