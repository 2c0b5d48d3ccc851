// Pushing images: see push.h.
#include "image/push.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/log.h"
#include "sys/unique_fd.h"

namespace berth::image {

using base::Error;
using base::ErrorCode;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr int64_t kMaxManifestSize = 8 << 20;

// Reads a blob of the content store with pread(2); fails once the push is aborted, which ends
// the upload in flight.
class ContentSource : public PushSource {
 public:
  ContentSource(sys::UniqueFd fd, const std::atomic<bool>& aborted)
      : fd_(std::move(fd)), aborted_(aborted) {}
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) override {
    // Internal rather than Unavailable: the target must not retry it. Never reported (the
    // error that aborted the push is).
    if (aborted_) return Fail(Error::Internal("push aborted"));
    for (;;) {
      ssize_t got = pread(fd_.get(), buf, n, offset);
      if (got >= 0) return size_t(got);
      if (errno != EINTR) return Fail(Error::FromErrno(errno, "read blob"));
    }
  }

 private:
  sys::UniqueFd fd_;
  const std::atomic<bool>& aborted_;
};

struct BlobJob {
  oci::Descriptor desc;
  std::string id;  // shown in progress events; empty for the config (no events)
};

}  // namespace

Result<std::vector<std::string>> LocalTags(MetadataStore& meta, const std::string& repo_name) {
  std::set<std::string> tags;
  for (const ImageRecord& rec : TRY(meta.ListImages())) {
    for (const std::string& name : rec.names) {
      auto ref = oci::ParseReference(name);
      if (ref && !ref->digest && ref->Name() == repo_name) tags.insert(ref->tag);
    }
  }
  return std::vector<std::string>(tags.begin(), tags.end());
}

Result<ImageRecord> ResolvePushImage(MetadataStore& meta, const oci::ImageReference& ref) {
  if (ref.digest) return Fail(Error::InvalidArgument("cannot push a digest reference"));
  auto rec = meta.ResolveName(ref.Name() + ":" + ref.tag);
  if (rec || rec.error().code() != ErrorCode::kNotFound) return rec;
  if (TRY(LocalTags(meta, ref.Name())).empty())
    return Fail(
        Error::NotFound("An image does not exist locally with the tag: " + ref.FamiliarName()));
  return Fail(Error::NotFound("tag does not exist: " + ref.FamiliarString()));
}

Result<PushResult> Pusher::Push(const oci::ImageReference& ref, const PushOptions& options) {
  ImageRecord rec = TRY(ResolvePushImage(*meta_, ref));
  return PushImage(rec, ref, options);
}

Result<PushResult> Pusher::PushImage(const ImageRecord& image, const oci::ImageReference& target,
                                     const PushOptions& options) {
  const std::string ctx = "push " + target.String();
  if (target.tag.empty() || target.digest)
    return Fail(Error::InvalidArgument(ctx + ": a push needs a tag and no digest"));
  std::string manifest_bytes =
      TRY_CTX(content_->ReadAll(image.manifest_digest, kMaxManifestSize), ctx + ": manifest");
  oci::Manifest manifest = TRY_CTX(oci::ParseManifest(manifest_bytes), ctx + ": manifest");
  std::string media_type = manifest.media_type;
  if (media_type.empty() && image.target.digest == image.manifest_digest)
    media_type = image.target.media_type;
  if (media_type.empty()) media_type = oci::media::kOciManifest;

  // Repositories of the same registry the image is known in: mount sources. Repo digests first
  // (a pull or push put the image there), then tags (perhaps never pushed).
  std::vector<std::string> sources;
  for (bool want_digest : {true, false}) {
    for (const std::string& name : image.names) {
      auto ref = oci::ParseReference(name);
      if (!ref || ref->digest.has_value() != want_digest) continue;
      if (ref->domain != target.domain || ref->path == target.path) continue;
      if (std::find(sources.begin(), sources.end(), ref->path) == sources.end())
        sources.push_back(ref->path);
    }
  }
  if (int(sources.size()) > options.max_mount_attempts)
    sources.resize(size_t(std::max(0, options.max_mount_attempts)));

  // Layers top first, as docker lists them; a blob listed twice goes up once. Layer ids are
  // the short diff IDs when the record's layers match the manifest's, as in docker push.
  std::vector<BlobJob> jobs;
  const bool diff_ids = image.layers.size() == manifest.layers.size();
  std::set<oci::Digest> seen;
  for (size_t k = manifest.layers.size(); k-- > 0;) {
    const oci::Descriptor& d = manifest.layers[k];
    if (!seen.insert(d.digest).second) continue;
    bool matches = diff_ids && image.layers[k].blob == d.digest;
    jobs.push_back({d, ShortId(matches ? image.layers[k].diff_id : d.digest)});
  }

  std::mutex mu;  // guards error, the queue and progress calls
  auto emit = [&](const PushProgress& p) {
    if (options.progress) options.progress(p);
  };
  std::deque<size_t> queue;
  size_t workers = std::min<size_t>(std::max(1, options.max_concurrent_uploads), jobs.size());
  {
    std::lock_guard lock(mu);
    for (size_t i = 0; i < jobs.size(); ++i) {
      emit({jobs[i].id, "Preparing"});
      queue.push_back(i);
    }
    for (size_t i = workers; i < jobs.size(); ++i) emit({jobs[i].id, "Waiting"});
  }

  std::optional<Error> error;
  std::atomic<bool> abort{false};
  auto fail = [&](Error e) {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
    abort = true;
  };

  // Makes the repository have one blob; `id` empty: no events.
  auto send = [&](const BlobJob& job) -> Status {
    const oci::Descriptor& d = job.desc;
    auto event = [&](std::string status, int64_t current = 0, int64_t total = 0) {
      if (job.id.empty()) return;
      std::lock_guard lock(mu);
      emit({job.id, std::move(status), current, total});
    };
    if (!d.urls.empty() && d.media_type.find("foreign") != std::string::npos) {
      event("Skipped foreign layer");
      return {};
    }
    if (TRY(target_->BlobExists(target, d.digest))) {
      event("Layer already exists");
      return {};
    }
    for (const std::string& from : sources) {
      auto mounted = target_->MountBlob(target, d.digest, from);
      if (!mounted) {
        // As docker: a failed mount is no reason to fail the push; the upload follows.
        base::LogDebug("{}: mount {} from {}: {}", ctx, d.digest.ToString(), from,
                       mounted.error().message());
        continue;
      }
      if (*mounted) {
        event("Mounted from " + from);
        return {};
      }
    }
    ContentSource source(TRY(content_->Open(d.digest)), abort);
    int64_t last = -1;
    TRY(target_->PushBlob(target, d, source, [&](int64_t done, int64_t total) {
      // At most one event per MiB: progress bars do not need more.
      if (done != total && last >= 0 && done - last < (1 << 20)) return;
      if (done == last) return;
      last = done;
      event("Pushing", done, total);
    }));
    event("Pushed");
    return {};
  };

  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::lock_guard lock(mu);
        if (queue.empty() || abort) return;
        i = queue.front();
        queue.pop_front();
      }
      Status s = send(jobs[i]);
      if (!s) return fail(std::move(s.error()).Context("layer " + jobs[i].desc.digest.ToString()));
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (error) return Fail(std::move(*error).Context(ctx));

  // The config after the layers, as docker does; no events for it.
  TRY_CTX(send({manifest.config, ""}), ctx + ": config " + manifest.config.digest.ToString());
  oci::Digest digest =
      TRY_CTX(target_->PushManifest(target, target.tag, media_type, manifest_bytes), ctx);

  PushResult result;
  result.tag = target.tag;
  result.digest = digest;
  result.size = int64_t(manifest_bytes.size());
  result.image_id = image.id;
  if (Status s = meta_->Tag(target.Name() + "@" + digest.ToString(), image.id); !s)
    base::LogWarn("{}: record the repo digest: {}", ctx, s.error().message());
  return result;
}

}  // namespace berth::image
