// PendingAttaches: a locked map of fd lists.
#include "daemon/pending_attaches.h"

namespace berth::daemon {

void PendingAttaches::Add(const std::string& id, sys::UniqueFd fd) {
  std::lock_guard lock(mu_);
  by_id_[id].push_back(std::move(fd));
}

std::vector<sys::UniqueFd> PendingAttaches::Take(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return {};
  std::vector<sys::UniqueFd> out = std::move(it->second);
  by_id_.erase(it);
  return out;
}

}  // namespace berth::daemon
