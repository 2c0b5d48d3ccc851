// Tests for GenerateSpec: Docker's precedence and defaults, host-derived capabilities and
// rlimits, mounts, resources and device rules.
#include "daemon/spec/generate.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace berth::daemon::spec {
namespace {

using base::ErrorCode;

constexpr const char* kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
// This host: every capability up to CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE (24).
constexpr uint64_t kHostCaps = 0x1fffeffffffULL;

HostFacts Host() {
  HostFacts h;
  h.bounding_caps = kHostCaps;
  h.last_cap = 40;
  h.rlimit_hard = {{"RLIMIT_NOFILE", 20000}};
  h.cgroup_mode = CgroupMode::kV2;
  h.kernel = {6, 1};
  h.machine = "x86_64";
  h.ncpu = 2;
  h.hostname = "hosty";
  h.devices = {{.type = "c", .path = "/dev/kmsg", .major = 1, .minor = 11}};
  h.thermal_throttle_paths = {"/sys/devices/system/cpu/cpu0/thermal_throttle"};
  h.path_exists = [](std::string_view p) { return p == "/src" || p == "/etc"; };
  h.lookup_device = [](std::string_view p) -> std::optional<oci::Device> {
    if (p == "/dev/sda") return oci::Device{.type = "b", .path = "/dev/sda", .major = 8};
    if (p == "/dev/fuse")
      return oci::Device{.type = "c", .path = "/dev/fuse", .major = 10, .minor = 229};
    return std::nullopt;
  };
  return h;
}

ContainerPaths Paths() {
  ContainerPaths p;
  p.id = kId;
  p.rootfs = "/var/lib/berth/c/rootfs";
  p.hostname_file = "/var/lib/berth/c/hostname";
  p.hosts_file = "/var/lib/berth/c/hosts";
  p.resolv_conf_file = "/var/lib/berth/c/resolv.conf";
  p.init_binary = "/usr/libexec/berth/init";
  p.volumes = {{"myvol", "/var/lib/berth/volumes/myvol/_data"},
               {"/anon", "/var/lib/berth/volumes/anon1/_data"}};
  return p;
}

oci::ImageConfig Image() {
  oci::ImageConfig img;
  img.config.env = {"PATH=/image/bin", "LANG=C"};
  img.config.entrypoint = {"/entry.sh"};
  img.config.cmd = {"serve", "--port", "80"};
  img.config.working_dir = "/app";
  img.config.user = "";
  return img;
}

CreateRequest Req(std::string_view json) {
  auto r = ParseCreateRequest(json);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : CreateRequest{};
}

oci::Spec Gen(std::string_view json, const oci::ImageConfig& image = Image(),
              const HostFacts& host = Host(), std::vector<std::string>* warnings = nullptr) {
  auto s = GenerateSpec(Req(json), image, host, Paths(), warnings);
  EXPECT_TRUE(s) << s.error().message();
  return s ? *s : oci::Spec{};
}

std::string GenError(std::string_view json, const oci::ImageConfig& image = Image(),
                     const HostFacts& host = Host()) {
  auto s = GenerateSpec(Req(json), image, host, Paths());
  if (s) return "";
  return s.error().message();
}

const oci::Mount* FindMount(const oci::Spec& s, std::string_view dst) {
  for (const auto& m : s.mounts)
    if (m.destination == dst) return &m;
  return nullptr;
}

bool Has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(GenerateSpec, EntrypointAndCmdPrecedence) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Gen("{}").process->args, (V{"/entry.sh", "serve", "--port", "80"}));
  // Cmd replaces the image's Cmd and keeps its Entrypoint.
  EXPECT_EQ(Gen(R"({"Cmd": ["debug"]})").process->args, (V{"/entry.sh", "debug"}));
  // An Entrypoint drops the image's Cmd.
  EXPECT_EQ(Gen(R"({"Entrypoint": ["/bin/sh"]})").process->args, (V{"/bin/sh"}));
  EXPECT_EQ(Gen(R"({"Entrypoint": "/bin/sh", "Cmd": ["-c", "x"]})").process->args,
            (V{"/bin/sh", "-c", "x"}));
  // --entrypoint "" resets it: the request's Cmd alone, and no image Cmd.
  EXPECT_EQ(Gen(R"({"Entrypoint": [""], "Cmd": ["ls"]})").process->args, (V{"ls"}));
  EXPECT_EQ(GenError(R"({"Entrypoint": [""]})"), "No command specified");
  // An empty (not null) Entrypoint still inherits the image's Cmd, as dockerd's merge does.
  EXPECT_EQ(Gen(R"({"Entrypoint": []})").process->args, (V{"serve", "--port", "80"}));
  EXPECT_EQ(GenError("{}", oci::ImageConfig{}), "No command specified");
  // --init runs the init first, bind-mounted read-only.
  oci::Spec s = Gen(R"({"Cmd": ["x"], "HostConfig": {"Init": true}})");
  EXPECT_EQ(s.process->args, (V{kInitPath, "--", "/entry.sh", "x"}));
  const oci::Mount* init = FindMount(s, kInitPath);
  ASSERT_TRUE(init);
  EXPECT_EQ(init->source, "/usr/libexec/berth/init");
  EXPECT_TRUE(Has(init->options, "ro"));
}

TEST(GenerateSpec, InitIsDockersDockerInit) {
  using V = std::vector<std::string>;
  // dockerd's in-container path, so `ps` shows "docker-init" as pid 1.
  EXPECT_STREQ(kInitPath, "/sbin/docker-init");
  // The daemon's default ("init": true) applies when the request leaves Init null...
  ContainerPaths paths = Paths();
  paths.default_init = true;
  auto s = GenerateSpec(Req(R"({"Cmd": ["x"]})"), Image(), Host(), paths);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->process->args, (V{"/sbin/docker-init", "--", "/entry.sh", "x"}));
  ASSERT_TRUE(FindMount(*s, "/sbin/docker-init"));
  // ... and Init: false turns it off.
  s = GenerateSpec(Req(R"({"Cmd": ["x"], "HostConfig": {"Init": false}})"), Image(), Host(), paths);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->process->args, (V{"/entry.sh", "x"}));
  EXPECT_FALSE(FindMount(*s, kInitPath));
  // The host's pid namespace already has a pid 1: no init, as dockerd.
  s = GenerateSpec(Req(R"({"Cmd": ["x"], "HostConfig": {"Init": true, "PidMode": "host"}})"),
                   Image(), Host(), paths);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->process->args, (V{"/entry.sh", "x"}));
  EXPECT_FALSE(FindMount(*s, kInitPath));
  // No init binary found: refused only when the init is wanted.
  paths.init_binary.clear();
  EXPECT_FALSE(GenerateSpec(Req(R"({"Cmd": ["x"]})"), Image(), Host(), paths));
  paths.default_init = false;
  EXPECT_TRUE(GenerateSpec(Req(R"({"Cmd": ["x"]})"), Image(), Host(), paths));
  auto e =
      GenerateSpec(Req(R"({"Cmd": ["x"], "HostConfig": {"Init": true}})"), Image(), Host(), paths);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "--init requested but the daemon has no init binary configured");

  HostConfig h;
  EXPECT_FALSE(UsesInit(h, false));
  EXPECT_TRUE(UsesInit(h, true));
  h.init = false;
  EXPECT_FALSE(UsesInit(h, true));
  h.init = true;
  EXPECT_TRUE(UsesInit(h, false));
  h.pid_mode = "container:abc";
  EXPECT_FALSE(UsesInit(h, true));
}

TEST(GenerateSpec, EnvMergeAndHostname) {
  oci::Spec s = Gen(R"({"Env": ["LANG=fr", "FOO=1", "PATH=/req"]})");
  EXPECT_EQ(s.process->env,
            (std::vector<std::string>{"PATH=/req", "HOSTNAME=0123456789ab", "LANG=fr", "FOO=1"}));
  EXPECT_EQ(s.hostname, "0123456789ab");
  // Image env fills in; PATH from the image replaces the default; "K" unsets.
  s = Gen(R"({"Env": ["LANG"], "Tty": true, "Hostname": "web"})");
  EXPECT_EQ(s.process->env,
            (std::vector<std::string>{"PATH=/image/bin", "HOSTNAME=web", "TERM=xterm"}));
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.hostname, "web");
  s = Gen("{}", oci::ImageConfig{.config = {.cmd = {"x"}}});
  EXPECT_EQ(s.process->env[0], kDefaultPathEnv);
  EXPECT_EQ(s.process->cwd, "/");
  // Host network without a hostname takes the host's.
  EXPECT_EQ(Gen(R"({"HostConfig": {"NetworkMode": "host"}})").hostname, "hosty");
}

TEST(GenerateSpec, UserAndWorkdir) {
  oci::Spec s = Gen("{}");
  EXPECT_EQ(s.process->cwd, "/app");
  EXPECT_EQ(s.process->user.uid, 0u);
  s = Gen(R"({"User": "1000:100", "WorkingDir": "/w/", "HostConfig": {"GroupAdd": ["5"]}})");
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.process->user.gid, 100u);
  EXPECT_EQ(s.process->user.additional_gids, (std::vector<uint32_t>{100, 5}));
  EXPECT_EQ(s.process->cwd, "/w");
  EXPECT_EQ(GenError(R"({"User": "alice"})"),
            "unable to find user alice: no matching entries in passwd file");
  ContainerPaths p = Paths();
  p.resolve_user = [](std::string_view spec, bool) -> base::Result<oci::User> {
    return oci::User{.uid = 42, .gid = 43};
  };
  auto r = GenerateSpec(Req(R"({"User": "alice"})"), Image(), Host(), p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->process->user.uid, 42u);
}

TEST(GenerateSpec, DefaultCapabilities) {
  oci::Spec s = Gen("{}");
  const auto& caps = *s.process->capabilities;
  EXPECT_EQ(caps.bounding, DefaultCapabilities());
  EXPECT_EQ(caps.effective, DefaultCapabilities());
  EXPECT_EQ(caps.permitted, DefaultCapabilities());
  EXPECT_TRUE(caps.inheritable.empty());
  EXPECT_TRUE(caps.ambient.empty());
  EXPECT_EQ(DefaultCapabilities().size(), 14u);
}

TEST(GenerateSpec, CapAddDrop) {
  oci::Spec s = Gen(R"({"HostConfig": {"CapAdd": ["net_admin", "CAP_SYS_ADMIN"],
                                       "CapDrop": ["MKNOD", "cap_net_raw"]}})");
  const auto& b = s.process->capabilities->bounding;
  EXPECT_TRUE(Has(b, "CAP_NET_ADMIN"));
  EXPECT_TRUE(Has(b, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(Has(b, "CAP_MKNOD"));
  EXPECT_FALSE(Has(b, "CAP_NET_RAW"));
  EXPECT_EQ(b.size(), 14u);

  s = Gen(R"({"HostConfig": {"CapDrop": ["ALL"], "CapAdd": ["CHOWN"]}})");
  EXPECT_EQ(s.process->capabilities->bounding, std::vector<std::string>{"CAP_CHOWN"});

  s = Gen(R"({"HostConfig": {"CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]}})");
  const auto& all = s.process->capabilities->bounding;
  EXPECT_EQ(all.size(), 39u);  // 41 known, minus SYS_RESOURCE (host lacks it), minus SYS_ADMIN
  EXPECT_FALSE(Has(all, "CAP_SYS_RESOURCE"));
  EXPECT_FALSE(Has(all, "CAP_SYS_ADMIN"));

  EXPECT_EQ(GenError(R"({"HostConfig": {"CapAdd": ["FOO"]}})"), "unknown capability: \"CAP_FOO\"");
  EXPECT_NE(GenError(R"({"HostConfig": {"CapAdd": ["SYS_RESOURCE"]}})").find("bounding set"),
            std::string::npos);
}

TEST(GenerateSpec, PrivilegedUsesHostBoundingSet) {
  oci::Spec s = Gen(R"({"HostConfig": {"Privileged": true}})");
  const auto& b = s.process->capabilities->bounding;
  EXPECT_EQ(b.size(), 40u);
  EXPECT_FALSE(Has(b, "CAP_SYS_RESOURCE"));
  EXPECT_TRUE(Has(b, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(Has(b, "CAP_CHECKPOINT_RESTORE"));
  EXPECT_TRUE(s.linux->masked_paths.empty());
  EXPECT_TRUE(s.linux->readonly_paths.empty());
  EXPECT_FALSE(s.linux->seccomp);
  ASSERT_EQ(s.linux->devices.size(), 1u);
  EXPECT_EQ(s.linux->devices[0].path, "/dev/kmsg");
  ASSERT_EQ(s.linux->resources->devices.size(), 1u);
  EXPECT_EQ(s.linux->resources->devices[0],
            (oci::DeviceRule{.allow = true, .type = "a", .access = "rwm"}));
  EXPECT_FALSE(Has(FindMount(s, "/sys")->options, "ro"));

  HostFacts older = Host();
  older.last_cap = 37;  // a kernel without PERFMON, BPF, CHECKPOINT_RESTORE
  older.bounding_caps = (1ULL << 38) - 1;
  s = Gen(R"({"HostConfig": {"Privileged": true}})", Image(), older);
  EXPECT_EQ(s.process->capabilities->bounding.size(), 38u);
  EXPECT_FALSE(Has(s.process->capabilities->bounding, "CAP_BPF"));
}

TEST(GenerateSpec, NamespacesAndSecurityDefaults) {
  oci::Spec s = Gen("{}");
  std::vector<std::string> types;
  for (const auto& ns : s.linux->namespaces) types.push_back(ns.type);
  EXPECT_EQ(types, (std::vector<std::string>{"mount", "network", "uts", "pid", "ipc", "cgroup"}));
  EXPECT_TRUE(Has(s.linux->masked_paths, "/proc/kcore"));
  EXPECT_TRUE(Has(s.linux->masked_paths, "/proc/interrupts"));
  EXPECT_TRUE(Has(s.linux->masked_paths, "/sys/devices/virtual/powercap"));
  EXPECT_TRUE(Has(s.linux->masked_paths, "/sys/firmware"));
  EXPECT_TRUE(Has(s.linux->masked_paths, "/sys/devices/system/cpu/cpu0/thermal_throttle"));
  EXPECT_EQ(s.linux->readonly_paths,
            (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"}));
  EXPECT_FALSE(s.process->no_new_privileges);
  EXPECT_EQ(s.process->oom_score_adj, 0);
  EXPECT_EQ(s.linux->cgroups_path, std::string("/berth-") + kId);
  ASSERT_TRUE(s.linux->seccomp);
  EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.root.path, "/var/lib/berth/c/rootfs");
  EXPECT_FALSE(s.root.readonly);
  EXPECT_TRUE(oci::ValidateSpec(s)) << oci::ValidateSpec(s).error().message();

  s = Gen(R"({"HostConfig": {"NetworkMode": "host", "PidMode": "host", "IpcMode": "host",
              "UTSMode": "host", "CgroupnsMode": "host", "ReadonlyRootfs": true,
              "SecurityOpt": ["no-new-privileges:true", "seccomp=unconfined"]}})");
  types.clear();
  for (const auto& ns : s.linux->namespaces) types.push_back(ns.type);
  EXPECT_EQ(types, std::vector<std::string>{"mount"});
  EXPECT_TRUE(s.hostname.empty());
  EXPECT_TRUE(s.root.readonly);
  EXPECT_TRUE(s.process->no_new_privileges);
  EXPECT_FALSE(s.linux->seccomp);
  EXPECT_EQ(FindMount(s, "/dev/shm")->source, "/dev/shm");
  EXPECT_TRUE(Has(FindMount(s, "/etc/hosts")->options, "ro"));

  // cgroup v1: no cgroup namespace by default.
  HostFacts v1 = Host();
  v1.cgroup_mode = CgroupMode::kV1;
  s = Gen("{}", Image(), v1);
  EXPECT_TRUE(std::none_of(s.linux->namespaces.begin(), s.linux->namespaces.end(),
                           [](const oci::Namespace& n) { return n.type == "cgroup"; }));
  EXPECT_EQ(GenError(R"({"HostConfig": {"SecurityOpt": ["bogus"]}})"),
            "invalid --security-opt 1: \"bogus\"");
  EXPECT_EQ(GenError(R"({"HostConfig": {"SecurityOpt": ["no-new-privileges=maybe"]}})"),
            "invalid --security-opt 2: \"no-new-privileges=maybe\"");
  EXPECT_EQ(GenError(R"({"HostConfig": {"UTSMode": "host"}, "Hostname": "x"})"),
            "Conflicting options: hostname and the UTS mode");
}

TEST(GenerateSpec, CustomSeccompProfile) {
  oci::Spec s = Gen(R"({"HostConfig": {"SecurityOpt": [
      "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"]}})");
  ASSERT_TRUE(s.linux->seccomp);
  EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ALLOW");
  ASSERT_EQ(s.linux->seccomp->syscalls.size(), 1u);
  HostFacts no_seccomp = Host();
  no_seccomp.seccomp_available = false;
  EXPECT_FALSE(Gen("{}", Image(), no_seccomp).linux->seccomp);
  EXPECT_NE(GenError(R"({"HostConfig": {"SecurityOpt": ["seccomp={}"]}})", Image(), no_seccomp)
                .find("seccomp is not enabled"),
            std::string::npos);
}

TEST(GenerateSpec, DefaultMounts) {
  oci::Spec s = Gen(R"({"HostConfig": {"ShmSize": 1048576}})");
  std::vector<std::string> dsts;
  for (const auto& m : s.mounts) dsts.push_back(m.destination);
  EXPECT_EQ(dsts, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                            "/dev/mqueue", "/dev/shm", "/etc/hostname",
                                            "/etc/hosts", "/etc/resolv.conf"}));
  EXPECT_TRUE(Has(FindMount(s, "/sys")->options, "ro"));
  EXPECT_TRUE(Has(FindMount(s, "/sys/fs/cgroup")->options, "ro"));
  EXPECT_TRUE(Has(FindMount(s, "/dev/shm")->options, "size=1048576"));
  EXPECT_TRUE(Has(FindMount(s, "/dev/pts")->options, "newinstance"));
  EXPECT_EQ(FindMount(s, "/etc/resolv.conf")->source, "/var/lib/berth/c/resolv.conf");
  EXPECT_TRUE(Has(Gen("{}").mounts[6].options, "size=67108864"));
  // IpcMode none: no /dev/shm at all.
  EXPECT_FALSE(FindMount(Gen(R"({"HostConfig": {"IpcMode": "none"}})"), "/dev/shm"));
}

TEST(GenerateSpec, BindsMountsTmpfs) {
  std::vector<std::string> warnings;
  oci::Spec s = Gen(R"({"Volumes": {"/anon": {}, "/missing": {}}, "HostConfig": {
      "Binds": ["/etc:/host/etc:ro", "myvol:/data", "/src:/a/b/c:rshared"],
      "Mounts": [{"Type": "bind", "Source": "/src", "Target": "/m", "ReadOnly": true},
                 {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 2097152,
                  "Mode": 1023}},
                 {"Type": "volume", "Source": "myvol", "Target": "/v"}],
      "Tmpfs": {"/run": "exec,size=64m"}}})",
                    Image(), Host(), &warnings);
  const oci::Mount* m = FindMount(s, "/host/etc");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "bind");
  EXPECT_EQ(m->options, (std::vector<std::string>{"rbind", "ro", "rprivate"}));
  m = FindMount(s, "/data");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, "/var/lib/berth/volumes/myvol/_data");
  EXPECT_EQ(FindMount(s, "/a/b/c")->options, (std::vector<std::string>{"rbind", "rshared"}));
  EXPECT_EQ(s.linux->rootfs_propagation, "rshared");
  EXPECT_EQ(FindMount(s, "/m")->options, (std::vector<std::string>{"rbind", "ro", "rprivate"}));
  EXPECT_EQ(
      FindMount(s, "/t")->options,
      (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate", "size=2m", "mode=1777"}));
  EXPECT_EQ(FindMount(s, "/run")->options,
            (std::vector<std::string>{"nosuid", "nodev", "rprivate", "exec", "size=64m"}));
  EXPECT_EQ(FindMount(s, "/v")->source, "/var/lib/berth/volumes/myvol/_data");
  EXPECT_EQ(FindMount(s, "/anon")->source, "/var/lib/berth/volumes/anon1/_data");
  EXPECT_FALSE(FindMount(s, "/missing"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("/missing"), std::string::npos);
  // Parents before children.
  auto pos = [&](std::string_view d) {
    for (size_t i = 0; i < s.mounts.size(); ++i)
      if (s.mounts[i].destination == d) return i;
    return s.mounts.size();
  };
  EXPECT_LT(pos("/data"), pos("/host/etc"));
  EXPECT_LT(pos("/host/etc"), pos("/a/b/c"));

  EXPECT_EQ(GenError(R"({"HostConfig": {"Mounts": [{"Type": "bind", "Source": "/x",
                         "Target": "/x"}]}})"),
            "invalid mount config for type \"bind\": bind source path does not exist: /x");
  EXPECT_EQ(GenError(R"({"HostConfig": {"Binds": ["/a:/b:bogus"]}})"), "invalid mode: bogus");
  auto r = GenerateSpec(Req(R"({"HostConfig": {"Binds": ["nope:/x"]}})"), Image(), Host(), Paths());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  // A user mount over /dev/shm or /etc/hosts replaces the default one.
  s = Gen(R"({"HostConfig": {"Binds": ["/etc:/etc/hosts"], "Tmpfs": {"/dev/shm": ""}}})");
  EXPECT_EQ(std::count_if(s.mounts.begin(), s.mounts.end(),
                          [](const oci::Mount& m) { return m.destination == "/dev/shm"; }),
            1);
  EXPECT_EQ(FindMount(s, "/dev/shm")->source, "tmpfs");
  EXPECT_EQ(FindMount(s, "/etc/hosts")->source, "/etc");
}

TEST(GenerateSpec, Resources) {
  oci::Spec s = Gen(R"({"HostConfig": {"Memory": 67108864, "MemoryReservation": 33554432,
      "NanoCpus": 1500000000, "CpuShares": 512, "CpusetCpus": "0-1", "PidsLimit": 100,
      "BlkioWeight": 300, "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1048576}],
      "OomScoreAdj": 500}})");
  const oci::Resources& r = *s.linux->resources;
  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, 67108864);
  EXPECT_EQ(r.memory->swap, 2 * 67108864);  // dockerd: swap defaults to twice the memory
  EXPECT_EQ(r.memory->reservation, 33554432);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->quota, 150000);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  ASSERT_TRUE(r.pids);
  EXPECT_EQ(r.pids->limit, 100);
  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 300);
  ASSERT_EQ(r.block_io->throttle_read_bps_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].major, 8);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].rate, 1048576u);
  EXPECT_EQ(s.process->oom_score_adj, 500);

  EXPECT_EQ(Gen(R"({"HostConfig": {"Memory": 67108864, "MemorySwap": -1}})")
                .linux->resources->memory->swap,
            -1);
  EXPECT_EQ(Gen(R"({"HostConfig": {"Memory": 67108864, "MemorySwap": 100000000}})")
                .linux->resources->memory->swap,
            100000000);
  // 0 and -1 mean unlimited: no pids limit at all.
  EXPECT_FALSE(Gen(R"({"HostConfig": {"PidsLimit": 0}})").linux->resources->pids);
  EXPECT_FALSE(Gen(R"({"HostConfig": {"PidsLimit": -1}})").linux->resources->pids);
  EXPECT_FALSE(Gen("{}").linux->resources->memory);
  EXPECT_FALSE(Gen("{}").linux->resources->cpu);

  std::vector<std::string> warnings;
  s = Gen(R"({"HostConfig": {"OomKillDisable": true, "Memory": 67108864}})", Image(), Host(),
          &warnings);
  EXPECT_FALSE(s.linux->resources->memory->disable_oom_killer);
  EXPECT_EQ(warnings.size(), 1u);
  HostFacts v1 = Host();
  v1.cgroup_mode = CgroupMode::kV1;
  v1.swap_limit_supported = false;
  s = Gen(R"({"HostConfig": {"OomKillDisable": true, "Memory": 67108864}})", Image(), v1);
  EXPECT_EQ(s.linux->resources->memory->disable_oom_killer, true);
  EXPECT_FALSE(s.linux->resources->memory->swap);

  EXPECT_EQ(GenError(R"({"HostConfig": {"NanoCpus": 3000000000}})"),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  EXPECT_EQ(GenError(R"({"HostConfig": {"Memory": 100}})"), "Minimum memory limit allowed is 6MB");
  EXPECT_EQ(GenError(R"({"HostConfig": {"BlkioWeightDevice": [{"Path": "/dev/nope",
                         "Weight": 100}]}})"),
            "/dev/nope is not a block device");
}

TEST(GenerateSpec, UlimitsClampedToHost) {
  std::vector<std::string> warnings;
  oci::Spec s = Gen(R"({"HostConfig": {"Ulimits": [
      {"Name": "nofile", "Soft": 1048576, "Hard": 1048576},
      {"Name": "nproc", "Soft": 100, "Hard": 200},
      {"Name": "core", "Soft": -1, "Hard": -1}]}})",
                    Image(), Host(), &warnings);
  const auto& rl = s.process->rlimits;
  ASSERT_EQ(rl.size(), 3u);
  EXPECT_EQ(rl[0], (oci::Rlimit{.type = "RLIMIT_NOFILE", .hard = 20000, .soft = 20000}));
  EXPECT_EQ(rl[1], (oci::Rlimit{.type = "RLIMIT_NPROC", .hard = 200, .soft = 100}));
  EXPECT_EQ(rl[2].hard, UINT64_MAX);  // no host limit known for core: asked as is
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("nofile"), std::string::npos);
  EXPECT_NE(warnings[0].find("20000"), std::string::npos);
  warnings.clear();
  s = Gen(R"({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 4096}]}})",
          Image(), Host(), &warnings);
  EXPECT_EQ(s.process->rlimits[0].hard, 4096u);
  EXPECT_TRUE(warnings.empty());
}

TEST(GenerateSpec, DeviceRulesAndDevices) {
  oci::Spec s = Gen(R"({"HostConfig": {"Devices": [{"PathOnHost": "/dev/fuse",
      "PathInContainer": "/dev/fuse", "CgroupPermissions": "rw"}],
      "DeviceCgroupRules": ["c 42:* rmw"]}})");
  const auto& rules = s.linux->resources->devices;
  EXPECT_EQ(rules[0], (oci::DeviceRule{.allow = false, .access = "rwm"}));
  auto allowed = [&](std::string type, int64_t major, int64_t minor) {
    bool allow = false;  // the last matching rule wins, as in the kernel's device cgroup
    for (const auto& r : rules) {
      bool type_ok = r.type.empty() || r.type == "a" || r.type == type;
      bool major_ok = !r.major || *r.major == major;
      bool minor_ok = !r.minor || *r.minor == minor;
      if (type_ok && major_ok && minor_ok && r.access.find('r') != std::string::npos)
        allow = r.allow;
    }
    return allow;
  };
  EXPECT_TRUE(allowed("c", 1, 3));
  EXPECT_TRUE(allowed("c", 1, 7));
  EXPECT_TRUE(allowed("c", 136, 4));
  EXPECT_TRUE(allowed("c", 10, 200));
  EXPECT_TRUE(allowed("c", 42, 9));
  EXPECT_FALSE(allowed("b", 8, 0));
  EXPECT_FALSE(allowed("c", 1, 1));  // /dev/mem
  ASSERT_EQ(s.linux->devices.size(), 1u);
  EXPECT_EQ(s.linux->devices[0].path, "/dev/fuse");
  EXPECT_EQ(rules.back(),
            (oci::DeviceRule{.allow = true, .type = "c", .major = 42, .access = "rmw"}));
  EXPECT_EQ(GenError(R"({"HostConfig": {"Devices": [{"PathOnHost": "/dev/nope"}]}})"),
            "error gathering device information while adding custom device \"/dev/nope\": no "
            "such file or directory");
}

TEST(GenerateSpec, Sysctls) {
  oci::Spec s = Gen(R"({"HostConfig": {"Sysctls": {"net.ipv4.ip_forward": "1",
                                                   "kernel.shmmax": "1000"}}})");
  EXPECT_EQ(s.linux->sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(GenError(R"({"HostConfig": {"NetworkMode": "host",
                         "Sysctls": {"net.ipv4.ip_forward": "1"}}})"),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");
  EXPECT_EQ(GenError(R"({"HostConfig": {"Sysctls": {"kernel.core_pattern": "x"}}})"),
            "sysctl \"kernel.core_pattern\" is not in a separate kernel namespace");
}

TEST(GenerateSpec, SeccompFollowsCapabilities) {
  oci::Spec s = Gen("{}");
  auto allows = [](const oci::Seccomp& sc, std::string_view name) {
    for (const auto& r : sc.syscalls)
      if (r.action == "SCMP_ACT_ALLOW" && r.args.empty() &&
          std::find(r.names.begin(), r.names.end(), name) != r.names.end())
        return true;
    return false;
  };
  EXPECT_FALSE(allows(*s.linux->seccomp, "unshare"));
  s = Gen(R"({"HostConfig": {"CapAdd": ["SYS_ADMIN"]}})");
  EXPECT_TRUE(allows(*s.linux->seccomp, "unshare"));
}

}  // namespace
}  // namespace berth::daemon::spec
