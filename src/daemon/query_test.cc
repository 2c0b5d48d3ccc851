// Tests for query-string and filters parsing, X-Registry-Auth decoding, the progress bar text,
// and route matching of image names that contain '/' and ':'.
#include "daemon/query.h"

#include <gtest/gtest.h>

#include "daemon/image_routes.h"
#include "daemon/router.h"

namespace berth::daemon {
namespace {

TEST(QueryTest, DecodesRepeatedKeysAndEscapes) {
  Query q(
      "fromImage=localhost%3A5000%2Fbusybox&tag=latest&names=a&names=b%20c&changes=CMD+%5B%22sh%22%"
      "5D&flag");
  EXPECT_EQ(q.Get("fromImage"), "localhost:5000/busybox");
  EXPECT_EQ(q.Get("tag"), "latest");
  EXPECT_EQ(q.GetAll("names"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(q.Get("changes"), "CMD [\"sh\"]");
  EXPECT_TRUE(q.Has("flag"));
  EXPECT_EQ(q.Get("missing", "x"), "x");
  EXPECT_EQ(PercentDecode("%zz%4", true), "%zz%4");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
}

TEST(QueryTest, BoolValueLikeDockerd) {
  Query q("a=1&b=True&c=false&d=0&e=no&f=none&g=&h=yes&i=%20FALSE%20");
  EXPECT_TRUE(q.Bool("a"));
  EXPECT_TRUE(q.Bool("b"));
  EXPECT_FALSE(q.Bool("c"));
  EXPECT_FALSE(q.Bool("d"));
  EXPECT_FALSE(q.Bool("e"));
  EXPECT_FALSE(q.Bool("f"));
  EXPECT_FALSE(q.Bool("g"));
  EXPECT_TRUE(q.Bool("h"));
  EXPECT_FALSE(q.Bool("i"));
  EXPECT_FALSE(q.Bool("absent"));
  EXPECT_TRUE(q.BoolOr("absent", true));
  EXPECT_TRUE(q.BoolOr("g", true));
  EXPECT_FALSE(q.BoolOr("c", true));
}

TEST(FiltersTest, BothEncodingsParseAlike) {
  auto map = Filters::Parse(R"({"dangling":{"true":true},"reference":{"busybox":true,"x":false}})");
  auto list = Filters::Parse(R"({"dangling":["true"],"reference":["busybox"]})");
  ASSERT_TRUE(map) << map.error().message();
  ASSERT_TRUE(list) << list.error().message();
  for (const Filters* f : {&*map, &*list}) {
    EXPECT_EQ(*f->Bool("dangling"), std::optional<bool>(true));
    EXPECT_EQ(f->Get("reference"), (std::set<std::string>{"busybox"}));
    EXPECT_TRUE(f->Validate({"dangling", "reference"}));
    auto bad = f->Validate({"dangling"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "invalid filter 'reference'");
  }
  EXPECT_TRUE(Filters::Parse("")->empty());
  EXPECT_FALSE(*Filters::Parse("{}")->Bool("dangling"));
  EXPECT_FALSE(Filters::Parse("[1]"));
  EXPECT_FALSE(Filters::Parse("{\"a\":1}"));
  EXPECT_FALSE(Filters::Parse("{nope"));
  EXPECT_FALSE(Filters::Parse(R"({"dangling":["maybe"]})")->Bool("dangling"));
  EXPECT_FALSE(Filters::Parse(R"({"dangling":["true","false"]})")->Bool("dangling"));
  EXPECT_EQ(*Filters::Parse(R"({"dangling":{"false":true}})")->Bool("dangling"),
            std::optional<bool>(false));
}

TEST(FiltersTest, PathMatchDoesNotCrossSlashes) {
  EXPECT_TRUE(PathMatch("busybox", "busybox"));
  EXPECT_TRUE(PathMatch("busy*", "busybox"));
  EXPECT_TRUE(PathMatch("*:latest", "busybox:latest"));
  EXPECT_FALSE(PathMatch("*", "test/busybox"));
  EXPECT_TRUE(PathMatch("*/*", "test/busybox"));
}

TEST(RegistryAuthTest, DecodesBase64UrlJson) {
  EXPECT_FALSE(*DecodeRegistryAuth(""));
  EXPECT_FALSE(*DecodeRegistryAuth("e30="));  // {}
  EXPECT_FALSE(*DecodeRegistryAuth("e30"));
  // {"username":"u?","password":"p>>","serveraddress":"h:5000"}: '-' and '_' in base64url.
  std::string json = R"({"username":"u?","password":"p>>","serveraddress":"h:5000"})";
  std::string b64 = registry::Base64Encode(json);
  for (char& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  auto a = DecodeRegistryAuth(b64);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->username, "u?");
  EXPECT_EQ((*a)->password, "p>>");
  EXPECT_EQ((*a)->server_address, "h:5000");
  EXPECT_FALSE(DecodeRegistryAuth("!!!"));
}

TEST(ProgressBarTest, MatchesDockerd) {
  EXPECT_EQ(ProgressBar(0, 0), "");
  EXPECT_EQ(ProgressBar(1000000, 2000000),
            "[=========================>                         ]      1MB/2MB");
  EXPECT_EQ(ProgressBar(1234567, 1234567),
            "[==================================================>] "
            " 1.235MB/1.235MB");
}

Response Call(const Router& router, std::string method, std::string target) {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  return router.Handle(std::move(req));
}

TEST(RouterGreedyTest, ImageNamesWithSlashesAndColons) {
  Router router;
  std::string seen;
  auto record = [&seen](const char* what) {
    return [&seen, what](Request& r) -> base::Result<Response> {
      seen = std::string(what) + " " + (r.params.count("name") ? r.params.at("name") : "");
      return Response::Json(200, "{}");
    };
  };
  router.Add("GET", "/images/json", record("list"));
  router.Add("GET", "/images/get", record("save"));
  router.Add("GET", "/images/{name*}/json", record("inspect"));
  router.Add("GET", "/images/{name*}/get", record("save1"));
  router.Add("POST", "/images/{name*}/tag", record("tag"));
  router.Add("DELETE", "/images/{name*}", record("rm"));

  EXPECT_EQ(Call(router, "GET", "/v1.41/images/json?all=1").status, 200);
  EXPECT_EQ(seen, "list ");
  Call(router, "GET", "/images/localhost:5000/a/b:t/json");
  EXPECT_EQ(seen, "inspect localhost:5000/a/b:t");
  Call(router, "GET", "/v1.41/images/busybox/json");
  EXPECT_EQ(seen, "inspect busybox");
  Call(router, "GET", "/images/sha256:abc/get");
  EXPECT_EQ(seen, "save1 sha256:abc");
  Call(router, "GET", "/images/get?names=a");
  EXPECT_EQ(seen, "save ");
  Call(router, "POST", "/v1.41/images/127.0.0.1:5000/test/busybox:latest/tag?repo=x");
  EXPECT_EQ(seen, "tag 127.0.0.1:5000/test/busybox:latest");
  Call(router, "DELETE", "/images/localhost:5000/a/b%3At");
  EXPECT_EQ(seen, "rm localhost:5000/a/b:t");
  // A name alone: the greedy parameter needs at least one segment.
  EXPECT_EQ(Call(router, "GET", "/images/").status, 404);
  EXPECT_EQ(Call(router, "PUT", "/images/x/json").status, 405);
}

}  // namespace
}  // namespace berth::daemon
