// RegistryFetcher and RegistryPusher: see registry_fetcher.h.
#include "daemon/registry_fetcher.h"

namespace berth::daemon {

namespace {

class SinkAdapter : public registry::BlobSink {
 public:
  explicit SinkAdapter(image::FetchSink& sink) : sink_(sink) {}
  base::Status Write(std::string_view data) override { return sink_.Write(data); }
  base::Status Restart() override { return sink_.Restart(); }

 private:
  image::FetchSink& sink_;
};

class SourceAdapter : public registry::BlobSource {
 public:
  explicit SourceAdapter(image::PushSource& source) : source_(source) {}
  base::Result<size_t> ReadAt(int64_t offset, char* buf, size_t n) override {
    return source_.ReadAt(offset, buf, n);
  }

 private:
  image::PushSource& source_;
};

}  // namespace

std::unique_ptr<registry::Client> ClientPool::Take() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return std::make_unique<registry::Client>(options_);
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void ClientPool::Give(std::unique_ptr<registry::Client> client) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(client));
}

base::Result<image::ResolvedImage> RegistryFetcher::Resolve(const oci::ImageReference& ref,
                                                            const oci::Platform& platform) {
  auto r = pool_.Use([&](registry::Client& c) { return c.ResolveImage(ref, platform); });
  if (!r) return base::Fail(std::move(r.error()));
  image::ResolvedImage out;
  out.root = std::move(r->root);
  out.index = std::move(r->index);
  out.index_bytes = std::move(r->index_bytes);
  out.manifest_descriptor = std::move(r->manifest_descriptor);
  out.manifest = std::move(r->manifest);
  out.manifest_bytes = std::move(r->manifest_bytes);
  out.config = std::move(r->config);
  out.config_bytes = std::move(r->config_bytes);
  return out;
}

base::Status RegistryFetcher::FetchBlob(const oci::ImageReference& ref, const oci::Descriptor& blob,
                                        image::FetchSink& sink, int64_t offset,
                                        const image::FetchProgressFn& progress) {
  SinkAdapter adapter(sink);
  return pool_.Use([&](registry::Client& c) {
    return c.FetchBlob(registry::Repository::Of(ref), blob, adapter, offset, progress);
  });
}

base::Result<bool> RegistryPusher::BlobExists(const oci::ImageReference& repo,
                                              const oci::Digest& digest) {
  return pool_.Use(
      [&](registry::Client& c) { return c.BlobExists(registry::Repository::Of(repo), digest); });
}

base::Result<bool> RegistryPusher::MountBlob(const oci::ImageReference& repo,
                                             const oci::Digest& digest,
                                             std::string_view from_path) {
  registry::Repository from{repo.domain, std::string(from_path)};
  return pool_.Use([&](registry::Client& c) {
    return c.MountBlob(registry::Repository::Of(repo), digest, from);
  });
}

base::Status RegistryPusher::PushBlob(const oci::ImageReference& repo, const oci::Descriptor& blob,
                                      image::PushSource& source,
                                      const image::UploadProgressFn& progress) {
  SourceAdapter adapter(source);
  return pool_.Use([&](registry::Client& c) {
    return c.PushBlob(registry::Repository::Of(repo), blob, adapter, progress);
  });
}

base::Result<oci::Digest> RegistryPusher::PushManifest(const oci::ImageReference& repo,
                                                       std::string_view tag,
                                                       std::string_view media_type,
                                                       std::string_view bytes) {
  return pool_.Use([&](registry::Client& c) {
    return c.PushManifest(registry::Repository::Of(repo), tag, media_type, bytes);
  });
}

}  // namespace berth::daemon
