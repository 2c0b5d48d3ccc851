// ContentStore and ContentWriter: blobs by digest, resumable ingests, atomic commit.
#include "image/content/content_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>

#include "base/log.h"
#include "sys/file.h"
#include "sys/lock.h"

namespace berth::image {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;
using oci::Digest;

namespace {

constexpr size_t kMaxIngestName = 200;
constexpr const char* kData = "data";
constexpr const char* kRefFile = "ref";

// TRY_CTX for a returned Status (TRY yields no value for Result<void>).
Status WithContext(Status st, std::string_view what) {
  if (!st) return Fail(std::move(st).error().Context(what));
  return {};
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool SameInode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Status FsyncDir(const std::string& path) {
  auto fd = TRY(sys::Open(path, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("fsync \"{}\"", path)));
  return {};
}

Status PwriteAll(int fd, const char* p, size_t n, int64_t off, oci::Sha256& hash, int64_t& offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "write"));
    }
    // Hash and count only what reached the file, so a failed write leaves a consistent writer.
    hash.Update(p, static_cast<size_t>(w));
    offset += w;
    off += w;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ContentWriter

ContentWriter::~ContentWriter() { Close(); }

void ContentWriter::Close() {
  data_fd_.Reset();
  dir_fd_.Reset();  // releases the flock
  hash_.reset();
  closed_ = true;
}

Status ContentWriter::Rehash() {
  hash_ = std::make_unique<oci::Sha256>();
  offset_ = 0;
  struct stat st;
  if (::fstat(data_fd_.get(), &st) != 0) return Fail(Error::FromErrno(errno, "fstat"));
  int64_t size = st.st_size;
  if (expected_size_ >= 0 && size > expected_size_) {
    // Longer than the blob can be: not a prefix of it, start over.
    if (::ftruncate(data_fd_.get(), 0) != 0) return Fail(Error::FromErrno(errno, "ftruncate"));
    return {};
  }
  std::vector<char> buf(1 << 20);
  while (offset_ < size) {
    ssize_t n =
        ::pread(data_fd_.get(), buf.data(),
                static_cast<size_t>(std::min<int64_t>(buf.size(), size - offset_)), offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::FromErrno(errno, "read"));
    }
    if (n == 0) break;
    hash_->Update(buf.data(), static_cast<size_t>(n));
    offset_ += n;
  }
  if (offset_ < size && ::ftruncate(data_fd_.get(), offset_) != 0)
    return Fail(Error::FromErrno(errno, "ftruncate"));
  return {};
}

Status ContentWriter::Write(const void* data, size_t size) {
  if (closed_) return Fail(Error::InvalidArgument(fmt::format("write {}: writer is closed", ref_)));
  if (expected_size_ >= 0 && offset_ + static_cast<int64_t>(size) > expected_size_)
    return Fail(Error::InvalidArgument(
        fmt::format("write {}: {} bytes at offset {} go past the expected size {}", ref_, size,
                    offset_, expected_size_)));
  return WithContext(
      PwriteAll(data_fd_.get(), static_cast<const char*>(data), size, offset_, *hash_, offset_),
      fmt::format("write {}", ref_));
}

Status ContentWriter::Truncate() {
  if (closed_)
    return Fail(Error::InvalidArgument(fmt::format("truncate {}: writer is closed", ref_)));
  if (::ftruncate(data_fd_.get(), 0) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("truncate {}", ref_)));
  hash_ = std::make_unique<oci::Sha256>();
  offset_ = 0;
  return {};
}

Status ContentWriter::RemoveIngest() {
  // Still under the lock, so no other writer can be resuming this ingest while it goes away.
  return sys::RemoveAll(ingest_dir_);
}

Result<Digest> ContentWriter::Commit() {
  if (closed_)
    return Fail(Error::InvalidArgument(fmt::format("commit {}: writer is closed", ref_)));
  if (expected_size_ >= 0 && offset_ != expected_size_)
    return Fail(Error::InvalidArgument(fmt::format("commit {}: size mismatch: expected {}, got {}",
                                                   ref_, expected_size_, offset_)));
  if (::fsync(data_fd_.get()) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("commit {}: fsync", ref_)));

  Digest got = hash_->Finish();
  hash_.reset();
  if (expected_ && got != *expected_) {
    auto removed = RemoveIngest();
    Close();
    if (!removed) base::LogWarn("content: remove ingest {}: {}", ref_, removed.error().message());
    return Fail(
        Error::InvalidArgument(fmt::format("commit {}: digest mismatch: expected {}, got {}", ref_,
                                           expected_->ToString(), got.ToString())));
  }

  std::string target = blob_dir_ + "/" + got.hex();
  // Blobs are immutable; the mode says so, and the mtime records when the blob became visible.
  ::fchmod(data_fd_.get(), 0444);
  ::futimens(data_fd_.get(), nullptr);
  int err = 0;
  if (::renameat2(dir_fd_.get(), kData, AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0)
    err = errno;
  if (err == EINVAL) {
    // The filesystem lacks RENAME_NOREPLACE; an existing blob has the same bytes anyway.
    if (::access(target.c_str(), F_OK) == 0)
      err = EEXIST;
    else
      err = ::renameat(dir_fd_.get(), kData, AT_FDCWD, target.c_str()) == 0 ? 0 : errno;
  }
  // EEXIST: the store already holds these bytes; the ingest copy goes with the ingest below.
  if (err != 0 && err != EEXIST) {
    Close();  // the hash is spent; a new writer resumes (re-hashes) the ingest
    return Fail(Error::FromErrno(err, fmt::format("commit {}: rename \"{}/{}\" to \"{}\"", ref_,
                                                  ingest_dir_, kData, target)));
  }
  // Make the name durable before anyone (the metadata store) records that the blob exists.
  auto synced = FsyncDir(blob_dir_);
  auto removed = RemoveIngest();
  Close();
  if (!synced) return Fail(std::move(synced).error().Context(fmt::format("commit {}", ref_)));
  if (!removed) base::LogWarn("content: remove ingest {}: {}", ref_, removed.error().message());
  return got;
}

Status ContentWriter::Abort() {
  if (closed_) return {};
  auto st = RemoveIngest();
  Close();
  return WithContext(std::move(st), fmt::format("abort {}", ref_));
}

// ---------------------------------------------------------------------------------------------
// ContentStore

ContentStore::ContentStore(std::string root)
    : root_(std::move(root)), blob_dir_(root_ + "/blobs/sha256"), ingest_root_(root_ + "/ingest") {}

Result<ContentStore> ContentStore::Open(std::string root) {
  ContentStore store(std::move(root));
  TRY_CTX(sys::MkdirAll(store.blob_dir_), "open content store");
  TRY_CTX(sys::MkdirAll(store.ingest_root_, 0700), "open content store");
  return store;
}

std::string ContentStore::IngestName(std::string_view ref) {
  std::string out;
  for (size_t i = 0; i < ref.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(ref[i]);
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || (c == '.' && i > 0);
    if (safe) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  // '%' followed by non-hex never comes out of the escaping above, so this cannot collide.
  if (out.size() > kMaxIngestName) return "%sha256-" + oci::Sha256Of(ref).hex();
  return out;
}

Result<std::string> ContentStore::BlobPath(const Digest& digest) const {
  if (digest.algorithm() != "sha256" || !IsSha256Hex(digest.hex()))
    return Fail(Error::InvalidArgument(
        fmt::format("unsupported digest \"{}\": the store holds sha256 blobs", digest.ToString())));
  return blob_dir_ + "/" + digest.hex();
}

Result<std::unique_ptr<ContentWriter>> ContentStore::Writer(const std::string& ref,
                                                            std::optional<Digest> expected,
                                                            int64_t expected_size) {
  if (ref.empty()) return Fail(Error::InvalidArgument("content writer: empty ref"));
  if (expected) TRY_CTX(BlobPath(*expected), fmt::format("content writer {}", ref));

  std::unique_ptr<ContentWriter> w(new ContentWriter());
  w->ref_ = ref;
  w->blob_dir_ = blob_dir_;
  w->ingest_dir_ = ingest_root_ + "/" + IngestName(ref);
  w->expected_ = std::move(expected);
  w->expected_size_ = expected_size;
  const std::string& dir = w->ingest_dir_;

  // The directory may be removed between our mkdir/open and the lock (by a writer that just
  // committed, or by CleanupIngests); a lock on a removed directory protects nothing, so retry.
  for (int attempt = 0;; ++attempt) {
    if (attempt == 8)
      return Fail(Error::Unavailable(fmt::format("ref {} locked: ingest keeps disappearing", ref)));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Fail(
          Error::FromErrno(errno, fmt::format("content writer {}: mkdir \"{}\"", ref, dir)));
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return Fail(Error::FromErrno(errno, fmt::format("content writer {}: open \"{}\"", ref, dir)));
    }
    sys::UniqueFd dfd(fd);
    bool locked = TRY_CTX(sys::TryLock(dfd.get(), sys::LockMode::kExclusive),
                          fmt::format("content writer {}", ref));
    if (!locked) return Fail(Error::Unavailable(fmt::format("ref {} locked", ref)));
    struct stat held, now;
    if (::fstat(dfd.get(), &held) != 0)
      return Fail(Error::FromErrno(errno, fmt::format("content writer {}: fstat", ref)));
    if (::lstat(dir.c_str(), &now) != 0 || !SameInode(held, now)) continue;
    w->dir_fd_ = std::move(dfd);
    break;
  }

  auto ref_fd = TRY_CTX(sys::OpenAt(w->dir_fd_.get(), kRefFile, O_WRONLY | O_CREAT | O_TRUNC, 0600),
                        fmt::format("content writer {}", ref));
  TRY_CTX(sys::WriteAll(ref_fd.get(), ref), fmt::format("content writer {}: write ref", ref));
  w->data_fd_ = TRY_CTX(sys::OpenAt(w->dir_fd_.get(), kData, O_RDWR | O_CREAT, 0644),
                        fmt::format("content writer {}", ref));
  TRY_CTX(w->Rehash(), fmt::format("content writer {}: resume \"{}/{}\"", ref, dir, kData));
  return w;
}

bool ContentStore::Exists(const Digest& digest) const {
  auto path = BlobPath(digest);
  return path && ::access(path->c_str(), F_OK) == 0;
}

Result<ContentStore::Info> ContentStore::Stat(const Digest& digest) const {
  auto path = TRY(BlobPath(digest));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Fail(Error::NotFound(fmt::format("blob {} not found", digest.ToString())));
    return Fail(Error::FromErrno(errno, fmt::format("stat \"{}\"", path)));
  }
  return Info{digest, static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

Result<sys::UniqueFd> ContentStore::Open(const Digest& digest) const {
  auto path = TRY(BlobPath(digest));
  auto fd = sys::Open(path, O_RDONLY);
  if (!fd && fd.error().code() == base::ErrorCode::kNotFound)
    return Fail(Error::NotFound(fmt::format("blob {} not found", digest.ToString())));
  return fd;
}

Result<std::string> ContentStore::ReadAll(const Digest& digest, int64_t max_size) const {
  auto fd = TRY(Open(digest));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Fail(Error::FromErrno(errno, "fstat"));
  if (st.st_size > max_size)
    return Fail(Error::InvalidArgument(fmt::format("blob {} is {} bytes, more than the limit {}",
                                                   digest.ToString(), st.st_size, max_size)));
  auto data = TRY_CTX(sys::ReadFd(fd.get()), fmt::format("read blob {}", digest.ToString()));
  Digest got = oci::Sha256Of(data);
  if (got != digest)
    return Fail(Error::Internal(fmt::format("blob {} is corrupt: its content hashes to {}",
                                            digest.ToString(), got.ToString())));
  return data;
}

Status ContentStore::Delete(const Digest& digest) {
  auto path = TRY(BlobPath(digest));
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT)
      return Fail(Error::NotFound(fmt::format("blob {} not found", digest.ToString())));
    return Fail(Error::FromErrno(errno, fmt::format("unlink \"{}\"", path)));
  }
  return {};
}

Result<std::vector<Digest>> ContentStore::List() const {
  auto names = TRY_CTX(sys::ListDir(blob_dir_), "list blobs");
  std::vector<Digest> out;
  for (auto& n : names)
    if (IsSha256Hex(n)) out.push_back(Digest::Sha256FromHex(n));
  std::sort(out.begin(), out.end());
  return out;
}

Result<Digest> ContentStore::Put(std::string_view data, std::optional<Digest> expected) {
  Digest got = oci::Sha256Of(data);
  if (expected && got != *expected)
    return Fail(Error::InvalidArgument(fmt::format("put: digest mismatch: expected {}, got {}",
                                                   expected->ToString(), got.ToString())));
  if (Exists(got)) return got;
  // A ref of its own, so concurrent Puts of the same bytes never meet on one lock.
  static std::atomic<uint64_t> counter{0};
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::string ref = fmt::format("put-{}-{}-{}-{}", got.hex().substr(0, 12), ::getpid(),
                                counter.fetch_add(1), ts.tv_nsec);
  auto w = TRY(Writer(ref, got, static_cast<int64_t>(data.size())));
  auto st = w->Write(data);
  if (!st) {
    (void)w->Abort();
    return Fail(std::move(st).error());
  }
  return w->Commit();
}

Result<int> ContentStore::CleanupIngests(std::chrono::seconds max_age) {
  auto names = TRY_CTX(sys::ListDir(ingest_root_), "cleanup ingests");
  time_t now = ::time(nullptr);
  int removed = 0;
  for (auto& name : names) {
    std::string path = ingest_root_ + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      if (errno == ENOTDIR || errno == ELOOP) {
        // Not ours (no writer makes plain files here); old ones go.
        struct stat st;
        if (::lstat(path.c_str(), &st) == 0 && now - st.st_mtime >= max_age.count() &&
            ::unlink(path.c_str()) == 0)
          ++removed;
        continue;
      }
      return Fail(Error::FromErrno(errno, fmt::format("cleanup ingests: open \"{}\"", path)));
    }
    sys::UniqueFd dfd(fd);
    bool locked = TRY_CTX(sys::TryLock(dfd.get(), sys::LockMode::kExclusive), "cleanup ingests");
    if (!locked) continue;  // a live writer
    struct stat held, cur, data;
    if (::fstat(dfd.get(), &held) != 0 || ::lstat(path.c_str(), &cur) != 0 || !SameInode(held, cur))
      continue;
    time_t last = held.st_mtime;
    if (::fstatat(dfd.get(), kData, &data, AT_SYMLINK_NOFOLLOW) == 0)
      last = std::max(last, data.st_mtime);
    if (now - last < max_age.count()) continue;
    TRY_CTX(sys::RemoveAll(path), "cleanup ingests");
    ++removed;
  }
  return removed;
}

}  // namespace berth::image
