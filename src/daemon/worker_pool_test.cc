// WorkerPool: tasks never wait for each other, idle workers are reused and end, Shutdown waits.
#include "daemon/worker_pool.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace berth::daemon {
namespace {

using namespace std::chrono_literals;

long ThreadId() { return syscall(SYS_gettid); }

// Waits (bounded) until pred() holds.
template <class Pred>
bool Eventually(Pred pred) {
  for (auto until = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(1ms))
    if (pred()) return true;
  return pred();
}

TEST(WorkerPoolTest, BlockedTasksDoNotHoldUpNewOnes) {
  WorkerPool pool(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  for (int i = 0; i < 5; ++i)
    pool.Run([&, released] {
      ++started;
      released.wait();
    });
  // Five tasks that block until released all run at once: the pool never queues.
  EXPECT_TRUE(Eventually([&] { return started == 5; })) << started;
  EXPECT_EQ(pool.Workers(), 5u);
  release.set_value();
  // Two stay for the next tasks; the others end.
  EXPECT_TRUE(Eventually([&] { return pool.Workers() == 2; })) << pool.Workers();
  pool.Shutdown();
  EXPECT_EQ(pool.Workers(), 0u);
}

TEST(WorkerPoolTest, AnIdleWorkerTakesTheNextTask) {
  WorkerPool pool(4);
  std::set<long> threads;
  for (int i = 0; i < 20; ++i) {
    std::promise<long> tid;
    auto got = tid.get_future();
    pool.Run([&tid] { tid.set_value(ThreadId()); });
    threads.insert(got.get());
    // The worker is idle again before the next Run (it may still be on its way back).
    ASSERT_TRUE(Eventually([&] { return pool.Idle() == 1; }));
  }
  EXPECT_EQ(threads.size(), 1u) << "a new thread per task";
  EXPECT_EQ(pool.Workers(), 1u);
}

// An idle-priority pool's tasks run at SCHED_IDLE; a default pool's at the caller's policy.
TEST(WorkerPoolTest, IdlePriorityWorkersRunAtSchedIdle) {
  for (bool idle : {true, false}) {
    WorkerPool pool(1, 30s, idle);
    std::promise<int> policy;
    auto got = policy.get_future();
    pool.Run([&policy] { policy.set_value(sched_getscheduler(0)); });
    EXPECT_EQ(got.get(), idle ? SCHED_IDLE : SCHED_OTHER);
  }
}

TEST(WorkerPoolTest, IdleWorkersEndAfterTheirTime) {
  WorkerPool pool(4, 50ms);
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) pool.Run([&] { ++done; });
  EXPECT_TRUE(Eventually([&] { return done == 3; }));
  EXPECT_TRUE(Eventually([&] { return pool.Workers() == 0; })) << pool.Workers();
}

TEST(WorkerPoolTest, ShutdownWaitsForRunningTasksAndLaterRunsStillRun) {
  WorkerPool pool;
  std::atomic<bool> finished{false};
  pool.Run([&] {
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  pool.Shutdown();
  EXPECT_TRUE(finished);
  std::atomic<bool> late{false};
  pool.Run([&] { late = true; });
  pool.Shutdown();
  EXPECT_TRUE(late);
  EXPECT_EQ(pool.Workers(), 0u);
}

TEST(WorkerPoolTest, ManyTasksFromManyThreadsAllRun) {
  WorkerPool pool(3);
  std::atomic<int> done{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) pool.Run([&] { ++done; });
    });
  for (auto& c : callers) c.join();
  EXPECT_TRUE(Eventually([&] { return done == 800; })) << done;
  pool.Shutdown();
  EXPECT_EQ(done, 800);
}

}  // namespace
}  // namespace berth::daemon
