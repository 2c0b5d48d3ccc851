// RegistryFetcher: see registry_fetcher.h.
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

}  // namespace

std::unique_ptr<registry::Client> RegistryFetcher::Take() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return std::make_unique<registry::Client>(options_);
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void RegistryFetcher::Give(std::unique_ptr<registry::Client> client) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(client));
}

base::Result<image::ResolvedImage> RegistryFetcher::Resolve(const oci::ImageReference& ref,
                                                            const oci::Platform& platform) {
  auto client = Take();
  auto r = client->ResolveImage(ref, platform);
  Give(std::move(client));
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
  auto client = Take();
  SinkAdapter adapter(sink);
  auto s = client->FetchBlob(registry::Repository::Of(ref), blob, adapter, offset, progress);
  Give(std::move(client));
  return s;
}

}  // namespace berth::daemon
