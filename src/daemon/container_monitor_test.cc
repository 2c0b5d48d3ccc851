// The container monitor and the event bus: restart decisions, back-off, sequence cursors, and an
// exit that happened before its watch began.
#include "daemon/container_monitor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/container_internal.h"
#include "daemon/container_store.h"
#include "daemon/events.h"
#include "daemon/worker_pool.h"

namespace berth::daemon {
namespace {

using namespace std::chrono_literals;

Event Ev(std::string type, std::string action, std::string id) {
  Event e;
  e.type = std::move(type);
  e.action = std::move(action);
  e.id = std::move(id);
  return e;
}

TEST(ContainerMonitorTest, ShouldRestartFollowsDockerPolicies) {
  using M = ContainerMonitor;
  EXPECT_FALSE(M::ShouldRestart("", 0, 1, false, 0));
  EXPECT_FALSE(M::ShouldRestart("no", 0, 1, false, 0));
  EXPECT_TRUE(M::ShouldRestart("always", 0, 0, false, 50));
  EXPECT_FALSE(M::ShouldRestart("always", 0, 0, true, 0));  // docker stop / kill
  EXPECT_TRUE(M::ShouldRestart("unless-stopped", 0, 0, false, 3));
  EXPECT_FALSE(M::ShouldRestart("unless-stopped", 0, 0, true, 3));
  EXPECT_FALSE(M::ShouldRestart("on-failure", 0, 0, false, 0));   // success ends it
  EXPECT_TRUE(M::ShouldRestart("on-failure", 0, 2, false, 100));  // no maximum
  EXPECT_TRUE(M::ShouldRestart("on-failure", 2, 1, false, 1));
  EXPECT_FALSE(M::ShouldRestart("on-failure", 2, 1, false, 2));
}

TEST(ContainerMonitorTest, BackoffDoublesUpToAMinute) {
  EXPECT_EQ(ContainerMonitor::Backoff(0), 100ms);
  EXPECT_EQ(ContainerMonitor::Backoff(1), 200ms);
  EXPECT_EQ(ContainerMonitor::Backoff(3), 800ms);
  EXPECT_EQ(ContainerMonitor::Backoff(10), 60000ms);
  EXPECT_EQ(ContainerMonitor::Backoff(1000), 60000ms);
}

// A container that exits while its start is still being recorded has its exit.json renamed into
// the state dir before Watch() adds its inotify watch. That exit must be handled at once, not
// when the shim process ends after its cleanup (the stand-in shim here never ends by itself).
TEST(ContainerMonitorTest, ExitRecordedBeforeTheWatchIsHandledAtOnce) {
  char tmpl[] = "/tmp/berth-monitor-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto store = ContainerStore::Open(dir + "/d/containers");
  ASSERT_TRUE(store) << store.error().message();
  EventBus bus;
  ContainerContext ctx;
  ctx.containers = store->get();
  ctx.exec_root = dir + "/e";
  ctx.data_root = dir + "/d";
  ctx.events = &bus;
  ContainerRecord rec;
  rec.id = std::string(64, 'a');
  rec.name = "early";
  rec.request = "{}";
  rec.state.status = "running";
  ASSERT_TRUE((*store)->Add(rec));

  pid_t shim = fork();
  if (shim == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(shim, 0);
  const Paths p = PathsOf(&ctx, rec.id);
  std::filesystem::create_directories(p.state);
  std::ofstream(p.state + "/shim.pid") << shim << "\n";
  std::ofstream(p.state + "/exit.json")
      << R"({"exit_code":3,"signal":0,"oom_killed":false,"finished_at":"2026-12-05T00:00:00Z"})"
      << "\n";

  ContainerMonitor monitor(&ctx);
  ASSERT_TRUE(monitor.Start());
  uint64_t cursor = bus.Next();
  monitor.Watch(rec.id);
  std::string code;
  for (auto until = std::chrono::steady_clock::now() + 10s;
       code.empty() && std::chrono::steady_clock::now() < until;) {
    for (const Event& e : bus.Read(&cursor, std::chrono::steady_clock::now() + 100ms))
      if (e.action == "die" && e.id == rec.id) code = e.attributes.at("exitCode");
  }
  EXPECT_EQ(code, "3") << "no die event while the shim still runs";
  EXPECT_EQ(kill(shim, 0), 0) << "the stand-in shim ended";
  monitor.Stop();
  kill(shim, SIGKILL);
  waitpid(shim, nullptr, 0);
  std::filesystem::remove_all(dir);
}

// Removal waits for the shim's cleanup: shim.pid removed, while the process may still run. An
// inotify instance is made only when there is something to wait for, and closed by `closer`.
TEST(ShimCleanupTest, WaitEndsWithShimPidNotWithTheProcess) {
  char tmpl[] = "/tmp/berth-cleanup-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  Paths p;
  p.state = std::string(tmpl) + "/state";
  std::filesystem::create_directories(p.state);
  pid_t shim = fork();
  if (shim == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(shim, 0);
  sys::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, shim, 0)));
  ASSERT_TRUE(pidfd);
  WorkerPool closer;

  // Nothing to wait for: back at once, no instance made.
  WaitForShimCleanup(p, pidfd, 10s, &closer);
  EXPECT_EQ(closer.Workers(), 0u);

  std::ofstream(p.state + "/shim.pid") << shim << "\n";
  std::thread cleanup([&] {
    std::this_thread::sleep_for(100ms);
    std::filesystem::remove(p.state + "/shim.pid");
  });
  WaitForShimCleanup(p, pidfd, 10s, &closer);
  cleanup.join();
  EXPECT_FALSE(std::filesystem::exists(p.state + "/shim.pid"));
  EXPECT_EQ(kill(shim, 0), 0) << "returned only once the stand-in shim ended";
  EXPECT_EQ(closer.Workers(), 1u) << "the instance was not handed to the closer";
  closer.Shutdown();
  kill(shim, SIGKILL);
  waitpid(shim, nullptr, 0);
  std::filesystem::remove_all(tmpl);
}

TEST(EventBusTest, CursorSeesOnlyLaterEvents) {
  EventBus bus;
  bus.Publish(Ev("container", "create", "a"));
  uint64_t cursor = bus.Next();
  EXPECT_EQ(cursor, 2u);
  auto none = bus.Read(&cursor, std::chrono::steady_clock::now());
  EXPECT_TRUE(none.empty());
  bus.Publish(Ev("container", "start", "a"));
  auto got = bus.Read(&cursor, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].action, "start");
  EXPECT_GT(got[0].time_nano, 0);
  EXPECT_EQ(cursor, 3u);
  uint64_t all = 0;
  EXPECT_EQ(bus.Read(&all, std::chrono::steady_clock::now()).size(), 2u);
}

TEST(EventBusTest, ReadWakesOnPublishAndClose) {
  EventBus bus;
  uint64_t cursor = bus.Next();
  std::thread publisher([&] {
    std::this_thread::sleep_for(50ms);
    bus.Publish(Ev("container", "die", "b"));
  });
  auto got = bus.Read(&cursor, std::chrono::steady_clock::now() + 10s);
  publisher.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].action, "die");
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    bus.Close();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(bus.Read(&cursor, start + 30s).empty());
  closer.join();
  EXPECT_TRUE(bus.closed());
}

TEST(EventBusTest, KeepsTheLastRetained) {
  EventBus bus;
  for (size_t i = 0; i < EventBus::kRetained + 10; ++i)
    bus.Publish(Ev("image", "pull", std::to_string(i)));
  uint64_t cursor = 0;
  auto got = bus.Read(&cursor, std::chrono::steady_clock::now());
  ASSERT_EQ(got.size(), EventBus::kRetained);
  EXPECT_EQ(got.front().id, "10");
}

TEST(LogOptionsTest, ParseLogSize) {
  EXPECT_EQ(ParseLogSize("4096").value(), 4096);
  EXPECT_EQ(ParseLogSize("10k").value(), 10 << 10);
  EXPECT_EQ(ParseLogSize("10m").value(), 10 << 20);
  EXPECT_EQ(ParseLogSize("2G").value(), int64_t(2) << 30);
  EXPECT_FALSE(ParseLogSize("ten").has_value());
  EXPECT_FALSE(ParseLogSize("-1m").has_value());
}

}  // namespace
}  // namespace berth::daemon
