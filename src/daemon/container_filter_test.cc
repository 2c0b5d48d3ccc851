// dockerd's container list filters over records.
#include "daemon/container_filter.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

ContainerRecord Rec(std::string id, std::string name, std::string status, int code,
                    std::string created) {
  ContainerRecord r;
  r.id = std::move(id);
  r.name = std::move(name);
  r.image = "busybox:latest";
  r.image_id = "sha256:abcdef0123";
  r.state.status = std::move(status);
  r.state.exit_code = code;
  r.created = std::move(created);
  return r;
}

base::Result<ContainerRecord> NoFind(const std::string& ref) {
  return base::Fail(base::Error::NotFound("No such container: " + ref));
}

ContainerFilter Make(std::string_view json) {
  auto f = Filters::Parse(json);
  EXPECT_TRUE(f) << json;
  auto cf = ContainerFilter::Make(*f, NoFind);
  EXPECT_TRUE(cf) << json << ": " << cf.error().message();
  return *cf;
}

TEST(ContainerFilterTest, NameAndIdAreUnanchoredRegexps) {
  ContainerRecord web = Rec("aaa111", "web", "running", 0, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(Make(R"({"name":{"web":true}})").Matches(web, {}));
  EXPECT_TRUE(Make(R"({"name":{"^/we":true}})").Matches(web, {}));
  EXPECT_FALSE(Make(R"({"name":{"db":true}})").Matches(web, {}));
  EXPECT_TRUE(Make(R"({"id":["aaa"]})").Matches(web, {}));  // legacy list encoding
  EXPECT_FALSE(Make(R"({"id":["bbb"]})").Matches(web, {}));
}

TEST(ContainerFilterTest, StatusExitedLabelAncestor) {
  ContainerRecord done = Rec("b", "done", "exited", 3, "2026-01-01T00:00:00Z");
  ContainerFacts facts;
  facts.labels = {{"app", "x"}, {"tier", "db"}};
  ContainerFilter status = Make(R"({"status":{"exited":true}})");
  EXPECT_TRUE(status.ImpliesAll());
  EXPECT_TRUE(status.Matches(done, facts));
  EXPECT_FALSE(Make(R"({"status":{"running":true}})").Matches(done, facts));
  EXPECT_TRUE(Make(R"({"exited":{"3":true}})").Matches(done, facts));
  EXPECT_FALSE(Make(R"({"exited":{"0":true}})").Matches(done, facts));
  EXPECT_TRUE(Make(R"({"label":{"app":true,"tier=db":true}})").Matches(done, facts));
  EXPECT_FALSE(Make(R"({"label":{"app=y":true}})").Matches(done, facts));
  EXPECT_FALSE(Make(R"({"label":{"nolabel":true}})").Matches(done, facts));
  EXPECT_TRUE(Make(R"({"ancestor":{"busybox":true}})").Matches(done, facts));
  EXPECT_TRUE(Make(R"({"ancestor":{"abcdef":true}})").Matches(done, facts));
  EXPECT_FALSE(Make(R"({"ancestor":{"alpine":true}})").Matches(done, facts));
}

TEST(ContainerFilterTest, PausedIsItsOwnStatus) {
  ContainerRecord p = Rec("c", "p", "running", 0, "2026-01-01T00:00:00Z");
  p.state.paused = true;
  EXPECT_TRUE(Make(R"({"status":{"paused":true}})").Matches(p, {}));
  EXPECT_FALSE(Make(R"({"status":{"running":true}})").Matches(p, {}));
}

TEST(ContainerFilterTest, BeforeAndSince) {
  ContainerRecord mid = Rec("m", "mid", "running", 0, "2026-01-01T00:00:05Z");
  auto find = [&](const std::string& ref) -> base::Result<ContainerRecord> {
    if (ref == "mid") return mid;
    return NoFind(ref);
  };
  auto f = Filters::Parse(R"({"before":{"mid":true}})");
  auto before = ContainerFilter::Make(*f, find);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->Matches(Rec("o", "old", "exited", 0, "2026-01-01T00:00:01Z"), {}));
  EXPECT_FALSE(before->Matches(Rec("n", "new", "exited", 0, "2026-01-01T00:00:09Z"), {}));
  EXPECT_FALSE(before->Matches(mid, {}));
  f = Filters::Parse(R"({"since":{"mid":true}})");
  auto since = ContainerFilter::Make(*f, find);
  ASSERT_TRUE(since);
  EXPECT_TRUE(since->Matches(Rec("n", "new", "exited", 0, "2026-01-01T00:00:09Z"), {}));
  f = Filters::Parse(R"({"since":{"ghost":true}})");
  EXPECT_EQ(ContainerFilter::Make(*f, find).error().code(), base::ErrorCode::kNotFound);
}

TEST(ContainerFilterTest, RejectsUnknownKeysAndValues) {
  auto f = Filters::Parse(R"({"colour":{"red":true}})");
  auto cf = ContainerFilter::Make(*f, NoFind);
  ASSERT_FALSE(cf);
  EXPECT_EQ(cf.error().message(), "invalid filter 'colour'");
  f = Filters::Parse(R"({"status":{"sleepy":true}})");
  EXPECT_FALSE(ContainerFilter::Make(*f, NoFind));
  f = Filters::Parse(R"({"exited":{"x":true}})");
  EXPECT_FALSE(ContainerFilter::Make(*f, NoFind));
}

}  // namespace
}  // namespace berth::daemon
