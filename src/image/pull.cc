// Pulling images: see pull.h.
#include "image/pull.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "base/scope_guard.h"

namespace berth::image {

using base::Error;
using base::ErrorCode;
using base::Fail;
using base::Result;
using base::Status;

std::string ShortId(const oci::Digest& digest) { return digest.hex().substr(0, 12); }

namespace {

// Appends fetched bytes to a content writer; stops the fetch when the pull is aborted.
class WriterSink : public FetchSink {
 public:
  WriterSink(ContentWriter& writer, const std::function<bool()>& aborted)
      : writer_(writer), aborted_(aborted) {}
  Status Write(std::string_view data) override {
    if (aborted_()) return Fail(Error::Unavailable("pull aborted"));
    return writer_.Write(data);
  }
  Status Restart() override { return writer_.Truncate(); }

 private:
  ContentWriter& writer_;
  const std::function<bool()>& aborted_;
};

// Tees fetched bytes into a content writer and a pipe feeding an extraction. After a Restart the
// pipe is failed (the extraction is abandoned) and only the writer gets the bytes.
class TeeSink : public FetchSink {
 public:
  TeeSink(ContentWriter& writer, BlobPipe& pipe, const std::function<bool()>& aborted)
      : writer_(writer), pipe_(pipe), aborted_(aborted) {}
  Status Write(std::string_view data) override {
    if (aborted_()) return Fail(Error::Unavailable("pull aborted"));
    TRY(writer_.Write(data));
    if (!restarted_) (void)pipe_.Push(data);
    return {};
  }
  Status Restart() override {
    if (!restarted_) pipe_.Fail(Error::Unavailable("download restarted"));
    restarted_ = true;
    return writer_.Truncate();
  }
  bool restarted() const { return restarted_; }

 private:
  ContentWriter& writer_;
  BlobPipe& pipe_;
  const std::function<bool()>& aborted_;
  bool restarted_ = false;
};

struct LayerJob {
  oci::Descriptor desc;
  oci::Digest diff_id;
  oci::Digest chain_id;
  std::optional<oci::Digest> parent;
  bool exists = false;  // snapshot already present
  std::optional<ExtractedLayer> extracted;
  bool committed = false;
};

std::string LeaseId() {
  std::random_device rd;
  return fmt::format("pull-{:08x}{:08x}", rd(), rd());
}

}  // namespace

// Asks Download to extract the layer while it downloads; `result` is set when that worked.
struct StreamedExtract {
  oci::Digest diff_id;
  UnpackProgressFn progress;
  std::optional<ExtractedLayer> result;
};

Status Puller::Download(const oci::ImageReference& ref, const oci::Descriptor& blob,
                        const std::function<bool()>& aborted,
                        const std::function<void(int64_t, int64_t)>& progress,
                        StreamedExtract* stream) {
  auto ctx = "download " + blob.digest.ToString();
  // A digest mismatch after resuming means the partial bytes were bad: one retry from 0.
  for (int attempt = 0;; ++attempt) {
    if (content_->Exists(blob.digest)) return {};
    auto writer = content_->Writer(blob.digest.ToString(), blob.digest, blob.size);
    if (!writer) {
      // Another pull (here or in another process) is downloading the same blob: wait for it.
      if (writer.error().code() != ErrorCode::kUnavailable || aborted())
        return Fail(std::move(writer.error()).Context(ctx));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      --attempt;
      continue;
    }
    ContentWriter& w = **writer;
    int64_t offset = w.Offset();
    if (stream && offset == 0 && attempt == 0 && blob.size != 0) {
      // Fresh download: extract on a second thread as the bytes arrive.
      BlobPipe pipe;
      std::optional<Result<ExtractedLayer>> extracted;
      std::thread extractor([&] {
        extracted = Unpacker(content_, snapshots_)
                        .ExtractFrom(pipe, blob, stream->diff_id, stream->progress);
        pipe.CloseReader();
      });
      auto discard = [&] {
        if (extracted && *extracted) (void)snapshots_->DiscardLayerDir((*extracted)->dir);
      };
      TeeSink sink(w, pipe, aborted);
      Status fetched = fetcher_->FetchBlob(ref, blob, sink, offset, progress);
      if (!fetched) {
        pipe.Fail(Error::Unavailable("download failed"));
        extractor.join();
        discard();
        return Fail(std::move(fetched.error()).Context(ctx));
      }
      pipe.Finish();
      // The fsync and digest check overlap the end of the extraction.
      auto committed = w.Commit();
      extractor.join();
      if (!committed) {
        discard();
        return Fail(std::move(committed.error()).Context(ctx));
      }
      if (sink.restarted()) {
        discard();
      } else if (*extracted) {
        stream->result = std::move(**extracted);
      }
      // Else the extraction failed: the caller extracts from the store (and reports its error).
      return {};
    }
    if (offset < blob.size || blob.size < 0) {
      WriterSink sink(w, aborted);
      TRY_CTX(fetcher_->FetchBlob(ref, blob, sink, offset, progress), ctx);
    }
    auto committed = w.Commit();
    if (committed) return {};
    if (attempt > 0 || offset == 0) return Fail(std::move(committed.error()).Context(ctx));
    (void)w.Abort();
  }
}

Result<PullResult> Puller::Pull(const oci::ImageReference& ref, const PullOptions& options) {
  auto ctx = "pull " + ref.String();
  ResolvedImage img = TRY_CTX(fetcher_->Resolve(ref, options.platform), ctx);
  const auto& layers = img.manifest.layers;
  if (img.config.diff_ids.size() != layers.size())
    return Fail(
        Error::InvalidArgument(fmt::format("{}: the config lists {} diff_ids for {} layers", ctx,
                                           img.config.diff_ids.size(), layers.size())));
  auto chain = oci::ChainIds(img.config.diff_ids);

  PullResult result;
  result.image_id = img.manifest.config.digest;
  result.digest = img.root.digest;
  if (!ref.tag.empty() && !ref.digest) result.names.push_back(ref.Name() + ":" + ref.tag);
  result.names.push_back(ref.Name() + "@" + img.root.digest.ToString());

  // Snapshots committed below are unreferenced until PutImage: keep GC off them meanwhile.
  auto hold = TRY_CTX(snapshots_->Hold(), ctx);
  std::string lease = LeaseId();
  TRY_CTX(meta_->CreateLease(lease, options.lease_ttl), ctx);
  // Every blob joins the lease before it is written, so GC cannot race the pull.
  std::vector<oci::Digest> all{img.root.digest, img.manifest_descriptor.digest,
                               img.manifest.config.digest};
  for (const auto& l : layers) all.push_back(l.digest);
  for (const auto& d : all) TRY_CTX(meta_->AddLeaseBlob(lease, d), ctx);
  if (img.index) TRY_CTX(content_->Put(img.index_bytes, img.root.digest), ctx);
  TRY_CTX(content_->Put(img.manifest_bytes, img.manifest_descriptor.digest), ctx);
  TRY_CTX(content_->Put(img.config_bytes, img.manifest.config.digest), ctx);

  std::vector<LayerJob> jobs(layers.size());
  std::mutex mu;  // guards jobs' extracted/committed, next_commit, error, progress calls
  auto emit = [&](const PullProgress& p) {
    if (options.progress) options.progress(p);
  };
  std::deque<size_t> queue;
  {
    std::lock_guard lock(mu);
    for (size_t i = 0; i < layers.size(); ++i) {
      LayerJob& j = jobs[i];
      j.desc = layers[i];
      j.diff_id = img.config.diff_ids[i];
      j.chain_id = chain[i];
      if (i > 0) j.parent = chain[i - 1];
      j.exists = snapshots_->Exists(j.chain_id);
      if (j.exists) {
        j.committed = true;
        emit({ShortId(j.desc.digest), "Already exists"});
      } else {
        emit({ShortId(j.desc.digest), "Pulling fs layer"});
        queue.push_back(i);
      }
    }
    for (size_t i : queue) emit({ShortId(jobs[i].desc.digest), "Waiting"});
  }

  size_t next_commit = 0;
  std::optional<Error> error;
  std::atomic<bool> abort{false};
  std::function<bool()> aborted = [&] { return abort.load(); };

  auto fail = [&](Error e) {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
    abort = true;
  };
  // Commits, base first, every layer whose parents are committed. Called with mu held.
  auto commit_ready = [&]() -> Status {
    while (next_commit < jobs.size()) {
      LayerJob& j = jobs[next_commit];
      if (!j.committed) {
        if (!j.extracted) break;
        TRY(Unpacker(content_, snapshots_).Commit(*j.extracted, j.chain_id, j.parent));
        j.extracted.reset();
        j.committed = true;
        emit({ShortId(j.desc.digest), "Pull complete"});
      }
      ++next_commit;
    }
    return {};
  };

  auto worker = [&] {
    Unpacker unpacker(content_, snapshots_);
    for (;;) {
      size_t i;
      {
        std::lock_guard lock(mu);
        if (queue.empty() || abort) return;
        i = queue.front();
        queue.pop_front();
      }
      LayerJob& j = jobs[i];
      std::string id = ShortId(j.desc.digest);
      int64_t last = -1;
      auto on_bytes = [&](const char* status, int64_t done, int64_t total) {
        // At most one event per MiB: progress bars do not need more.
        if (done != total && last >= 0 && done - last < (1 << 20)) return;
        last = done;
        std::lock_guard lock(mu);
        emit({id, status, done, total});
      };
      std::optional<ExtractedLayer> streamed;
      if (!content_->Exists(j.desc.digest)) {
        int64_t last_extract = -1;
        StreamedExtract stream;
        stream.diff_id = j.diff_id;
        // From the extraction thread, while Downloading events still come from this one.
        stream.progress = [&](int64_t done, int64_t total) {
          if (done != total && last_extract >= 0 && done - last_extract < (1 << 20)) return;
          last_extract = done;
          std::lock_guard lock(mu);
          emit({id, "Extracting", done, total});
        };
        Status s = Download(
            ref, j.desc, aborted,
            [&](int64_t done, int64_t total) { on_bytes("Downloading", done, total); }, &stream);
        if (!s) return fail(std::move(s.error()));
        streamed = std::move(stream.result);
        std::lock_guard lock(mu);
        emit({id, "Verifying Checksum"});
        emit({id, "Download complete"});
        if (streamed) emit({id, "Extracting", j.desc.size, j.desc.size});
      } else {
        std::lock_guard lock(mu);
        emit({id, "Download complete"});
      }
      last = -1;
      auto extracted = streamed
                           ? Result<ExtractedLayer>(std::move(*streamed))
                           : unpacker.Extract(j.desc, j.diff_id, [&](int64_t done, int64_t total) {
                               on_bytes("Extracting", done, total);
                             });
      if (!extracted) return fail(std::move(extracted.error()));
      std::lock_guard lock(mu);
      if (abort) {
        (void)snapshots_->DiscardLayerDir(extracted->dir);
        return;
      }
      j.extracted = std::move(*extracted);
      if (Status s = commit_ready(); !s) {
        if (!error) error = std::move(s.error());
        abort = true;
        return;
      }
    }
  };

  size_t workers = std::min<size_t>(std::max(1, options.max_concurrent_downloads), queue.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  for (auto& j : jobs) {
    if (j.extracted) (void)snapshots_->DiscardLayerDir(j.extracted->dir);
  }
  if (!error) {
    std::lock_guard lock(mu);
    if (Status s = commit_ready(); !s) error = std::move(s.error());
  }
  // On failure the lease stays until its TTL, keeping the finished blobs for a retry.
  if (error) return Fail(std::move(*error).Context(ctx));
  if (next_commit != jobs.size()) return Fail(Error::Internal(ctx + ": layers left uncommitted"));

  ImageRecord rec;
  rec.id = result.image_id;
  rec.manifest_digest = img.manifest_descriptor.digest;
  rec.target = img.root;
  rec.created = img.config.created;
  rec.platform.os = img.config.os;
  rec.platform.architecture = img.config.architecture;
  rec.platform.variant = img.config.variant;
  for (size_t i = 0; i < jobs.size(); ++i) {
    rec.layers.push_back({jobs[i].diff_id, jobs[i].chain_id, jobs[i].desc.digest, jobs[i].desc.size,
                          jobs[i].desc.media_type});
    rec.size += TRY_CTX(snapshots_->Usage(jobs[i].chain_id), ctx);
  }
  rec.names = result.names;
  auto prev = meta_->ResolveName(result.names.front());
  result.updated = !prev || prev->id != rec.id;
  TRY_CTX(meta_->PutImage(rec), ctx);
  (void)meta_->DeleteLease(lease);
  return result;
}

}  // namespace berth::image
