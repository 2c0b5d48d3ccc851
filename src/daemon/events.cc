// EventBus: a mutex, a ring and a condition variable.
#include "daemon/events.h"

#include <time.h>

namespace berth::daemon {

void EventBus::Publish(Event event) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  {
    std::lock_guard lock(mu_);
    event.seq = next_seq_++;
    event.time_nano = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    ring_.push_back(std::move(event));
    if (ring_.size() > kRetained) ring_.pop_front();
  }
  cv_.notify_all();
}

uint64_t EventBus::Next() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

std::vector<Event> EventBus::Read(uint64_t* cursor,
                                  std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return next_seq_ > *cursor || closed_; });
  std::vector<Event> out;
  for (const Event& e : ring_)
    if (e.seq >= *cursor) out.push_back(e);
  if (next_seq_ > *cursor) *cursor = next_seq_;
  return out;
}

void EventBus::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventBus::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace berth::daemon
