// WorkerPool: threads for work that may block for long (a deferred handler, a streamed or
// hijacked response, a wait that lasts as long as its container). Run() hands the task to an idle
// worker, or starts a new one when all are busy: the pool never queues, so a task that blocks for
// an hour holds up no other. A worker that finishes waits for the next task, up to `max_idle`
// idle workers for at most `idle_for` each; the others end.
//
// Why not a thread per task: on the reference VM (a PVM guest, where a page fault costs tens of
// microseconds) a new thread is a clone plus the first touches of its stack, and glibc hands an
// ended thread's stack back with MADV_DONTNEED, so the next thread faults it in again. `run --rm`
// goes through three such tasks (attach, wait, start) on its way.
//
// Thread-safety: Run() from any thread; Shutdown() once, not from a worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace berth::daemon {

class WorkerPool {
 public:
  // `idle_priority`: the workers run at SCHED_IDLE, taking a CPU only when no other thread
  // wants it (work that is never urgent).
  explicit WorkerPool(size_t max_idle = 8,
                      std::chrono::milliseconds idle_for = std::chrono::seconds(30),
                      bool idle_priority = false)
      : max_idle_(max_idle), idle_for_(idle_for), idle_priority_(idle_priority) {}
  ~WorkerPool() { Shutdown(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on a worker. Tasks must not throw (an escaping exception ends the program).
  // After Shutdown() began, runs it on a thread of its own, which Shutdown() also waits for.
  void Run(std::function<void()> task);

  // Waits until every task has returned and every worker has ended (idle ones end at once).
  void Shutdown();

  // Workers alive now, busy or idle, and those of them idle (tests).
  size_t Workers();
  size_t Idle();

 private:
  void Work(std::function<void()> task);

  const size_t max_idle_;
  const std::chrono::milliseconds idle_for_;
  const bool idle_priority_;
  std::mutex mu_;
  std::condition_variable wake_;              // an idle worker: a task in handed_ or shutting down
  std::condition_variable ended_;             // a worker ended
  std::deque<std::function<void()>> handed_;  // tasks given to idle workers, not yet taken
  size_t idle_ = 0;                           // workers waiting for a task
  size_t workers_ = 0;
  bool shutting_down_ = false;
};

}  // namespace berth::daemon
