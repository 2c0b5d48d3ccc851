// Tests for routing, API version negotiation and the error -> HTTP status mapping.
#include "daemon/router.h"

#include <gtest/gtest.h>

#include "daemon/system_routes.h"

namespace berth::daemon {
namespace {

std::string_view HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

Response Call(const Router& router, std::string method, std::string target) {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  return router.Handle(std::move(req));
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/things/{id}/json", [this](Request& r) -> base::Result<Response> {
      seen_ = r;
      return Response::Json(200, "{}");
    });
    router_.Add("POST", "/fail/{code}", [](Request& r) -> base::Result<Response> {
      const std::string& c = r.params.at("code");
      if (c == "notfound") return base::Fail(base::Error::NotFound("No such thing: x"));
      if (c == "conflict") return base::Fail(base::Error::Conflict("in use"));
      return base::Fail(base::Error::Internal("boom"));
    });
  }
  Router router_;
  Request seen_;
};

TEST_F(RouterTest, MatchesParamsAndStripsVersionAndQuery) {
  Response r = Call(router_, "GET", "/v1.41/things/abc/json?all=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(seen_.path, "/things/abc/json");
  EXPECT_EQ(seen_.query, "all=1");
  EXPECT_EQ(seen_.params.at("id"), "abc");
  ASSERT_TRUE(seen_.version);
  EXPECT_EQ(api::FormatApiVersion(*seen_.version), "1.41");
}

TEST_F(RouterTest, ServesUnversionedAndOlderVersions) {
  EXPECT_EQ(Call(router_, "GET", "/things/a/json").status, 200);
  EXPECT_FALSE(seen_.version);
  EXPECT_EQ(Call(router_, "GET", "/v1.24/things/a/json").status, 200);
  EXPECT_EQ(Call(router_, "GET", "/v1.38/things/a/json").status, 200);
}

TEST_F(RouterTest, RefusesVersionsOutsideTheRange) {
  Response hi = Call(router_, "GET", "/v1.99/things/a/json");
  EXPECT_EQ(hi.status, 400);
  EXPECT_EQ(hi.content_type, "application/json");
  EXPECT_EQ(
      hi.body,
      R"({"message":"client version 1.99 is too new. Maximum supported API version is 1.41"})");
  Response lo = Call(router_, "GET", "/v1.12/things/a/json");
  EXPECT_EQ(lo.status, 400);
  EXPECT_EQ(lo.body,
            R"({"message":"client version 1.12 is too old. Minimum supported API version is 1.24, )"
            R"(please upgrade your client to a newer version"})");
}

TEST_F(RouterTest, UnknownPathIs404PageNotFound) {
  for (const char* t :
       {"/nope", "/v1.41/nope", "/things/a", "/things/a/json/x", "/vx.y/things/a/json", "/"}) {
    Response r = Call(router_, "GET", t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"message":"page not found"})");
  }
}

TEST_F(RouterTest, KnownPathWithOtherMethodIs405) {
  Response r = Call(router_, "DELETE", "/things/a/json");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(RouterTest, HandlerErrorsMapThroughOnePlace) {
  Response nf = Call(router_, "POST", "/fail/notfound");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.body, R"({"message":"No such thing: x"})");
  EXPECT_EQ(Call(router_, "POST", "/fail/conflict").status, 409);
  EXPECT_EQ(Call(router_, "POST", "/fail/other").status, 500);
}

TEST_F(RouterTest, EveryResponseCarriesTheCommonHeaders) {
  for (const char* t : {"/things/a/json", "/nope", "/v1.99/things/a/json"}) {
    Response r = Call(router_, "GET", t);
    EXPECT_EQ(HeaderOf(r, "Api-Version"), "1.41") << t;
    EXPECT_EQ(HeaderOf(r, "Ostype"), "linux") << t;
    EXPECT_EQ(HeaderOf(r, "Docker-Experimental"), "false") << t;
    EXPECT_EQ(HeaderOf(r, "Server"), ServerHeader()) << t;
  }
}

TEST(HttpStatusTest, MapsEveryClass) {
  using base::ErrorCode;
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kErrno), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnknown), 500);
  // errno errors go through their class: ENOENT is a 404.
  EXPECT_EQ(Response::FromError(base::Error::FromErrno(ENOENT, "open x")).status, 404);
}

TEST(ResponseTest, StreamsTrimUnlessTheyAreSmall) {
  EXPECT_TRUE(Response::JsonStream([](BodyWriter&) {}).trim_after_stream);
  Response wait = Response::JsonStream([](BodyWriter&) {}, /*trim_after_stream=*/false);
  EXPECT_FALSE(wait.trim_after_stream);
  EXPECT_TRUE(wait.stream);
  EXPECT_EQ(wait.content_type, "application/json");
}

TEST(SystemRoutesTest, PingVersionInfo) {
  EngineContext engine;
  engine.host.machine = "x86_64";
  engine.host.kernel_version = "6.1.0-test";
  engine.host.cgroup_version = "2";
  engine.engine_id = "id-1";
  Router router;
  AddSystemRoutes(router, &engine);

  Response ping = Call(router, "GET", "/_ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "OK");
  EXPECT_EQ(HeaderOf(ping, "Cache-Control"), "no-cache, no-store, must-revalidate");
  EXPECT_EQ(HeaderOf(ping, "Pragma"), "no-cache");
  EXPECT_EQ(HeaderOf(ping, "Builder-Version"), "");
  EXPECT_EQ(Call(router, "HEAD", "/v1.41/_ping").status, 200);
  EXPECT_EQ(Call(router, "POST", "/_ping").status, 405);

  auto v = api::DecodeSystemVersion(Call(router, "GET", "/version").body);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->api_version, "1.41");
  EXPECT_EQ(v->min_api_version, "1.24");
  EXPECT_EQ(v->arch, "amd64");
  EXPECT_EQ(v->kernel_version, "6.1.0-test");
  ASSERT_EQ(v->components.size(), 1u);
  EXPECT_EQ(v->components[0].details.at("ApiVersion"), "1.41");

  auto info = api::DecodeSystemInfo(Call(router, "GET", "/v1.41/info").body);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->id, "id-1");
  EXPECT_EQ(info->cgroup_version, "2");
  EXPECT_EQ(info->os_type, "linux");
  EXPECT_EQ(info->driver, "overlayfs");
  ASSERT_FALSE(info->warnings.empty());
  EXPECT_NE(info->warnings[0].find("networking is not implemented"), std::string::npos);
}

}  // namespace
}  // namespace berth::daemon

namespace berth::daemon {
namespace {

TEST(SystemRoutesTest, InsecureRegistriesSplitIntoCidrsAndNames) {
  EXPECT_TRUE(IsCidr("10.0.0.0/8"));
  EXPECT_TRUE(IsCidr("fd00::/8"));
  EXPECT_FALSE(IsCidr("localhost:5000"));
  EXPECT_FALSE(IsCidr("10.0.0.0/33"));
  EngineContext engine;
  engine.config.insecure_registries = {"localhost:5000", "10.0.0.0/8"};
  api::SystemInfo info = MakeSystemInfo(engine);
  EXPECT_EQ(info.insecure_registry_cidrs, (std::vector<std::string>{"127.0.0.0/8", "10.0.0.0/8"}));
  ASSERT_EQ(info.index_configs.size(), 2u);
  EXPECT_EQ(info.index_configs[1].name, "localhost:5000");
  EXPECT_FALSE(info.index_configs[1].secure);
}

}  // namespace
}  // namespace berth::daemon
