#include "daemon/pending_mounts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace berth::daemon {
namespace {

using base::Error;
using base::Fail;

TEST(PendingMounts, TakeWaitsForTheResultOnce) {
  PendingMounts m;
  std::atomic<bool> done{false};
  m.Begin("c1", [&]() -> base::Status {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done = true;
    return {};
  });
  auto r = m.Take("c1");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(*r);
  EXPECT_FALSE(m.Take("c1").has_value());
  EXPECT_FALSE(m.Take("other").has_value());
}

TEST(PendingMounts, KeepsTheErrorAndWaitsAtDestruction) {
  std::atomic<int> finished{0};
  {
    PendingMounts m;
    m.Begin("bad", []() -> base::Status { return Fail(Error::Internal("mount failed")); });
    auto r = m.Take("bad");
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().message(), "mount failed");
    m.Begin("slow", [&]() -> base::Status {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++finished;
      return {};
    });
  }
  EXPECT_EQ(finished.load(), 1);
}

}  // namespace
}  // namespace berth::daemon
