// Tests for the system endpoints' JSON: Docker's key names, and lenient decoding.
#include "api/system.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::api {
namespace {

TEST(SystemVersionTest, EncodesDockerKeys) {
  SystemVersion v;
  v.platform_name = "Berth Engine";
  v.api_version = "1.41";
  v.min_api_version = "1.24";
  v.os = "linux";
  v.arch = "amd64";
  v.components.push_back({"Engine", "0.1.0", {{"ApiVersion", "1.41"}}});
  auto j = nlohmann::json::parse(EncodeJson(v));
  EXPECT_EQ(j["Platform"]["Name"], "Berth Engine");
  EXPECT_EQ(j["ApiVersion"], "1.41");
  EXPECT_EQ(j["MinAPIVersion"], "1.24");
  EXPECT_EQ(j["Components"][0]["Details"]["ApiVersion"], "1.41");
  EXPECT_FALSE(j.contains("Experimental"));
}

TEST(SystemVersionTest, RoundTrips) {
  SystemVersion v;
  v.version = "0.1.0";
  v.kernel_version = "6.1.0";
  v.components.push_back({"Engine", "0.1.0", {{"Os", "linux"}}});
  auto back = DecodeSystemVersion(EncodeJson(v));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->version, "0.1.0");
  EXPECT_EQ(back->kernel_version, "6.1.0");
  ASSERT_EQ(back->components.size(), 1u);
  EXPECT_EQ(back->components[0].details.at("Os"), "linux");
}

TEST(SystemVersionTest, DecodesMissingAndNullKeysAsDefaults) {
  auto v = DecodeSystemVersion(R"({"ApiVersion":"1.40","Components":null,"Extra":1})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->api_version, "1.40");
  EXPECT_TRUE(v->components.empty());
}

TEST(SystemVersionTest, DecodeFailsOnJunk) {
  EXPECT_EQ(DecodeSystemVersion("not json").error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeSystemVersion("[]").error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeSystemVersion(R"({"ApiVersion":3})").error().code(),
            base::ErrorCode::kInvalidArgument);
}

TEST(SystemInfoTest, RoundTripsAndKeepsSwarmInactive) {
  SystemInfo info;
  info.id = "abc";
  info.containers = 3;
  info.ncpu = 2;
  info.mem_total = 1 << 30;
  info.cgroup_version = "2";
  info.driver_status = {{"Backing Filesystem", "extfs"}};
  info.insecure_registry_cidrs = {"127.0.0.0/8"};
  info.index_configs = {{"localhost:5000", {}, false, false}};
  info.runtimes = {"runc"};
  info.warnings = {"WARNING: x"};
  auto j = nlohmann::json::parse(EncodeJson(info));
  EXPECT_EQ(j["Swarm"]["LocalNodeState"], "inactive");
  EXPECT_EQ(j["NCPU"], 2);
  EXPECT_EQ(j["DriverStatus"][0][1], "extfs");
  auto back = DecodeSystemInfo(j.dump());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->id, "abc");
  EXPECT_EQ(back->containers, 3);
  EXPECT_EQ(back->mem_total, 1 << 30);
  EXPECT_EQ(back->cgroup_version, "2");
  EXPECT_EQ(back->driver_status, info.driver_status);
  EXPECT_EQ(back->insecure_registry_cidrs, info.insecure_registry_cidrs);
  ASSERT_EQ(back->index_configs.size(), 1u);
  EXPECT_EQ(back->index_configs[0].name, "localhost:5000");
  EXPECT_FALSE(back->index_configs[0].secure);
  EXPECT_EQ(back->runtimes, info.runtimes);
  EXPECT_EQ(back->warnings, info.warnings);
}

TEST(ErrorResponseTest, IsAMessageObject) {
  EXPECT_EQ(EncodeJson(ErrorResponse{"page not found"}), R"({"message":"page not found"})");
  EXPECT_EQ(DecodeErrorResponse(R"({"message":"x"})")->message, "x");
}

TEST(GoArchTest, MapsUnameMachines) {
  EXPECT_EQ(GoArch("x86_64"), "amd64");
  EXPECT_EQ(GoArch("aarch64"), "arm64");
  EXPECT_EQ(GoArch("weird"), "weird");
}

}  // namespace
}  // namespace berth::api
