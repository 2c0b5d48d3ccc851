// The create body: flags encoded as the docker CLI encodes them (docs §2.2), and docker's
// texts for bad values.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "cli/container.h"

namespace berth::cli {
namespace {

TEST(CreateBodyTest, Defaults) {
  ContainerOptions o;
  o.image = "busybox";
  o.command = {"echo", "hi"};
  auto b = BuildCreateBody(o, {0, 0});
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ((*b)["Image"], "busybox");
  EXPECT_EQ((*b)["Cmd"], nlohmann::json({"echo", "hi"}));
  EXPECT_TRUE((*b)["Entrypoint"].is_null());
  EXPECT_EQ((*b)["AttachStdout"], true);
  EXPECT_EQ((*b)["AttachStdin"], false);
  EXPECT_EQ((*b)["HostConfig"]["NetworkMode"], "default");
  EXPECT_EQ((*b)["HostConfig"]["RestartPolicy"]["Name"], "no");
  EXPECT_FALSE((*b)["HostConfig"].contains("PidsLimit"));
  EXPECT_TRUE((*b)["NetworkingConfig"]["EndpointsConfig"].is_object());
}

TEST(CreateBodyTest, Flags) {
  setenv("BERTH_TEST_FROM_ENV", "v1", 1);
  ContainerOptions o;
  o.image = "busybox";
  o.interactive = o.tty = o.rm = o.init = o.read_only = o.privileged = true;
  o.env = {"A=1", "BERTH_TEST_FROM_ENV", "BERTH_TEST_UNSET_XYZ"};
  o.volumes = {"/h:/c:ro", "/anon"};
  o.mounts = {"type=tmpfs,target=/t,tmpfs-size=1m", "type=bind,src=/s,dst=/d,readonly"};
  o.tmpfs = {"/run:rw,size=64m"};
  o.memory = "64m";
  o.cpus = 0.5;
  o.cpu_shares = 512;
  o.pids_limit = 100;
  o.ulimits = {"nofile=1024:2048", "nproc=10"};
  o.labels = {"a=b", "c"};
  o.cap_add = {"NET_ADMIN"};
  o.entrypoint = "";
  o.network = "none";
  o.publish = {"8080:80"};
  auto b = BuildCreateBody(o, {40, 120});
  ASSERT_TRUE(b) << b.error().message();
  const auto& h = (*b)["HostConfig"];
  EXPECT_EQ((*b)["Env"], nlohmann::json({"A=1", "BERTH_TEST_FROM_ENV=v1", "BERTH_TEST_UNSET_XYZ"}));
  EXPECT_EQ((*b)["StdinOnce"], true);
  EXPECT_EQ((*b)["OpenStdin"], true);
  EXPECT_EQ((*b)["Entrypoint"], nlohmann::json({""}));
  EXPECT_EQ(h["Binds"], nlohmann::json({"/h:/c:ro"}));
  EXPECT_TRUE((*b)["Volumes"].contains("/anon"));
  EXPECT_EQ(h["Mounts"][0]["TmpfsOptions"]["SizeBytes"], 1 << 20);
  EXPECT_EQ(h["Mounts"][1]["ReadOnly"], true);
  EXPECT_EQ(h["Mounts"][1]["Source"], "/s");
  EXPECT_EQ(h["Tmpfs"]["/run"], "rw,size=64m");
  EXPECT_EQ(h["Memory"], 64 << 20);
  EXPECT_EQ(h["NanoCpus"], 500000000);
  EXPECT_EQ(h["CpuShares"], 512);
  EXPECT_EQ(h["PidsLimit"], 100);
  EXPECT_EQ(h["Ulimits"][0], nlohmann::json({{"Name", "nofile"}, {"Soft", 1024}, {"Hard", 2048}}));
  EXPECT_EQ(h["Ulimits"][1]["Hard"], 10);
  EXPECT_EQ((*b)["Labels"], nlohmann::json({{"a", "b"}, {"c", ""}}));
  EXPECT_EQ(h["CapAdd"], nlohmann::json({"NET_ADMIN"}));
  EXPECT_EQ(h["AutoRemove"], true);
  EXPECT_EQ(h["Init"], true);
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_EQ(h["ConsoleSize"], nlohmann::json({40, 120}));
  EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
}

TEST(CreateBodyTest, DetachedRunAttachesNothing) {
  ContainerOptions o;
  o.image = "busybox";
  o.detach = o.interactive = true;
  auto b = BuildCreateBody(o, {0, 0});
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["AttachStdout"], false);
  EXPECT_EQ((*b)["OpenStdin"], true);
  EXPECT_EQ((*b)["StdinOnce"], false);
}

TEST(CreateBodyTest, Errors) {
  ContainerOptions o;
  o.image = "busybox";
  o.memory = "12x";
  auto b = BuildCreateBody(o, {0, 0});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(),
            "invalid argument \"12x\" for \"-m, --memory\" flag: invalid size: '12x'");
  o.memory.clear();
  o.rm = true;
  o.restart = "always";
  b = BuildCreateBody(o, {0, 0});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(), "Conflicting options: --restart and --rm");
  o.rm = false;
  o.restart = "sometimes";
  EXPECT_FALSE(BuildCreateBody(o, {0, 0}));
  o.restart = "on-failure:3";
  b = BuildCreateBody(o, {0, 0});
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
  o.ulimits = {"nofile"};
  EXPECT_FALSE(BuildCreateBody(o, {0, 0}));
}

TEST(CreateBodyTest, RamBytesAndExitCodes) {
  EXPECT_EQ(*ParseRamBytes("1024"), 1024);
  EXPECT_EQ(*ParseRamBytes("1k"), 1024);
  EXPECT_EQ(*ParseRamBytes("1.5g"), int64_t(1.5 * (1 << 30)));
  EXPECT_EQ(*ParseRamBytes("64MiB"), 64 << 20);
  EXPECT_FALSE(ParseRamBytes("m"));
  EXPECT_EQ(StartErrorExitCode("exec: \"nope\": executable file not found in $PATH"), 127);
  EXPECT_EQ(StartErrorExitCode("open /x: no such file or directory"), 127);
  EXPECT_EQ(StartErrorExitCode("exec /etc: permission denied"), 126);
  EXPECT_EQ(StartErrorExitCode("something else"), 125);
}

}  // namespace
}  // namespace berth::cli
