// RegistryFetcher: the wiring of image::Fetcher (what a pull needs) over registry::Client (the
// distribution client). Lives outside image/ and registry/, which never include each other;
// berthd and berth-image wire the same class.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "image/fetcher.h"
#include "registry/client.h"

namespace berth::daemon {

// Thread-safe: registry::Client is used by one thread at a time, so concurrent calls each take
// a client from a pool (clients keep their tokens, so a pull authenticates once per worker).
class RegistryFetcher : public image::Fetcher {
 public:
  // options.hosts and options.credentials must outlive the fetcher.
  explicit RegistryFetcher(registry::ClientOptions options) : options_(options) {}

  base::Result<image::ResolvedImage> Resolve(const oci::ImageReference& ref,
                                             const oci::Platform& platform) override;
  base::Status FetchBlob(const oci::ImageReference& ref, const oci::Descriptor& blob,
                         image::FetchSink& sink, int64_t offset,
                         const image::FetchProgressFn& progress) override;

 private:
  std::unique_ptr<registry::Client> Take();
  void Give(std::unique_ptr<registry::Client> client);

  registry::ClientOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<registry::Client>> idle_;
};

}  // namespace berth::daemon
