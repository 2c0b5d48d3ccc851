// PendingAttaches: a locked map of fd lists and reservation counts.
#include "daemon/pending_attaches.h"

namespace berth::daemon {

std::shared_ptr<PendingAttaches::Reservation> PendingAttaches::Reserve(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    ++by_id_[id].reserved;
  }
  return std::make_shared<Reservation>(this, id);
}

void PendingAttaches::Release(const std::string& id, sys::UniqueFd fd) {
  {
    std::lock_guard lock(mu_);
    if (fd) by_id_[id].fds.push_back(std::move(fd));
    auto it = by_id_.find(id);
    if (it != by_id_.end() && it->second.reserved > 0 && --it->second.reserved == 0 &&
        it->second.fds.empty())
      by_id_.erase(it);
  }
  released_.notify_all();
}

std::vector<sys::UniqueFd> PendingAttaches::Take(const std::string& id,
                                                 std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  released_.wait_for(lock, wait, [&] {
    auto it = by_id_.find(id);
    return it == by_id_.end() || it->second.reserved == 0;
  });
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return {};
  std::vector<sys::UniqueFd> out = std::move(it->second.fds);
  if (it->second.reserved == 0) by_id_.erase(it);
  return out;
}

}  // namespace berth::daemon
