// Background rootfs mounts between create and start.
#include "daemon/pending_mounts.h"

#include <utility>

namespace berth::daemon {

PendingMounts::~PendingMounts() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, f] : pending_) f.wait();
}

void PendingMounts::Begin(const std::string& id, std::function<base::Status()> mount) {
  (void)Take(id);
  auto f = std::async(std::launch::async, std::move(mount));
  std::lock_guard<std::mutex> lock(mu_);
  pending_[id] = std::move(f);
}

std::optional<base::Status> PendingMounts::Take(const std::string& id) {
  std::future<base::Status> f;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    f = std::move(it->second);
    pending_.erase(it);
  }
  return f.get();
}

}  // namespace berth::daemon
