#include "daemon/pending_mounts.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

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
  m.Begin("c1", [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done = true;
    return Premount{};
  });
  auto r = m.Take("c1");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(r->mounted);
  EXPECT_FALSE(m.Take("c1").has_value());
  EXPECT_FALSE(m.Take("other").has_value());
}

TEST(PendingMounts, KeepsTheErrorAndWaitsAtDestruction) {
  std::atomic<int> finished{0};
  {
    PendingMounts m;
    m.Begin("bad", [] { return Premount{Fail(Error::Internal("mount failed")), {}}; });
    auto r = m.Take("bad");
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(r->mounted);
    EXPECT_EQ(r->mounted.error().message(), "mount failed");
    m.Begin("slow", [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++finished;
      return Premount{};
    });
  }
  EXPECT_EQ(finished.load(), 1);
}

// A prelaunch dropped unstarted tells its shim (EOF) and waits for the shim to be gone (its end
// closed); the mount's result stays for the start.
TEST(PendingMounts, DropPrelaunchCancelsTheShimAndKeepsTheMount) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  sys::UniqueFd ours(sv[0]), shim_end(sv[1]);
  std::atomic<bool> shim_saw_eof{false};
  std::thread shim([&, fd = std::move(shim_end)]() mutable {
    char b[16];
    while (::recv(fd.get(), b, sizeof b, 0) > 0) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its cleanup
    shim_saw_eof = true;
    fd.Reset();
  });
  PendingMounts m;
  m.Begin("c1", [&] { return Premount{{}, PrelaunchedShim(std::move(ours))}; });
  m.DropPrelaunch("c1");
  EXPECT_TRUE(shim_saw_eof.load());
  auto r = m.Take("c1");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->mounted);
  EXPECT_FALSE(r->prelaunched);
  shim.join();
}

}  // namespace
}  // namespace berth::daemon
