// ContentStore: immutable blobs addressed by digest, under <root>/blobs/sha256/<hex>.
//
// A blob becomes visible only when whole: it is written under <root>/ingest/<ref>/data, fsynced,
// checked against its digest and size, and renamed into place. An ingest outlives its writer, so
// a download that was interrupted (even by SIGKILL) is resumed by opening a writer for the same
// ref: it continues at the bytes already on disk (the registry client asks for the rest with an
// HTTP Range request). Nothing in the store needs repair after a crash; abandoned ingests are
// removed by CleanupIngests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/digest.h"
#include "sys/unique_fd.h"

namespace berth::image {

// Writes one blob. Obtained from ContentStore::Writer; holds the ref's lock until it is
// destroyed, committed or aborted. Not thread-safe: use from one thread at a time.
// Destroying a writer without Commit or Abort keeps the bytes written so far for a later resume.
class ContentWriter {
 public:
  ~ContentWriter();
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;

  // Appends at Offset(). InvalidArgument when it would go past the expected size. After an I/O
  // error, Offset() counts the bytes that did reach the file, so the caller may carry on there.
  base::Status Write(const void* data, size_t size);
  base::Status Write(std::string_view data) { return Write(data.data(), data.size()); }
  // Bytes written so far, including those found on disk when a resumed ingest was opened.
  int64_t Offset() const { return offset_; }
  // Drops the bytes written so far and starts at offset 0 (for a server that ignored Range).
  base::Status Truncate();
  // Fsyncs, verifies and moves the blob into the store; returns its digest. Committing content
  // that the store already holds succeeds without a second copy.
  // Errors: InvalidArgument "size mismatch: expected N, got M" when fewer bytes than expected were
  // written (the writer stays usable); InvalidArgument "digest mismatch: expected X, got Y" (the
  // ingest is removed and the writer closed). After a successful commit the writer is closed.
  base::Result<oci::Digest> Commit();
  // Removes the ingest and its bytes, and closes the writer.
  base::Status Abort();

  const std::string& ref() const { return ref_; }

 private:
  friend class ContentStore;
  ContentWriter() = default;
  base::Status Rehash();
  base::Status RemoveIngest();
  void Close();

  std::string ref_;
  std::string blob_dir_;    // <root>/blobs/sha256
  std::string ingest_dir_;  // <root>/ingest/<sanitised ref>
  std::optional<oci::Digest> expected_;
  int64_t expected_size_ = -1;
  sys::UniqueFd dir_fd_;  // holds the flock
  sys::UniqueFd data_fd_;
  int64_t offset_ = 0;
  std::unique_ptr<oci::Sha256> hash_;
  bool closed_ = false;
};

// The store. Thread-safe: it holds only its paths; concurrent writers of different refs and
// concurrent readers are fine, in one process or several.
class ContentStore {
 public:
  struct Info {
    oci::Digest digest;
    int64_t size = 0;
    int64_t committed_at = 0;  // unix seconds (the blob file's mtime)
  };

  // Creates <root>/blobs/sha256 and <root>/ingest when missing. Nothing else is checked or
  // repaired: every state a crash can leave is valid.
  static base::Result<ContentStore> Open(std::string root);

  const std::string& root() const { return root_; }

  // Opens the writer for `ref` (any string naming the download, e.g. the digest being fetched).
  // If an ingest for ref exists, it is resumed: its bytes are re-hashed and Offset() is their
  // count (an ingest longer than expected_size is restarted from 0). expected/expected_size are
  // checked by Commit; expected_size < 0 means unknown. A writer opens even when the store
  // already holds `expected` (its Commit is then a no-op); check Exists() to skip a download.
  // Errors: Unavailable "ref X locked" when another writer holds ref; InvalidArgument for an
  // empty ref or a non-sha256 expected digest.
  base::Result<std::unique_ptr<ContentWriter>> Writer(const std::string& ref,
                                                      std::optional<oci::Digest> expected,
                                                      int64_t expected_size);

  // Whole blobs only; ingests in progress are invisible to everything below.
  bool Exists(const oci::Digest& digest) const;
  // NotFound "blob sha256:... not found".
  base::Result<Info> Stat(const oci::Digest& digest) const;
  // A read-only fd on the blob; NotFound as Stat.
  base::Result<sys::UniqueFd> Open(const oci::Digest& digest) const;
  // The blob's bytes, re-verified against the digest (meant for manifests and configs).
  // InvalidArgument when the blob is larger than max_size; Internal when it is corrupt.
  base::Result<std::string> ReadAll(const oci::Digest& digest, int64_t max_size) const;
  // Removes a blob; NotFound when absent. Callers (garbage collection) decide what is unused.
  base::Status Delete(const oci::Digest& digest);
  // Digests of all whole blobs, sorted.
  base::Result<std::vector<oci::Digest>> List() const;
  // Writes a whole blob in one call; returns its digest. With `expected`, the data must match.
  base::Result<oci::Digest> Put(std::string_view data,
                                std::optional<oci::Digest> expected = std::nullopt);

  // Removes ingests not written to for max_age whose writer is gone; returns how many.
  // Locked (live) ingests are skipped whatever their age.
  base::Result<int> CleanupIngests(std::chrono::seconds max_age);

  // The on-disk name of a ref's ingest directory: safe characters kept, others %XX-escaped;
  // long refs become "sha256-<hex of ref>". Exposed for tests.
  static std::string IngestName(std::string_view ref);

 private:
  explicit ContentStore(std::string root);
  base::Result<std::string> BlobPath(const oci::Digest& digest) const;

  std::string root_;
  std::string blob_dir_;
  std::string ingest_root_;
};

}  // namespace berth::image
