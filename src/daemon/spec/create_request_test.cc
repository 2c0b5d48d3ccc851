// Tests for ContainerCreate body parsing and dockerd's pre-create validation.
#include "daemon/spec/create_request.h"

#include <gtest/gtest.h>

namespace berth::daemon::spec {
namespace {

using base::ErrorCode;

CreateRequest Parse(std::string_view json) {
  auto r = ParseCreateRequest(json);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : CreateRequest{};
}

TEST(ParseCreateRequest, DockerCliBody) {
  CreateRequest req = Parse(R"({
    "Hostname": "", "User": "1000:1000", "AttachStdout": true, "Tty": false,
    "Env": ["FOO=bar", "BAZ"], "Cmd": ["echo", "hi"], "Image": "busybox",
    "Labels": {"a": "b"}, "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}},
    "Entrypoint": null, "StopTimeout": 5, "Unknown": {"x": 1},
    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000, "Retries": 3},
    "HostConfig": {
      "Binds": ["/tmp:/h:ro", "myvol:/data"], "Memory": 67108864, "MemorySwappiness": -1,
      "NanoCpus": 500000000, "AutoRemove": true, "PidsLimit": null,
      "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
      "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576,
                  "Mode": 448}},
                 {"Type": "bind", "Source": "/src", "Target": "/dst",
                  "BindOptions": {"Propagation": "rslave"}}],
      "Tmpfs": {"/run": "rw,size=64m"}, "CapAdd": "NET_ADMIN", "CapDrop": ["CAP_MKNOD"],
      "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
      "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
      "LogConfig": {"Type": "", "Config": {}}, "SecurityOpt": ["no-new-privileges"],
      "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1024}]
    },
    "NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": ["a"],
                          "IPAMConfig": {"IPv4Address": "10.0.0.2"}}}}
  })");
  EXPECT_EQ(req.config.user, "1000:1000");
  EXPECT_EQ(req.config.env, (std::vector<std::string>{"FOO=bar", "BAZ"}));
  ASSERT_TRUE(req.config.cmd);
  EXPECT_EQ(*req.config.cmd, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_FALSE(req.config.entrypoint);
  EXPECT_EQ(req.config.stop_timeout, 5);
  EXPECT_EQ(req.config.exposed_ports, (std::vector<std::string>{"80/tcp"}));
  EXPECT_EQ(req.config.volumes, (std::vector<std::string>{"/data"}));
  ASSERT_TRUE(req.config.healthcheck);
  EXPECT_EQ(req.config.healthcheck->retries, 3);
  const HostConfig& h = req.host_config;
  EXPECT_EQ(h.binds.size(), 2u);
  EXPECT_EQ(h.memory, 67108864);
  EXPECT_EQ(h.memory_swappiness, -1);
  EXPECT_EQ(h.nano_cpus, 500000000);
  EXPECT_TRUE(h.auto_remove);
  EXPECT_FALSE(h.pids_limit);
  ASSERT_EQ(h.mounts.size(), 2u);
  EXPECT_EQ(h.mounts[0].tmpfs_size_bytes, 1048576);
  EXPECT_EQ(h.mounts[0].tmpfs_mode, 0700u);
  EXPECT_EQ(h.mounts[1].bind_propagation, "rslave");
  EXPECT_EQ(h.tmpfs.at("/run"), "rw,size=64m");
  EXPECT_EQ(h.cap_add, (std::vector<std::string>{"NET_ADMIN"}));
  EXPECT_EQ(h.cap_drop, (std::vector<std::string>{"CAP_MKNOD"}));
  ASSERT_EQ(h.ulimits.size(), 1u);
  EXPECT_EQ(h.ulimits[0].hard, 2048);
  EXPECT_EQ(h.port_bindings.at("80/tcp")[0].host_port, "8080");
  EXPECT_EQ(h.blkio_device_read_bps[0].rate, 1024u);
  EXPECT_EQ(req.endpoints.at("n").aliases, (std::vector<std::string>{"a"}));
  EXPECT_EQ(req.endpoints.at("n").ipv4_address, "10.0.0.2");
  EXPECT_TRUE(ValidateCreateRequest(req));
}

TEST(ParseCreateRequest, EmptyAndEntrypointForms) {
  EXPECT_EQ(Parse(""), CreateRequest{});
  EXPECT_EQ(Parse("{}"), CreateRequest{});
  CreateRequest req = Parse(R"({"Entrypoint": "", "Cmd": "ls -l"})");
  EXPECT_EQ(req.config.entrypoint, std::vector<std::string>{""});
  EXPECT_EQ(req.config.cmd, std::vector<std::string>{"ls -l"});
  req = Parse(R"({"Entrypoint": []})");
  ASSERT_TRUE(req.config.entrypoint);
  EXPECT_TRUE(req.config.entrypoint->empty());
}

TEST(ParseCreateRequest, WrongTypesNameTheFieldLikeGo) {
  auto r = ParseCreateRequest(R"({"HostConfig": {"Memory": "64m"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of "
            "type int64");
  r = ParseCreateRequest(R"({"Tty": "yes"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "json: cannot unmarshal string into Go struct field Config.Tty of type bool");
  r = ParseCreateRequest(R"({"HostConfig": {"BlkioWeight": 70000}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("HostConfig.HostConfig.BlkioWeight of type uint16"),
            std::string::npos);
  r = ParseCreateRequest(R"({"HostConfig": {"Memory": 1.5}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("number 1.5"), std::string::npos);
  r = ParseCreateRequest(R"({"Env": ["A=1", 2]})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Config.Env"), std::string::npos);
  r = ParseCreateRequest(R"({"HostConfig": {"Mounts": [{"Target": 5}]}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Mounts.Target of type string"), std::string::npos);
  r = ParseCreateRequest("{not json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = ParseCreateRequest("[]");
  ASSERT_FALSE(r);
}

std::string ValidationError(std::string_view json) {
  CreateRequest req = Parse(json);
  auto st = ValidateCreateRequest(req);
  if (st) return "";
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  return st.error().message();
}

TEST(ValidateCreateRequest, RestartPolicy) {
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})"),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
            "'on-failure', or 'unless-stopped'");
  EXPECT_EQ(ValidationError(
                R"({"HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}})"),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                "MaximumRetryCount": -1}}})"),
            "invalid restart policy: maximum retry count cannot be negative");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"AutoRemove": true,
                                "RestartPolicy": {"Name": "always"}}})"),
            "Conflicting options: --restart and --rm");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"AutoRemove": true,
                                "RestartPolicy": {"Name": "no"}}})"),
            "");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                "MaximumRetryCount": 3}}})"),
            "");
}

TEST(ValidateCreateRequest, Resources) {
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Memory": 1000}})"),
            "Minimum memory limit allowed is 6MB");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Memory": 67108864, "MemorySwap": 1048576}})"),
            "Minimum memoryswap limit should be larger than memory limit, see usage");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"MemorySwap": 67108864}})"),
            "You should always set the Memory limit when using Memoryswap limit, see usage");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"MemorySwappiness": 101}})"),
            "Invalid value: 101, valid memory swappiness range is 0-100");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"NanoCpus": 1000000000, "CpuQuota": 50000}})"),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"CpuPeriod": 100}})"),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. "
            "1000000)");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"BlkioWeight": 5}})"),
            "Range of blkio weight is from 10 to 1000");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"OomScoreAdj": 1001}})"),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Ulimits": [{"Name": "files", "Soft": 1,
                                "Hard": 1}]}})"),
            "invalid ulimit type: files");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 10,
                                "Hard": 5}]}})"),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Memory": 67108864, "MemorySwap": -1}})"), "");
}

TEST(ValidateCreateRequest, MountsAndModes) {
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Mounts": [{"Type": "bind", "Target": "/x"}]}})"),
            "invalid mount config for type \"bind\": field Source must not be empty");
  EXPECT_EQ(
      ValidationError(
          R"({"HostConfig": {"Mounts": [{"Type": "bind", "Source": "rel", "Target": "/x"}]}})"),
      "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must "
      "be absolute");
  EXPECT_EQ(
      ValidationError(
          R"({"HostConfig": {"Mounts": [{"Type": "tmpfs", "Source": "/a", "Target": "/x"}]}})"),
      "invalid mount config for type \"tmpfs\": field Source must not be specified");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Mounts": [{"Type": "nfs", "Target": "/x"}]}})"),
            "invalid mount config for type \"nfs\": mount type unknown");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Binds": ["/a:/x", "/b:/x/"]}})"),
            "Duplicate mount point: /x");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"Binds": ["/a:/x"], "Tmpfs": {"/x": ""}}})"),
            "Duplicate mount point: /x");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"DeviceCgroupRules": ["c 1:3"]}})"),
            "invalid device cgroup format 'c 1:3'");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"DeviceCgroupRules": ["c *:* m", "b 8:0 rw"]}})"),
            "");
  EXPECT_EQ(ValidationError(R"({"HostConfig": {"IpcMode": "bogus"}})"), "invalid IPC mode: bogus");
  EXPECT_EQ(ValidationError(R"({"WorkingDir": "rel"})"),
            "the working directory 'rel' is invalid, it needs to be an absolute path");
}

TEST(ParseBind, Forms) {
  auto b = ParseBind("/tmp:/h:ro");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (BindSpec{.source = "/tmp", .destination = "/h", .read_only = true}));
  b = ParseBind("vol:/data:nocopy,rw");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->named_volume);
  EXPECT_TRUE(b->nocopy);
  b = ParseBind("/a:/b:rshared,Z");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->propagation, "rshared");
  b = ParseBind("/a:/b/../c/");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->destination, "/c");

  auto bad = ParseBind("/a");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid volume specification: '/a'");
  bad = ParseBind("/a:/b:xyz");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid mode: xyz");
  bad = ParseBind("/a:/b:ro,rw");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid mode: ro,rw");
  bad = ParseBind("/a:rel");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": "
            "invalid mount path: 'rel' mount path must be absolute");
  bad = ParseBind("/a:/");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid specification: destination can't be '/'");
  bad = ParseBind("vol:/d:rshared");  // propagation only for host paths
  ASSERT_FALSE(bad);
}

TEST(NamedVolumes, FromBindsAndMounts) {
  CreateRequest req = Parse(R"({"HostConfig": {"Binds": ["a:/a", "/h:/h", "a:/b"],
      "Mounts": [{"Type": "volume", "Source": "b", "Target": "/c"},
                 {"Type": "volume", "Target": "/anon"}]}})");
  EXPECT_EQ(NamedVolumes(req), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace berth::daemon::spec
