#include "daemon/pending_mounts.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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

// The start's reading of a prelaunched shim's reports, against a fake shim that reads the start
// record and answers with `reports` (then closes its end).
base::Status StartAgainst(std::vector<std::string> reports) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  sys::UniqueFd ours(sv[0]), shim_end(sv[1]);
  std::thread shim([fd = std::move(shim_end), reports]() mutable {
    char b[64];
    (void)::recv(fd.get(), b, sizeof b, 0);
    for (const auto& r : reports) (void)::send(fd.get(), r.data(), r.size(), MSG_NOSIGNAL);
    fd.Reset();
  });
  PrelaunchedShim prelaunched(std::move(ours));
  base::Status st = prelaunched.Start({});
  shim.join();
  return st;
}

TEST(PrelaunchedShim, StartReadsReadyThenTheReport) {
  EXPECT_TRUE(StartAgainst({"ready\n", "ok\n"}));
  // Failed after ready (an exec error): the start's error.
  auto st = StartAgainst({"ready\n", "exec failed\n"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::ErrorCode::kInternal);
  EXPECT_EQ(st.error().message(), "exec failed");
  // Failed before ready, or gave up waiting (silently, even after ready): nothing runs, and the
  // start runs the container the usual way.
  for (auto reports : std::vector<std::vector<std::string>>{{"no such file\n"}, {}, {"ready\n"}}) {
    st = StartAgainst(reports);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), base::ErrorCode::kUnavailable) << st.error().message();
  }
}

}  // namespace
}  // namespace berth::daemon
