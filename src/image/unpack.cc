// Layer unpacking: see unpack.h.
#include "image/unpack.h"

#include <fcntl.h>

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

Result<ExtractedLayer> Unpacker::Extract(const oci::Descriptor& layer, const oci::Digest& diff_id,
                                         const UnpackProgressFn& progress) {
  auto ctx = "unpack layer " + layer.digest.ToString();
  auto blob = TRY_CTX(content_->Open(layer.digest), ctx);
  std::string dir = TRY_CTX(snapshots_->PrepareLayerDir(), ctx);
  base::ScopeGuard discard([&] { (void)snapshots_->DiscardLayerDir(dir); });

  archive::FdSource file(blob.get());
  CountingSource counted(file, layer.size, progress);
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
