// Tests for the OCI config/state/features JSON mapping and spec validation.
#include "oci/runtime_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::oci {
namespace {

using base::ErrorCode;

// `runc spec` of runc 1.1.5, verbatim.
constexpr const char* kRuncSpec = R"({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})";

// The shape dockerd 20.10 writes for `docker run -t --memory 512m --cpus 0.5 --pids-limit 100
// nginx`, with the default seccomp profile cut down to one rule of each kind.
constexpr const char* kDockerSpec = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 0, "gid": 0, "additionalGids": [0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]},
    "args": ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=4f2c0d1b3a5e", "TERM=xterm", "NGINX_VERSION=1.25.3"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                   "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615,
                 "soft": 18446744073709551615}],
    "apparmorProfile": "docker-default",
    "oomScoreAdj": 0
  },
  "root": {"path": "/var/lib/docker/overlay2/0c4d3b0a/merged"},
  "hostname": "4f2c0d1b3a5e",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["ro", "nosuid", "noexec", "nodev"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
    {"destination": "/etc/resolv.conf", "type": "bind",
     "source": "/var/lib/docker/containers/4f2c0d1b3a5e/resolv.conf",
     "options": ["rbind", "rprivate"]},
    {"destination": "/etc/hostname", "type": "bind",
     "source": "/var/lib/docker/containers/4f2c0d1b3a5e/hostname",
     "options": ["rbind", "rprivate"]},
    {"destination": "/etc/hosts", "type": "bind",
     "source": "/var/lib/docker/containers/4f2c0d1b3a5e/hosts",
     "options": ["rbind", "rprivate"]}
  ],
  "hooks": {
    "prestart": [{"path": "/proc/1234/exe",
                  "args": ["libnetwork-setkey", "-exec-root=/var/run/docker", "4f2c0d1b3a5e",
                           "a1b2c3d4e5f6"]}],
    "poststop": [{"path": "/usr/local/bin/cleanup", "env": ["A=1"], "timeout": 5}]
  },
  "linux": {
    "sysctl": {"net.ipv4.ip_unprivileged_port_start": "0",
               "net.ipv4.ping_group_range": "0 2147483647"},
    "resources": {
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
      ],
      "memory": {"limit": 536870912, "swap": 1073741824, "disableOOMKiller": false},
      "cpu": {"shares": 0, "quota": 50000, "period": 100000},
      "pids": {"limit": 100},
      "blockIO": {"weight": 0},
      "unknownController": {"x": 1}
    },
    "cgroupsPath": "/docker/4f2c0d1b3a5e",
    "namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "uts"}, {"type": "pid"},
                   {"type": "ipc"}],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "syscalls": [
        {"names": ["accept", "accept4", "read", "write", "openat", "exit_group"],
         "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}
      ]
    },
    "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  size_t pos = s.find(from);
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// A spec with every field set to something other than its default.
Spec FullSpec() {
  Spec s;
  s.oci_version = "1.2.0";
  Process& p = s.process.emplace();
  p.terminal = true;
  p.console_size = ConsoleSize{.height = 40, .width = 120};
  p.user = User{.uid = 1000,
                .gid = 1000,
                .umask = 022,
                .additional_gids = {5, 4294967295u},
                .username = "alice"};
  p.args = {"sh", "-c", "echo \"hi\" \\ ünïcødé"};
  p.env = {"A=1", "EMPTY="};
  p.cwd = "/work";
  p.capabilities = Capabilities{.bounding = {"CAP_KILL"},
                                .effective = {"CAP_KILL"},
                                .inheritable = {"CAP_CHOWN"},
                                .permitted = {"CAP_KILL"},
                                .ambient = {"CAP_SETUID"}};
  p.rlimits = {{"RLIMIT_NOFILE", 18446744073709551615ull, 1024}, {"RLIMIT_CORE", 0, 0}};
  p.no_new_privileges = true;
  p.apparmor_profile = "berth-default";
  p.oom_score_adj = -1000;
  p.selinux_label = "system_u:system_r:container_t:s0";
  s.root = Root{.path = "/var/lib/berth/rootfs", .readonly = true};
  s.hostname = "box";
  s.domainname = "example.org";
  Mount m;
  m.destination = "/data";
  m.type = "bind";
  m.source = "/srv/data";
  m.options = {"rbind", "ro"};
  m.uid_mappings = {{0, 100000, 65536}};
  m.gid_mappings = {{0, 100000, 65536}};
  s.mounts = {m, Mount{.destination = "/tmp", .type = "tmpfs"}};
  Hooks& h = s.hooks.emplace();
  h.prestart = {Hook{.path = "/bin/pre", .args = {"pre"}, .env = {"X=1"}, .timeout = 3}};
  h.create_runtime = {Hook{.path = "/bin/cr"}};
  h.create_container = {Hook{.path = "/bin/cc"}};
  h.start_container = {Hook{.path = "/bin/sc"}};
  h.poststart = {Hook{.path = "/bin/ps"}};
  h.poststop = {Hook{.path = "/bin/pp", .timeout = 1}};
  s.annotations = {{"io.berth.a", "1"}, {"org.example/b", ""}};
  Linux& l = s.linux.emplace();
  l.uid_mappings = {{0, 1000, 1}, {1, 100000, 65536}};
  l.gid_mappings = {{0, 1000, 1}};
  l.sysctl = {{"net.ipv4.ip_forward", "1"}};
  Resources& r = l.resources.emplace();
  DeviceRule rule;
  rule.allow = true;
  rule.type = "c";
  rule.major = 1;
  rule.minor = -1;
  rule.access = "rw";
  r.devices = {DeviceRule{.access = "rwm"}, rule};
  r.memory = MemoryResources{.limit = -1,
                             .reservation = 1 << 20,
                             .swap = -1,
                             .kernel = 0,
                             .kernel_tcp = 4096,
                             .swappiness = 60,
                             .disable_oom_killer = false,
                             .use_hierarchy = true,
                             .check_before_update = true};
  r.cpu = CpuResources{.shares = 1024,
                       .quota = -1,
                       .burst = 1000,
                       .period = 100000,
                       .realtime_runtime = 950000,
                       .realtime_period = 1000000,
                       .cpus = "0-3",
                       .mems = "0",
                       .idle = 1};
  r.pids = PidsResources{.limit = -1};
  BlockIoResources& b = r.block_io.emplace();
  b.weight = 500;
  b.leaf_weight = 65535;
  b.weight_device = {WeightDevice{.major = 8, .minor = 0, .weight = 100},
                     WeightDevice{.major = 8, .minor = 16, .leaf_weight = 10}};
  b.throttle_read_bps_device = {{8, 0, 1048576}};
  b.throttle_write_bps_device = {{8, 0, 18446744073709551615ull}};
  b.throttle_read_iops_device = {{8, 0, 100}};
  b.throttle_write_iops_device = {{8, 0, 200}};
  r.hugepage_limits = {{"2MB", 1 << 30}, {"1GB", 0}};
  r.network = NetworkResources{.class_id = 0x100001, .priorities = {{"eth0", 5}, {"lo", 0}}};
  r.unified = {{"memory.high", "max"}, {"io.weight", "default 100"}};
  l.cgroups_path = "/berth/box";
  l.namespaces = {{"pid", ""}, {"network", "/var/run/netns/x"}, {"user", ""}, {"time", ""}};
  l.devices = {Device{.type = "c",
                      .path = "/dev/fuse",
                      .major = 10,
                      .minor = 229,
                      .file_mode = 0666,
                      .uid = 0,
                      .gid = 0},
               Device{.type = "p", .path = "/dev/fifo"}};
  Seccomp& sc = l.seccomp.emplace();
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = 38;
  sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  sc.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  sc.listener_path = "/run/agent.sock";
  sc.listener_metadata = "meta";
  sc.syscalls = {
      SeccompSyscall{.names = {"read", "write"}, .action = "SCMP_ACT_ALLOW"},
      SeccompSyscall{.names = {"mount"}, .action = "SCMP_ACT_NOTIFY"},
      SeccompSyscall{
          .names = {"clone"},
          .action = "SCMP_ACT_ERRNO",
          .errno_ret = 1,
          .args = {SeccompArg{.index = 0,
                              .value = 0x7E020000,
                              .value_two = 0x7E020000,
                              .op = "SCMP_CMP_MASKED_EQ"},
                   SeccompArg{.index = 5, .value = 18446744073709551615ull, .op = "SCMP_CMP_NE"}}}};
  l.rootfs_propagation = "rslave";
  l.masked_paths = {"/proc/kcore"};
  l.readonly_paths = {"/proc/sys"};
  l.mount_label = "system_u:object_r:container_file_t:s0";
  return s;
}

// Parses `json`, expects an InvalidArgument error with exactly `message`.
void ExpectParseError(std::string_view json, std::string_view message) {
  auto r = ParseSpec(json);
  ASSERT_FALSE(r) << json;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << json;
  EXPECT_EQ(r.error().message(), message) << json;
}

// Applies `mutate` to the runc default config and expects ValidateSpec to fail with `message`.
void ExpectInvalid(const std::function<void(Spec&)>& mutate, std::string_view message) {
  Spec s = DefaultSpec(false);
  mutate(s);
  auto st = ValidateSpec(s);
  ASSERT_FALSE(st) << "expected: " << message;
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message(), message);
}

TEST(RuntimeConfigTest, ParsesRuncDefault) {
  auto spec = ParseSpec(kRuncSpec);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->oci_version, "1.0.2-dev");
  ASSERT_TRUE(spec->process);
  EXPECT_TRUE(spec->process->terminal);
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(spec->process->cwd, "/");
  ASSERT_TRUE(spec->process->capabilities);
  EXPECT_EQ(spec->process->capabilities->ambient.size(), 3u);
  EXPECT_TRUE(spec->process->capabilities->inheritable.empty());
  ASSERT_EQ(spec->process->rlimits.size(), 1u);
  EXPECT_EQ(spec->process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(spec->process->rlimits[0].soft, 1024u);
  EXPECT_TRUE(spec->process->no_new_privileges);
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "runc");
  ASSERT_EQ(spec->mounts.size(), 7u);
  EXPECT_EQ(spec->mounts[2].destination, "/dev/pts");
  EXPECT_EQ(spec->mounts[2].options.back(), "gid=5");
  ASSERT_TRUE(spec->linux);
  ASSERT_TRUE(spec->linux->resources);
  ASSERT_EQ(spec->linux->resources->devices.size(), 1u);
  EXPECT_FALSE(spec->linux->resources->devices[0].allow);
  EXPECT_FALSE(spec->linux->resources->devices[0].major);
  EXPECT_EQ(spec->linux->resources->devices[0].access, "rwm");
  ASSERT_EQ(spec->linux->namespaces.size(), 5u);
  EXPECT_EQ(spec->linux->namespaces[1].type, "network");
  EXPECT_EQ(spec->linux->masked_paths.size(), 10u);
  EXPECT_EQ(spec->linux->readonly_paths.size(), 5u);
  EXPECT_TRUE(ValidateSpec(*spec));
}

TEST(RuntimeConfigTest, DefaultSpecIsRuncSpec) {
  std::string expected =
      Replace(Replace(kRuncSpec, "1.0.2-dev", kOciVersion), "\"runc\"", "\"berth\"");
  EXPECT_EQ(SerializeSpec(DefaultSpec(false)), expected);
  EXPECT_TRUE(ValidateSpec(DefaultSpec(false)));
}

TEST(RuntimeConfigTest, DefaultRootlessSpecIsRuncRootlessSpec) {
  Spec s = DefaultSpec(true);
  EXPECT_TRUE(ValidateSpec(s));
  ASSERT_TRUE(s.linux);
  EXPECT_FALSE(s.linux->resources);
  std::vector<std::string> types;
  for (const auto& ns : s.linux->namespaces) types.push_back(ns.type);
  EXPECT_EQ(types, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "user"}));
  ASSERT_EQ(s.linux->uid_mappings.size(), 1u);
  EXPECT_EQ(s.linux->uid_mappings[0], (IdMapping{0, geteuid(), 1}));
  EXPECT_EQ(s.linux->gid_mappings[0], (IdMapping{0, getegid(), 1}));
  EXPECT_EQ(s.mounts[2].options, (std::vector<std::string>{"nosuid", "noexec", "newinstance",
                                                           "ptmxmode=0666", "mode=0620"}));
  EXPECT_EQ(s.mounts[5], (Mount{.destination = "/sys",
                                .type = "none",
                                .source = "/sys",
                                .options = {"rbind", "nosuid", "noexec", "nodev", "ro"}}));
  // The rest is runc's default.
  Spec rootful = DefaultSpec(false);
  EXPECT_EQ(s.process, rootful.process);
  EXPECT_EQ(s.root, rootful.root);
  EXPECT_EQ(s.linux->masked_paths, rootful.linux->masked_paths);
}

// SerializeSpec keeps the text of the last seccomp profile it wrote and splices it into the next
// spec with an equal profile: the result must be what the JSON library's pretty printer writes,
// whether the profile was the kept one or not, and whatever else the spec holds.
TEST(RuntimeConfigTest, SeccompProfilesWrittenAgainAreTheSameText) {
  Spec a = FullSpec();
  ASSERT_TRUE(a.linux && a.linux->seccomp);
  Spec b = a;
  b.hostname = "other";
  b.annotations["seccomp"] =
      "\x01"
      "berth:seccomp"
      "\x01";  // the splice's own marker, as a value
  Spec c = a;
  c.linux->seccomp->syscalls[0].names.push_back("getpid");
  Spec none = a;
  none.linux->seccomp.reset();
  for (const Spec* s : {&a, &a, &b, &c, &a, &none, &b}) {
    std::string text = SerializeSpec(*s);
    EXPECT_EQ(nlohmann::ordered_json::parse(text).dump(1, '\t'), text);
    auto back = ParseSpec(text);
    ASSERT_TRUE(back) << back.error().message() << "\n" << text;
    EXPECT_EQ(*back, *s) << text;
  }
}

// ParseSpecWith gives ParseSpec's result for every text, the known profile's or not.
TEST(RuntimeConfigTest, AKnownSeccompProfileParsesAsTheWholeText) {
  Spec a = FullSpec();
  ASSERT_TRUE(a.linux && a.linux->seccomp);
  auto known = ParseKnownSeccomp(SeccompValueText(*a.linux->seccomp));
  ASSERT_TRUE(known) << known.error().message();
  EXPECT_EQ(known->profile, *a.linux->seccomp);
  auto same = [&](const std::string& text) {
    auto plain = ParseSpec(text);
    auto with = ParseSpecWith(text, &*known);
    ASSERT_EQ(bool(plain), bool(with)) << text;
    if (plain) {
      EXPECT_EQ(*with, *plain) << text;
    } else {
      EXPECT_EQ(with.error().message(), plain.error().message());
    }
  };
  std::string text = SerializeSpec(a);
  same(text);
  auto with = ParseSpecWith(text, nullptr);
  ASSERT_TRUE(with);
  EXPECT_EQ(*with, a);
  // Where the profile is not parsed again, its value comes from `known`: a known profile that
  // does not match its text (which no caller makes) shows which texts take that way.
  KnownSeccomp lie = *known;
  lie.profile.default_action = "SCMP_ACT_LOG";
  auto taken = [&](const std::string& t) {
    auto r = ParseSpecWith(t, &lie);
    return r && r->linux && r->linux->seccomp &&
           r->linux->seccomp->default_action == "SCMP_ACT_LOG";
  };
  EXPECT_TRUE(taken(text));
  // Another profile, and none.
  Spec other = a;
  other.linux->seccomp->syscalls[0].names.push_back("getpid");
  same(SerializeSpec(other));
  Spec none = a;
  none.linux->seccomp.reset();
  same(SerializeSpec(none));
  // The same text laid out otherwise.
  same(nlohmann::json::parse(text).dump());
  same(nlohmann::json::parse(text).dump(2));
  // The profile's text as the value of "seccomp" elsewhere than linux: in another top-level
  // object, with no profile in linux; in an earlier "linux" that a later one overrides.
  std::string profile = SeccompValueText(*a.linux->seccomp);
  std::string elsewhere = SerializeSpec(none);
  size_t last = elsewhere.rfind("\n}");
  ASSERT_NE(last, std::string::npos);
  std::string in_x =
      elsewhere.substr(0, last) + ",\n\t\"x\": {\n\t\t\"seccomp\": " + profile + "\n\t}\n}";
  same(in_x);
  EXPECT_FALSE(taken(in_x));
  std::string twice =
      text.substr(0, text.rfind("\n}")) + ",\n\t\"linux\": {\n\t\t\"cgroupsPath\": \"/x\"\n\t}\n}";
  same(twice);
  EXPECT_FALSE(taken(twice));
  EXPECT_FALSE(taken(SerializeSpec(other)));
  EXPECT_FALSE(taken(nlohmann::json::parse(text).dump()));
  // An error elsewhere reads as it does without the profile known.
  std::string bad = text;
  size_t host = bad.find("\"hostname\": \"");
  ASSERT_NE(host, std::string::npos);
  bad.replace(host, 13, "\"hostname\": 7, \"x\": \"");
  same(bad);
  // Not a profile.
  EXPECT_FALSE(ParseKnownSeccomp("[1]"));
  EXPECT_FALSE(ParseKnownSeccomp("{\"defaultAction\": 3}"));
}

TEST(RuntimeConfigTest, RoundTripsEveryField) {
  Spec s = FullSpec();
  ASSERT_TRUE(ValidateSpec(s)) << ValidateSpec(s).error().message();
  std::string text = SerializeSpec(s);
  auto back = ParseSpec(text);
  ASSERT_TRUE(back) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, s) << text;
  EXPECT_EQ(SerializeSpec(*back), text);

  // Spot-check the wire names.
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["process"]["user"]["additionalGids"][1], 4294967295u);
  EXPECT_EQ(j["process"]["consoleSize"]["width"], 120);
  EXPECT_EQ(j["process"]["oomScoreAdj"], -1000);
  EXPECT_EQ(j["hooks"]["createRuntime"][0]["path"], "/bin/cr");
  EXPECT_EQ(j["linux"]["resources"]["memory"]["kernelTCP"], 4096);
  EXPECT_EQ(j["linux"]["resources"]["memory"]["checkBeforeUpdate"], true);
  EXPECT_EQ(j["linux"]["resources"]["blockIO"]["throttleWriteIOPSDevice"][0]["rate"], 200);
  EXPECT_EQ(j["linux"]["resources"]["hugepageLimits"][0]["pageSize"], "2MB");
  EXPECT_EQ(j["linux"]["resources"]["network"]["classID"], 0x100001);
  EXPECT_EQ(j["linux"]["resources"]["network"]["priorities"][0]["name"], "eth0");
  EXPECT_EQ(j["linux"]["devices"][0]["fileMode"], 0666);
  EXPECT_EQ(j["linux"]["seccomp"]["syscalls"][2]["args"][0]["valueTwo"], 0x7E020000);
  EXPECT_EQ(j["linux"]["seccomp"]["listenerMetadata"], "meta");
  EXPECT_EQ(j["mounts"][0]["uidMappings"][0]["hostID"], 100000);
}

TEST(RuntimeConfigTest, OmitsEmptyOptionals) {
  Spec s;
  s.oci_version = "1.2.0";
  s.root.path = "rootfs";
  EXPECT_EQ(SerializeSpec(s),
            "{\n\t\"ociVersion\": \"1.2.0\",\n\t\"root\": {\n\t\t\"path\": "
            "\"rootfs\"\n\t}\n}");
  s.process.emplace();
  s.linux.emplace().resources.emplace().memory.emplace();
  auto j = nlohmann::json::parse(SerializeSpec(s));
  EXPECT_EQ(j["process"], (nlohmann::json{{"user", {{"uid", 0}, {"gid", 0}}}, {"cwd", "/"}}));
  EXPECT_EQ(j["linux"], (nlohmann::json{{"resources", {{"memory", nlohmann::json::object()}}}}));
  EXPECT_EQ(*ParseSpec(SerializeSpec(s)), s);
}

TEST(RuntimeConfigTest, ParsesDockerdConfig) {
  auto spec = ParseSpec(kDockerSpec);
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_TRUE(ValidateSpec(*spec)) << ValidateSpec(*spec).error().message();
  const Process& p = *spec->process;
  EXPECT_EQ(p.console_size, (ConsoleSize{24, 80}));
  EXPECT_EQ(p.user.additional_gids.size(), 11u);
  EXPECT_EQ(p.capabilities->bounding.size(), 14u);
  EXPECT_EQ(p.rlimits[0].hard, 18446744073709551615ull);
  EXPECT_EQ(p.apparmor_profile, "docker-default");
  EXPECT_EQ(p.oom_score_adj, 0);
  ASSERT_TRUE(spec->hooks);
  ASSERT_EQ(spec->hooks->prestart.size(), 1u);
  EXPECT_EQ(spec->hooks->prestart[0].path, "/proc/1234/exe");
  EXPECT_EQ(spec->hooks->prestart[0].args.size(), 4u);
  EXPECT_FALSE(spec->hooks->prestart[0].timeout);
  EXPECT_EQ(spec->hooks->poststop[0].timeout, 5);
  EXPECT_EQ(spec->mounts.size(), 10u);
  EXPECT_EQ(spec->mounts[7].type, "bind");
  const Linux& l = *spec->linux;
  EXPECT_EQ(l.sysctl.at("net.ipv4.ping_group_range"), "0 2147483647");
  const Resources& r = *l.resources;
  ASSERT_EQ(r.devices.size(), 4u);
  EXPECT_EQ(r.devices[2].major, 136);
  EXPECT_FALSE(r.devices[2].minor);
  EXPECT_EQ(r.memory->limit, 536870912);
  EXPECT_EQ(r.memory->disable_oom_killer, false);
  EXPECT_FALSE(r.memory->reservation);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->shares, 0u);
  EXPECT_EQ(r.pids->limit, 100);
  EXPECT_EQ(r.block_io->weight, 0);
  EXPECT_EQ(l.cgroups_path, "/docker/4f2c0d1b3a5e");
  const Seccomp& sc = *l.seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 1u);
  EXPECT_EQ(sc.architectures.size(), 3u);
  ASSERT_EQ(sc.syscalls.size(), 5u);
  EXPECT_EQ(sc.syscalls[1].args[0].value, 4294967295u);
  EXPECT_EQ(sc.syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(sc.syscalls[3].errno_ret, 38u);
  auto back = ParseSpec(SerializeSpec(*spec));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *spec);
}

TEST(RuntimeConfigTest, IgnoresUnknownFieldsAndNulls) {
  auto spec = ParseSpec(R"({"ociVersion": "1.2.0", "root": {"path": "r", "x": [1]},
      "process": null, "hooks": null, "mounts": null, "annotations": null,
      "vm": {"hypervisor": {}}, "windows": 5,
      "linux": {"intelRdt": {"closID": "x"}, "personality": {"domain": "LINUX"},
                "timeOffsets": {"boottime": {"secs": 1}}, "seccomp": null,
                "resources": {"rdma": {"mlx": {"hcaHandles": 1}}, "memory": {"limit": null}}}})");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_FALSE(spec->process);
  EXPECT_FALSE(spec->hooks);
  EXPECT_TRUE(spec->mounts.empty());
  EXPECT_EQ(spec->root.path, "r");
  EXPECT_FALSE(spec->linux->seccomp);
  EXPECT_FALSE(spec->linux->resources->memory->limit);
  EXPECT_TRUE(ValidateSpec(*spec));
}

TEST(RuntimeConfigTest, WrongTypesNameTheField) {
  ExpectParseError(R"({"ociVersion": 1})", "ociVersion: expected string");
  ExpectParseError(R"({"process": {"user": {"uid": "0"}}})",
                   "process.user.uid: expected unsigned 32-bit integer");
  ExpectParseError(R"({"process": {"terminal": "yes"}})", "process.terminal: expected boolean");
  ExpectParseError(R"({"process": {"args": "sh"}})", "process.args: expected array");
  ExpectParseError(R"({"process": {"args": ["sh", 1]}})", "process.args[1]: expected string");
  ExpectParseError(R"({"process": {"user": []}})", "process.user: expected object");
  ExpectParseError(R"({"process": {"capabilities": {"bounding": [null]}}})",
                   "process.capabilities.bounding[0]: expected string");
  ExpectParseError(R"({"process": {"rlimits": [{"type": "RLIMIT_CORE", "hard": -1}]}})",
                   "process.rlimits[0].hard: expected unsigned 64-bit integer");
  ExpectParseError(R"({"process": {"oomScoreAdj": 1.5}})",
                   "process.oomScoreAdj: expected signed 32-bit integer");
  ExpectParseError(R"({"process": {"consoleSize": {"height": true}}})",
                   "process.consoleSize.height: expected unsigned 32-bit integer");
  ExpectParseError(R"({"root": "rootfs"})", "root: expected object");
  ExpectParseError(R"({"mounts": [{"destination": "/a"}, {"options": "ro"}]})",
                   "mounts[1].options: expected array");
  ExpectParseError(R"({"hooks": {"createContainer": [{"path": "/x", "timeout": "5"}]}})",
                   "hooks.createContainer[0].timeout: expected signed 32-bit integer");
  ExpectParseError(R"({"annotations": {"a": "1", "io.x": 2}})",
                   "annotations[\"io.x\"]: expected string");
  ExpectParseError(R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": 3}]}})",
                   "linux.namespaces[2].type: expected string");
  ExpectParseError(R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": -5, "size": 1}]}})",
                   "linux.uidMappings[0].hostID: expected unsigned 32-bit integer");
  ExpectParseError(R"({"linux": {"sysctl": {"kernel.shmmax": 1}}})",
                   "linux.sysctl[\"kernel.shmmax\"]: expected string");
  ExpectParseError(R"({"linux": {"resources": {"memory": {"limit": "1g"}}}})",
                   "linux.resources.memory.limit: expected signed 64-bit integer");
  ExpectParseError(R"({"linux": {"resources": {"memory": {"swappiness": -1}}}})",
                   "linux.resources.memory.swappiness: expected unsigned 64-bit integer");
  ExpectParseError(R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})",
                   "linux.resources.blockIO.weight: expected unsigned 16-bit integer");
  ExpectParseError(
      R"({"linux": {"resources": {"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": "0"}]}}}})",
      "linux.resources.blockIO.throttleReadBpsDevice[0].minor: expected signed 64-bit integer");
  ExpectParseError(R"({"linux": {"resources": {"cpu": {"cpus": 3}}}})",
                   "linux.resources.cpu.cpus: expected string");
  ExpectParseError(R"({"linux": {"resources": {"cpu": {"burst": 9223372036854775808}}}})",
                   "linux.resources.cpu.burst: out of range");
  ExpectParseError(R"({"linux": {"resources": {"network": {"priorities": [{"priority": -1}]}}}})",
                   "linux.resources.network.priorities[0].priority: expected unsigned 32-bit "
                   "integer");
  ExpectParseError(R"({"linux": {"resources": {"unified": []}}})",
                   "linux.resources.unified: expected object");
  ExpectParseError(R"({"linux": {"devices": [{"path": "/dev/x", "fileMode": -1}]}})",
                   "linux.devices[0].fileMode: expected unsigned 32-bit integer");
  ExpectParseError(R"({"linux": {"seccomp": {"syscalls": [{"args": [{"index": 0, "value": 1,
                       "op": ["SCMP_CMP_EQ"]}]}]}}})",
                   "linux.seccomp.syscalls[0].args[0].op: expected string");
  ExpectParseError(R"({"linux": {"seccomp": {"defaultErrnoRet": 4294967296}}})",
                   "linux.seccomp.defaultErrnoRet: expected unsigned 32-bit integer");
}

TEST(RuntimeConfigTest, NumbersAtTheEdges) {
  auto spec = ParseSpec(R"({"process": {"user": {"uid": 4294967295, "gid": 0},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615,
                   "soft": 18446744073709551615}], "oomScoreAdj": -1000},
      "linux": {"resources": {"memory": {"limit": -1, "swap": -1,
                                         "reservation": 9223372036854775807},
                              "cpu": {"quota": -9223372036854775808,
                                      "burst": 9223372036854775807}},
                "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"],
                  "action": "SCMP_ACT_ALLOW", "args": [{"index": 0,
                  "value": 18446744073709551615, "valueTwo": 18446744073709551615,
                  "op": "SCMP_CMP_EQ"}]}]}}})");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->process->user.uid, 4294967295u);
  EXPECT_EQ(spec->process->rlimits[0].hard, UINT64_MAX);
  EXPECT_EQ(spec->process->oom_score_adj, -1000);
  EXPECT_EQ(spec->linux->resources->memory->limit, -1);
  EXPECT_EQ(spec->linux->resources->memory->swap, -1);
  EXPECT_EQ(spec->linux->resources->memory->reservation, INT64_MAX);
  EXPECT_EQ(spec->linux->resources->cpu->quota, INT64_MIN);
  EXPECT_EQ(spec->linux->resources->cpu->burst, INT64_MAX);
  EXPECT_EQ(spec->linux->seccomp->syscalls[0].args[0].value_two, UINT64_MAX);
  EXPECT_EQ(*ParseSpec(SerializeSpec(*spec)), *spec);

  ExpectParseError(R"({"process": {"user": {"uid": 4294967296}}})",
                   "process.user.uid: expected unsigned 32-bit integer");
  ExpectParseError(R"({"process": {"user": {"uid": -1}}})",
                   "process.user.uid: expected unsigned 32-bit integer");
  ExpectParseError(R"({"process": {"user": {"uid": 1e3}}})",
                   "process.user.uid: expected unsigned 32-bit integer");
  ExpectParseError(R"({"process": {"user": {"uid": 0.0}}})",
                   "process.user.uid: expected unsigned 32-bit integer");
  ExpectParseError(R"({"process": {"rlimits": [{"hard": 18446744073709551616}]}})",
                   "process.rlimits[0].hard: expected unsigned 64-bit integer");
  ExpectParseError(R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})",
                   "linux.resources.memory.limit: expected signed 64-bit integer");
  ExpectParseError(R"({"linux": {"resources": {"memory": {"limit": -9223372036854775809}}}})",
                   "linux.resources.memory.limit: expected signed 64-bit integer");
  ExpectParseError(R"({"process": {"oomScoreAdj": 2147483648}})",
                   "process.oomScoreAdj: expected signed 32-bit integer");
}

TEST(RuntimeConfigTest, MalformedDocuments) {
  for (std::string_view bad :
       {"", "{", "[]", "\"x\"", "null", "{\"a\":1,}", "{} {}", "{\"ociVersion\": \"\xff\"}"}) {
    auto r = ParseSpec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(r.error().message().starts_with("config: ")) << r.error().message();
  }
  EXPECT_EQ(ParseSpec("[1]").error().message(), "config: expected object");
  // Deep nesting in a field we ignore must not matter.
  std::string deep = "{\"x\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_TRUE(ParseSpec(deep));
}

TEST(RuntimeConfigTest, ValidationNamesTheField) {
  EXPECT_TRUE(ValidateSpec(FullSpec()));
  ExpectInvalid([](Spec& s) { s.oci_version.clear(); }, "ociVersion: must be set");
  ExpectInvalid([](Spec& s) { s.root.path.clear(); }, "root.path: must be set");
  ExpectInvalid([](Spec& s) { s.process->cwd = "work"; }, "process.cwd: must be an absolute path");
  ExpectInvalid([](Spec& s) { s.process->rlimits[0].soft = 1025; },
                "process.rlimits[0].soft: soft limit 1025 exceeds hard limit 1024");
  ExpectInvalid(
      [](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_FOO", 1, 1});
      },
      "process.rlimits[1].type: unknown rlimit type \"RLIMIT_FOO\"");
  ExpectInvalid(
      [](Spec& s) {
        s.process->rlimits.push_back({"RLIMIT_NOFILE", 1, 1});
      },
      "process.rlimits: duplicate rlimit \"RLIMIT_NOFILE\"");
  ExpectInvalid([](Spec& s) { s.mounts[1].destination = "dev"; },
                "mounts[1].destination: must be an absolute path");
  ExpectInvalid(
      [](Spec& s) {
        s.mounts[0].uid_mappings = {{0, 1, 0}};
      },
      "mounts[0].uidMappings[0].size: must not be zero");
  ExpectInvalid(
      [](Spec& s) {
        s.linux->namespaces.push_back({"pid", ""});
      },
      "linux.namespaces: duplicate namespace \"pid\"");
  ExpectInvalid([](Spec& s) { s.linux->namespaces[2].type = "net"; },
                "linux.namespaces[2].type: unknown namespace type \"net\"");
  ExpectInvalid([](Spec& s) { s.linux->namespaces[1].path = "proc/1/ns/net"; },
                "linux.namespaces[1].path: must be an absolute path");
  ExpectInvalid(
      [](Spec& s) {
        s.linux->uid_mappings = {{0, 1000, 1}};
      },
      "linux.uidMappings: requires a user namespace");
  ExpectInvalid(
      [](Spec& s) {
        s.linux->gid_mappings = {{0, 1000, 1}};
      },
      "linux.gidMappings: requires a user namespace");
  ExpectInvalid([](Spec& s) { s.hooks.emplace().create_runtime = {Hook{.path = "hook"}}; },
                "hooks.createRuntime[0].path: must be an absolute path");
  ExpectInvalid(
      [](Spec& s) {
        s.hooks.emplace().poststop = {Hook{.path = "/a"}, Hook{.path = "/b", .timeout = 0}};
      },
      "hooks.poststop[1].timeout: must be greater than zero");
  ExpectInvalid([](Spec& s) { s.hooks.emplace().prestart = {Hook{.path = "/a", .timeout = -1}}; },
                "hooks.prestart[0].timeout: must be greater than zero");
  ExpectInvalid([](Spec& s) { s.linux->sysctl[""] = "1"; }, "linux.sysctl: empty key");
  ExpectInvalid([](Spec& s) { s.linux->devices = {Device{.type = "c", .path = "dev/x"}}; },
                "linux.devices[0].path: must be an absolute path");
  ExpectInvalid([](Spec& s) { s.linux->devices = {Device{.type = "x", .path = "/dev/x"}}; },
                "linux.devices[0].type: unknown device type \"x\"");
  ExpectInvalid([](Spec& s) { s.linux->resources->devices[0].access = "rwx"; },
                "linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\"");
  ExpectInvalid([](Spec& s) { s.linux->resources->devices[0].type = "p"; },
                "linux.resources.devices[0].type: unknown device type \"p\"");
  ExpectInvalid([](Spec& s) { s.linux->rootfs_propagation = "slaves"; },
                "linux.rootfsPropagation: unknown propagation \"slaves\"");
}

TEST(RuntimeConfigTest, SeccompValidation) {
  auto with_seccomp = [](std::function<void(Seccomp&)> f) {
    return [f](Spec& s) {
      Seccomp& sc = s.linux->seccomp.emplace();
      sc.default_action = "SCMP_ACT_ERRNO";
      sc.syscalls = {SeccompSyscall{.names = {"read"}, .action = "SCMP_ACT_ALLOW"}};
      f(sc);
    };
  };
  {
    Spec s = DefaultSpec(false);
    with_seccomp([](Seccomp&) {})(s);
    EXPECT_TRUE(ValidateSpec(s));
  }
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.default_action.clear(); }),
                "linux.seccomp.defaultAction: must be set");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.default_action = "SCMP_ACT_DENY"; }),
                "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
  ExpectInvalid(with_seccomp([](Seccomp& sc) {
                  sc.default_action = "SCMP_ACT_NOTIFY";
                  sc.listener_path = "/x";
                }),
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  ExpectInvalid(with_seccomp([](Seccomp& sc) {
                  sc.default_action = "SCMP_ACT_KILL";
                  sc.default_errno_ret = 1;
                }),
                "linux.seccomp.defaultErrnoRet: not supported with action SCMP_ACT_KILL");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.syscalls[0].action = "ALLOW"; }),
                "linux.seccomp.syscalls[0].action: unknown action \"ALLOW\"");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.syscalls[0].errno_ret = 1; }),
                "linux.seccomp.syscalls[0].errnoRet: not supported with action SCMP_ACT_ALLOW");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.syscalls[0].names.clear(); }),
                "linux.seccomp.syscalls[0].names: must not be empty");
  ExpectInvalid(with_seccomp([](Seccomp& sc) {
                  sc.syscalls[0].args = {SeccompArg{.index = 1, .op = "SCMP_CMP_EQ"},
                                         SeccompArg{.index = 2, .op = "SCMP_CMP_EQUAL"}};
                }),
                "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_EQUAL\"");
  ExpectInvalid(with_seccomp([](Seccomp& sc) {
                  sc.syscalls[0].args = {SeccompArg{.index = 6, .op = "SCMP_CMP_EQ"}};
                }),
                "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.syscalls[0].action = "SCMP_ACT_NOTIFY"; }),
                "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.listener_metadata = "m"; }),
                "linux.seccomp.listenerMetadata: requires listenerPath");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.architectures = {"SCMP_ARCH_Z80"}; }),
                "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\"");
  ExpectInvalid(with_seccomp([](Seccomp& sc) { sc.flags = {"SECCOMP_FILTER_FLAG_FOO"}; }),
                "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
  for (const char* action :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}) {
    Spec s = DefaultSpec(false);
    with_seccomp([action](Seccomp& sc) { sc.default_action = action; })(s);
    EXPECT_TRUE(ValidateSpec(s)) << action;
  }
  for (const char* op : {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                         "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}) {
    Spec s = DefaultSpec(false);
    with_seccomp([op](Seccomp& sc) { sc.syscalls[0].args = {SeccompArg{.op = op}}; })(s);
    EXPECT_TRUE(ValidateSpec(s)) << op;
  }
}

TEST(RuntimeConfigTest, ProcessJson) {
  auto p = ParseProcess(R"({"terminal": false, "user": {"uid": 1, "gid": 2},
      "args": ["ps", "aux"], "env": ["A=b"], "cwd": "/tmp", "noNewPrivileges": true})");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->user.uid, 1u);
  EXPECT_EQ(p->args, (std::vector<std::string>{"ps", "aux"}));
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_TRUE(p->no_new_privileges);
  // Paths are those of the document itself.
  EXPECT_EQ(ParseProcess(R"({"user": {"gid": "x"}})").error().message(),
            "user.gid: expected unsigned 32-bit integer");
  EXPECT_EQ(ParseProcess("[]").error().message(), "process: expected object");
}

TEST(RuntimeConfigTest, ResourcesJson) {
  // What containerd's shim pipes to `runc update --resources=-`.
  auto r = ParseResources(R"({"devices": null, "memory": {"limit": 268435456, "swap": -1},
      "cpu": {"shares": 256, "quota": 20000, "period": 100000, "cpus": "", "mems": ""},
      "pids": {"limit": 50}, "blockIO": {}, "hugepageLimits": null,
      "unified": {"memory.high": "200M"}})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->memory->limit, 268435456);
  EXPECT_EQ(r->memory->swap, -1);
  EXPECT_EQ(r->cpu->shares, 256u);
  EXPECT_EQ(r->pids->limit, 50);
  EXPECT_TRUE(r->block_io);
  EXPECT_EQ(r->unified.at("memory.high"), "200M");
  auto back = ParseResources(SerializeResources(*r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *r);
  EXPECT_EQ(ParseResources(R"({"memory": {"limit": "x"}})").error().message(),
            "memory.limit: expected signed 64-bit integer");
  Resources full = *FullSpec().linux->resources;
  EXPECT_EQ(*ParseResources(SerializeResources(full)), full);
}

TEST(RuntimeConfigTest, Features) {
  auto f = nlohmann::json::parse(FeaturesJson());
  EXPECT_EQ(f["ociVersionMin"], "1.0.0");
  EXPECT_EQ(f["ociVersionMax"], kOciVersion);
  EXPECT_EQ(f["hooks"].size(), 6u);
  auto options = f["mountOptions"].get<std::vector<std::string>>();
  EXPECT_TRUE(std::is_sorted(options.begin(), options.end()));
  for (const char* o : {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate",
                        "rslave", "rshared", "runbindable", "private", "relatime"})
    EXPECT_NE(std::find(options.begin(), options.end(), o), options.end()) << o;
  for (const char* o : {"rro", "rrw", "tmpcopyup", "idmap", "acl"})
    EXPECT_EQ(std::find(options.begin(), options.end(), o), options.end()) << o;
  const auto& lf = f["linux"];
  EXPECT_EQ(lf["namespaces"],
            (nlohmann::json{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}));
  ASSERT_EQ(lf["capabilities"].size(), 41u);
  EXPECT_EQ(lf["capabilities"][0], "CAP_CHOWN");
  EXPECT_EQ(lf["capabilities"][40], "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(
      lf["cgroup"],
      (nlohmann::json{{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}));
  EXPECT_EQ(lf["seccomp"]["enabled"], true);
  EXPECT_EQ(lf["seccomp"]["actions"].size(), 9u);
  EXPECT_EQ(lf["seccomp"]["operators"].size(), 7u);
  auto archs = lf["seccomp"]["archs"].get<std::vector<std::string>>();
  for (const char* a :
       {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"})
    EXPECT_NE(std::find(archs.begin(), archs.end(), a), archs.end()) << a;
  EXPECT_EQ(lf["seccomp"]["knownFlags"].size(), 4u);
  EXPECT_EQ(lf["seccomp"]["supportedFlags"].size(), 3u);
  EXPECT_EQ(lf["apparmor"]["enabled"], false);
  EXPECT_EQ(lf["selinux"]["enabled"], false);
  EXPECT_EQ(f["annotations"], (nlohmann::json{{"io.berth.runtime.version", "0.1.0"}}));

  // Everything features advertises passes validation.
  Spec s = DefaultSpec(false);
  s.linux->namespaces.clear();
  for (const auto& ns : lf["namespaces"])
    s.linux->namespaces.push_back({ns.get<std::string>(), ""});
  s.linux->uid_mappings = {{0, 0, 1}};
  Seccomp& sc = s.linux->seccomp.emplace();
  sc.default_action = "SCMP_ACT_ALLOW";
  sc.listener_path = "/l";
  sc.architectures = lf["seccomp"]["archs"].get<std::vector<std::string>>();
  sc.flags = lf["seccomp"]["knownFlags"].get<std::vector<std::string>>();
  for (const auto& action : lf["seccomp"]["actions"]) {
    SeccompSyscall call{.names = {"read"}, .action = action.get<std::string>()};
    for (const auto& op : lf["seccomp"]["operators"])
      call.args.push_back({.op = op.get<std::string>()});
    sc.syscalls.push_back(call);
  }
  EXPECT_TRUE(ValidateSpec(s)) << ValidateSpec(s).error().message();
}

TEST(RuntimeConfigTest, StateMatchesRunc) {
  State st{.oci_version = "1.2.0",
           .id = "c1",
           .status = "running",
           .pid = 4242,
           .bundle = "/b",
           .rootfs = "/b/rootfs",
           .created = "2026-11-28T05:37:10.123456789Z",
           .owner = ""};
  EXPECT_EQ(SerializeState(st), R"({
  "ociVersion": "1.2.0",
  "id": "c1",
  "pid": 4242,
  "status": "running",
  "bundle": "/b",
  "rootfs": "/b/rootfs",
  "created": "2026-11-28T05:37:10.123456789Z",
  "owner": ""
})");
  st.annotations = {{"b", "2"}, {"a", "1"}};
  std::string text = SerializeState(st);
  EXPECT_NE(text.find(R"(  "annotations": {
    "a": "1",
    "b": "2"
  },
  "owner": "")"),
            std::string::npos)
      << text;
  auto back = ParseState(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, st);
  EXPECT_EQ(ParseState(R"({"pid": "1"})").error().message(), "pid: expected signed 32-bit integer");
}

}  // namespace
}  // namespace berth::oci
