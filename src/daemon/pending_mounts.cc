// Background rootfs mounts between create and start.
#include "daemon/pending_mounts.h"

#include <exception>
#include <memory>
#include <utility>

namespace berth::daemon {

PendingMounts::~PendingMounts() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, f] : pending_) f.wait();
}

void PendingMounts::Begin(const std::string& id, std::function<Premount()> task) {
  (void)Take(id);
  auto done = std::make_shared<std::promise<Premount>>();
  auto f = done->get_future();
  workers_.Run([done, task = std::move(task)] {
    try {
      done->set_value(task());
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  });
  std::lock_guard<std::mutex> lock(mu_);
  pending_[id] = std::move(f);
}

std::optional<Premount> PendingMounts::Take(const std::string& id) {
  std::future<Premount> f;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    f = std::move(it->second);
    pending_.erase(it);
  }
  return f.get();
}

void PendingMounts::DropPrelaunch(const std::string& id) {
  auto taken = Take(id);
  if (!taken) return;
  taken->prelaunched.Cancel();
  std::promise<Premount> kept;
  kept.set_value(Premount{std::move(taken->mounted), {}});
  std::lock_guard<std::mutex> lock(mu_);
  pending_.emplace(id, kept.get_future());
}

}  // namespace berth::daemon
