// PendingAttaches: a start waits for the attaches that have answered 101 but not yet handed
// over their connection, and only for those.
#include "daemon/pending_attaches.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace berth::daemon {
namespace {

using namespace std::chrono_literals;

sys::UniqueFd DevNull() { return sys::UniqueFd(::dup(STDIN_FILENO)); }

TEST(PendingAttachesTest, TakeWaitsForAReservationToBeFulfilled) {
  PendingAttaches p;
  auto r = p.Reserve("c1");
  std::thread late([&] {
    std::this_thread::sleep_for(50ms);
    r->Fulfill(DevNull());
  });
  auto t0 = std::chrono::steady_clock::now();
  auto fds = p.Take("c1", 10s);
  late.join();
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_TRUE(fds[0].valid());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "waited for the timeout";
  EXPECT_TRUE(p.Take("c1", 0ms).empty());
}

TEST(PendingAttachesTest, AnUnfulfilledReservationReleasesOnDestruction) {
  PendingAttaches p;
  auto r = p.Reserve("c1");
  std::thread gone([r = std::move(r)]() mutable {
    std::this_thread::sleep_for(20ms);
    r.reset();
  });
  auto fds = p.Take("c1", 10s);
  gone.join();
  EXPECT_TRUE(fds.empty());
}

TEST(PendingAttachesTest, OtherContainersAndDropDoNotWait) {
  PendingAttaches p;
  auto r = p.Reserve("c1");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(p.Take("c2", 10s).empty());
  p.Drop("c1");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Fulfilled twice: the second connection is closed, not queued.
  r->Fulfill(DevNull());
  r->Fulfill(DevNull());
  EXPECT_EQ(p.Take("c1", 0ms).size(), 1u);
}

TEST(PendingAttachesTest, TakeGivesUpAfterItsWait) {
  PendingAttaches p;
  auto r = p.Reserve("c1");
  EXPECT_TRUE(p.Take("c1", 10ms).empty());
  r->Fulfill(DevNull());
  EXPECT_EQ(p.Take("c1", 0ms).size(), 1u);
}

}  // namespace
}  // namespace berth::daemon
