// The pure parts of the container monitor and the event bus: restart decisions, back-off,
// sequence cursors.
#include "daemon/container_monitor.h"

#include <gtest/gtest.h>

#include <thread>

#include "daemon/container_internal.h"
#include "daemon/events.h"

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
