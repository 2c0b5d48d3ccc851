// RegistryFetcher and RegistryPusher: the wiring of image::Fetcher (what a pull needs) and
// image::PushTarget (what a push needs) over registry::Client (the distribution client). Live
// outside image/ and registry/, which never include each other; berthd and berth-image wire the
// same classes.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "image/fetcher.h"
#include "image/push_target.h"
#include "registry/client.h"

namespace berth::daemon {

// Clients for concurrent use: registry::Client is used by one thread at a time, so each call
// takes one from the pool and gives it back (clients keep their tokens, so a pull or push
// authenticates once per worker). Thread-safe.
class ClientPool {
 public:
  // options.hosts and options.credentials must outlive the pool.
  explicit ClientPool(registry::ClientOptions options) : options_(options) {}
  std::unique_ptr<registry::Client> Take();
  void Give(std::unique_ptr<registry::Client> client);
  // f(registry::Client&) with a client from the pool; returns what f returns.
  template <typename F>
  auto Use(F&& f) {
    auto client = Take();
    auto r = f(*client);
    Give(std::move(client));
    return r;
  }

 private:
  registry::ClientOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<registry::Client>> idle_;
};

// Thread-safe (a ClientPool).
class RegistryFetcher : public image::Fetcher {
 public:
  // options.hosts and options.credentials must outlive the fetcher.
  explicit RegistryFetcher(registry::ClientOptions options) : pool_(options) {}

  base::Result<image::ResolvedImage> Resolve(const oci::ImageReference& ref,
                                             const oci::Platform& platform) override;
  base::Status FetchBlob(const oci::ImageReference& ref, const oci::Descriptor& blob,
                         image::FetchSink& sink, int64_t offset,
                         const image::FetchProgressFn& progress) override;

 private:
  ClientPool pool_;
};

// Thread-safe (a ClientPool). Errors are registry::Client's.
class RegistryPusher : public image::PushTarget {
 public:
  // options.hosts and options.credentials must outlive the pusher.
  explicit RegistryPusher(registry::ClientOptions options) : pool_(options) {}

  base::Result<bool> BlobExists(const oci::ImageReference& repo,
                                const oci::Digest& digest) override;
  base::Result<bool> MountBlob(const oci::ImageReference& repo, const oci::Digest& digest,
                               std::string_view from_path) override;
  base::Status PushBlob(const oci::ImageReference& repo, const oci::Descriptor& blob,
                        image::PushSource& source,
                        const image::UploadProgressFn& progress) override;
  base::Result<oci::Digest> PushManifest(const oci::ImageReference& repo, std::string_view tag,
                                         std::string_view media_type,
                                         std::string_view bytes) override;

 private:
  ClientPool pool_;
};

}  // namespace berth::daemon
