// WorkerPool; see worker_pool.h.
#include "daemon/worker_pool.h"

#include <pthread.h>
#include <sched.h>

#include <thread>
#include <utility>

namespace berth::daemon {

void WorkerPool::Run(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    // More tasks handed over than idle workers to take them would leave one waiting for a
    // worker to finish its task: only hand over to a worker that is surely free.
    if (!shutting_down_ && idle_ > handed_.size()) {
      handed_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
    ++workers_;
  }
  std::thread([this, task = std::move(task)]() mutable { Work(std::move(task)); }).detach();
}

void WorkerPool::Work(std::function<void()> task) {
  if (idle_priority_) {
    sched_param param{};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  }
  for (;;) {
    task();
    task = nullptr;  // its captures (connections, guards) go now, not with the next task
    std::unique_lock lock(mu_);
    if (shutting_down_ || idle_ - handed_.size() >= max_idle_) break;
    ++idle_;
    bool got =
        wake_.wait_for(lock, idle_for_, [this] { return !handed_.empty() || shutting_down_; });
    --idle_;
    if (!got || handed_.empty()) break;
    task = std::move(handed_.front());
    handed_.pop_front();
  }
  std::lock_guard lock(mu_);
  --workers_;
  ended_.notify_all();
}

void WorkerPool::Shutdown() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
  wake_.notify_all();
  ended_.wait(lock, [this] { return workers_ == 0; });
}

size_t WorkerPool::Workers() {
  std::lock_guard lock(mu_);
  return workers_;
}

size_t WorkerPool::Idle() {
  std::lock_guard lock(mu_);
  return idle_ - handed_.size();
}

}  // namespace berth::daemon
