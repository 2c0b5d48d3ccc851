// Tests of the /events filters (moby's daemon/events/filter.go semantics) and event JSON.
#include "daemon/event_filter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::daemon {
namespace {

Event Container(const std::string& action, const std::string& id, const std::string& name,
                std::map<std::string, std::string> labels = {}) {
  Event e;
  e.type = "container";
  e.action = action;
  e.id = id;
  e.attributes = std::move(labels);
  e.attributes["name"] = name;
  e.attributes["image"] = "busybox:latest";
  e.time_nano = 1700000000123456789;
  return e;
}

EventFilter F(const std::string& json) {
  auto f = Filters::Parse(json);
  EXPECT_TRUE(f) << json;
  return EventFilter(*f);
}

TEST(EventFilterTest, EmptyMatchesAll) {
  EXPECT_TRUE(EventFilter().Match(Container("start", "abc", "c1")));
  EXPECT_TRUE(F("").Match(Container("start", "abc", "c1")));
}

TEST(EventFilterTest, TypeAndEvent) {
  Event e = Container("die", "abc", "c1");
  EXPECT_TRUE(F(R"({"type":{"container":true}})").Match(e));
  EXPECT_FALSE(F(R"({"type":{"image":true}})").Match(e));
  EXPECT_TRUE(F(R"({"event":{"start":true,"die":true}})").Match(e));
  EXPECT_FALSE(F(R"({"event":{"start":true}})").Match(e));
  // The legacy list form of docker-py and compose.
  EXPECT_TRUE(F(R"({"event":["die"],"type":["container"]})").Match(e));
  // exec_start carries the command: matched by prefix.
  Event exec = Container("exec_start: sh -c true", "abc", "c1");
  EXPECT_TRUE(F(R"({"event":{"exec_start":true}})").Match(exec));
  EXPECT_FALSE(F(R"({"event":{"exec_create":true}})").Match(exec));
}

TEST(EventFilterTest, ContainerByIdPrefixOrName) {
  Event e = Container("start", "abcdef0123", "web");
  EXPECT_TRUE(F(R"({"container":{"web":true}})").Match(e));
  EXPECT_TRUE(F(R"({"container":{"abcdef":true}})").Match(e));
  EXPECT_TRUE(F(R"({"container":{"abcdef0123":true}})").Match(e));
  EXPECT_FALSE(F(R"({"container":{"db":true}})").Match(e));
  EXPECT_TRUE(F(R"({"container":{"db":true,"web":true}})").Match(e));
}

TEST(EventFilterTest, Image) {
  Event e = Container("start", "abc", "c1");
  EXPECT_TRUE(F(R"({"image":{"busybox":true}})").Match(e));
  EXPECT_TRUE(F(R"({"image":{"busybox:latest":true}})").Match(e));
  EXPECT_FALSE(F(R"({"image":{"alpine":true}})").Match(e));
  Event pull;
  pull.type = "image";
  pull.action = "pull";
  pull.id = "localhost:5000/busybox:v1";
  pull.attributes["name"] = "localhost:5000/busybox";
  EXPECT_TRUE(F(R"({"image":{"localhost:5000/busybox":true}})").Match(pull));
  EXPECT_TRUE(F(R"({"image":{"localhost:5000/busybox:v1":true}})").Match(pull));
}

TEST(EventFilterTest, LabelsMustAllMatch) {
  Event e =
      Container("start", "abc", "c1",
                {{"com.docker.compose.project", "p"}, {"com.docker.compose.oneoff", "False"}});
  EXPECT_TRUE(F(R"({"label":["com.docker.compose.project=p","com.docker.compose.oneoff=False"]})")
                  .Match(e));
  EXPECT_TRUE(F(R"({"label":{"com.docker.compose.project":true}})").Match(e));
  EXPECT_FALSE(
      F(R"({"label":["com.docker.compose.project=p","com.docker.compose.oneoff=True"]})").Match(e));
  EXPECT_FALSE(F(R"({"label":["other"]})").Match(e));
}

TEST(EventFilterTest, KeysAreAnded) {
  Event e = Container("start", "abc", "c1");
  EXPECT_TRUE(F(R"({"type":["container"],"container":["c1"],"event":["start"]})").Match(e));
  EXPECT_FALSE(F(R"({"type":["container"],"container":["c1"],"event":["stop"]})").Match(e));
}

TEST(EventFilterTest, Json) {
  Event e = Container("start", "abc", "c1", {{"l", "v"}});
  auto j = nlohmann::json::parse(EventJson(e));
  EXPECT_EQ(j["status"], "start");
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["from"], "busybox:latest");
  EXPECT_EQ(j["Type"], "container");
  EXPECT_EQ(j["Action"], "start");
  EXPECT_EQ(j["Actor"]["ID"], "abc");
  EXPECT_EQ(j["Actor"]["Attributes"]["name"], "c1");
  EXPECT_EQ(j["Actor"]["Attributes"]["l"], "v");
  EXPECT_EQ(j["scope"], "local");
  EXPECT_EQ(j["time"], 1700000000);
  EXPECT_EQ(j["timeNano"], 1700000000123456789);
  Event net;
  net.type = "network";
  net.action = "connect";
  net.id = "n1";
  j = nlohmann::json::parse(EventJson(net));
  EXPECT_FALSE(j.contains("status"));
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["Actor"]["ID"], "n1");
}

}  // namespace
}  // namespace berth::daemon
