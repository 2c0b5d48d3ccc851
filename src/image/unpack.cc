// Layer unpacking: see unpack.h.
#include "image/unpack.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "archive/compression.h"
#include "archive/stream.h"
#include "base/scope_guard.h"
#include "sys/file.h"

namespace berth::image {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

// Counts compressed bytes for progress as the decompressor pulls them.
class CountingSource : public archive::ByteSource {
 public:
  CountingSource(archive::ByteSource& in, int64_t total, const UnpackProgressFn& progress)
      : in_(in), total_(total), progress_(progress) {}
  Result<size_t> Read(void* buf, size_t size) override {
    size_t n = TRY(in_.Read(buf, size));
    done_ += int64_t(n);
    if (progress_ && (done_ - reported_ >= (1 << 20) || n == 0)) {
      reported_ = done_;
      progress_(done_, total_);
    }
    return n;
  }

 private:
  archive::ByteSource& in_;
  int64_t total_;
  const UnpackProgressFn& progress_;
  int64_t done_ = 0, reported_ = 0;
};

}  // namespace

bool BlobPipe::Push(std::string_view data) {
  if (data.empty()) return true;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return reader_closed_ || queued_ < capacity_; });
  if (reader_closed_) return false;
  chunks_.emplace_back(data);
  queued_ += data.size();
  cv_.notify_all();
  return true;
}

void BlobPipe::Finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  cv_.notify_all();
}

void BlobPipe::Fail(Error error) {
  std::lock_guard lock(mu_);
  if (!error_) error_ = std::move(error);
  chunks_.clear();
  queued_ = 0;
  front_pos_ = 0;
  cv_.notify_all();
}

void BlobPipe::CloseReader() {
  std::lock_guard lock(mu_);
  reader_closed_ = true;
  chunks_.clear();
  queued_ = 0;
  front_pos_ = 0;
  cv_.notify_all();
}

Result<size_t> BlobPipe::Read(void* buf, size_t size) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return error_ || finished_ || !chunks_.empty(); });
  if (error_) return base::Fail(*error_);
  size_t n = 0;
  auto* out = static_cast<char*>(buf);
  while (n < size && !chunks_.empty()) {
    const std::string& c = chunks_.front();
    size_t take = std::min(size - n, c.size() - front_pos_);
    std::memcpy(out + n, c.data() + front_pos_, take);
    n += take;
    front_pos_ += take;
    if (front_pos_ == c.size()) {
      chunks_.pop_front();
      front_pos_ = 0;
    }
  }
  queued_ -= n;
  if (n > 0) cv_.notify_all();
  return n;
}

Result<ExtractedLayer> Unpacker::Extract(const oci::Descriptor& layer, const oci::Digest& diff_id,
                                         const UnpackProgressFn& progress) {
  auto ctx = "unpack layer " + layer.digest.ToString();
  auto blob = TRY_CTX(content_->Open(layer.digest), ctx);
  archive::FdSource file(blob.get());
  return ExtractFrom(file, layer, diff_id, progress);
}

Result<ExtractedLayer> Unpacker::ExtractFrom(archive::ByteSource& in, const oci::Descriptor& layer,
                                             const oci::Digest& diff_id,
                                             const UnpackProgressFn& progress) {
  auto ctx = "unpack layer " + layer.digest.ToString();
  std::string dir = TRY_CTX(snapshots_->PrepareLayerDir(), ctx);
  base::ScopeGuard discard([&] { (void)snapshots_->DiscardLayerDir(dir); });

  CountingSource counted(in, layer.size, progress);
  oci::Sha256 hash;
  archive::StreamTaps taps;
  taps.uncompressed = [&hash](const void* data, size_t size) { hash.Update(data, size); };
  auto media = oci::LayerCompression(layer.media_type);
  std::unique_ptr<archive::DecompressingSource> source;
  if (media) {
    auto c = *media == oci::Compression::kGzip   ? archive::Compression::kGzip
             : *media == oci::Compression::kZstd ? archive::Compression::kZstd
                                                 : archive::Compression::kNone;
    source = std::make_unique<archive::DecompressingSource>(counted, c, taps);
  } else {
    // Unknown (e.g. a foreign or vendor) media type: trust the magic number.
    source = std::make_unique<archive::DecompressingSource>(counted, taps);
  }
  auto root = TRY_CTX(sys::Open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), ctx);
  TRY_CTX(archive::ExtractLayer(*source, root.get(), options_), ctx);
  oci::Digest got = hash.Finish();
  if (got != diff_id)
    return Fail(Error::InvalidArgument(ctx + ": diff_id mismatch: expected " + diff_id.ToString() +
                                       ", got " + got.ToString()));
  int64_t size = TRY_CTX(DirectorySize(dir), ctx);
  discard.Dismiss();
  return ExtractedLayer{dir, size};
}

Status Unpacker::Commit(const ExtractedLayer& layer, const oci::Digest& chain_id,
                        const std::optional<oci::Digest>& parent) {
  auto s = snapshots_->CommitLayer(layer.dir, chain_id, parent, layer.size);
  if (!s) (void)snapshots_->DiscardLayerDir(layer.dir);
  return s;
}

Result<bool> Unpacker::Unpack(const oci::Descriptor& layer, const oci::Digest& diff_id,
                              const oci::Digest& chain_id, const std::optional<oci::Digest>& parent,
                              const UnpackProgressFn& progress) {
  if (snapshots_->Exists(chain_id)) return false;
  auto extracted = TRY(Extract(layer, diff_id, progress));
  TRY(Commit(extracted, chain_id, parent));
  return true;
}

}  // namespace berth::image
