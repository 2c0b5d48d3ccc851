// OCI runtime-spec config.json (1.0 - 1.2) as C++ value types, plus parse/serialise.
// Pure: no I/O. Unknown fields are ignored (the spec requires it); fields of the wrong type or
// out of range fail with an error naming the field path ("process.rlimits[1].hard: ...").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

// GNU C++ (-std=gnu++20, which TRY needs) predefines `linux` as 1; it would rename Spec::linux.
#undef linux

namespace berth::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // Windows/only informative
  bool operator==(const User&) const = default;
};

struct Capabilities {
  // Capability names as the spec writes them ("CAP_CHOWN").
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
  bool operator==(const Capabilities&) const = default;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
  bool operator==(const Rlimit&) const = default;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
  bool operator==(const ConsoleSize&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  bool operator==(const Process&) const = default;
};

struct Root {
  std::string path;
  bool readonly = false;
  bool operator==(const Root&) const = default;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
  bool operator==(const IdMapping&) const = default;
};

struct Mount {
  std::string destination;
  std::string type;  // empty: bind if options say so
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  bool operator==(const Mount&) const = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  bool operator==(const Hooks&) const = default;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this one instead of creating
  bool operator==(const Namespace&) const = default;
};

struct DeviceRule {  // linux.resources.devices[]
  bool allow = false;
  std::string type;  // "a", "c", "b" (empty = all)
  std::optional<int64_t> major, minor;
  std::string access;  // "rwm" subset
  bool operator==(const DeviceRule&) const = default;
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
  bool operator==(const MemoryResources&) const = default;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<int64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<int64_t> idle;
  bool operator==(const CpuResources&) const = default;
};

struct PidsResources {
  int64_t limit = 0;  // <= 0: unlimited
  bool operator==(const PidsResources&) const = default;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
  bool operator==(const ThrottleDevice&) const = default;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
  bool operator==(const BlockIoResources&) const = default;
};

struct HugepageLimit {
  std::string page_size;
  uint64_t limit = 0;
  bool operator==(const HugepageLimit&) const = default;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<std::pair<std::string, uint32_t>> priorities;
  bool operator==(const NetworkResources&) const = default;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, std::string> unified;  // raw cgroup v2 files
  bool operator==(const Resources&) const = default;
};

struct Device {      // linux.devices[]: nodes to create in the container's /dev
  std::string type;  // c, b, u, p
  std::string path;
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
  bool operator==(const Device&) const = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
  bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ALLOW ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
  bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_X86_64 ...
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
  bool operator==(const Seccomp&) const = default;
};

struct Linux {
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;
  std::vector<Namespace> namespaces;
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;
  // intelRdt, personality, timeOffsets: accepted, not applied.
  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required for create, optional for others
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
  bool operator==(const Spec&) const = default;
};

// Parses config.json text. Errors are kInvalidArgument and name the field path.
base::Result<Spec> ParseSpec(std::string_view json_text);

// A linux.seccomp value known ahead, parsed once. berth-shim's standby keeps the profile of
// berthd's last container: a container's configs differ little, and Docker's default profile is
// ~2/3 of one (its parse ~0.3 ms of the shim's way to the container's start here).
struct KnownSeccomp {
  std::string text;  // the value exactly as SerializeSpec writes it (SeccompValueText)
  Seccomp profile;
};
// The text SerializeSpec writes as the value of linux.seccomp for `profile`.
std::string SeccompValueText(const Seccomp& profile);
// Parses such a text; errors name linux.seccomp.
base::Result<KnownSeccomp> ParseKnownSeccomp(std::string text);
// ParseSpec's result, without parsing the profile again when the config's linux.seccomp is
// `known`'s text as SerializeSpec lays it out (`known` may be null).
base::Result<Spec> ParseSpecWith(std::string_view json_text, const KnownSeccomp* known);
// The same for a config already parsed as JSON (e.g. embedded in another document).
base::Result<Spec> DecodeSpec(const nlohmann::json& config);
// Parses a process.json (runc exec --process) or the process object alone.
base::Result<Process> ParseProcess(std::string_view json_text);
// Parses linux.resources JSON (runc update --resources).
base::Result<Resources> ParseResources(std::string_view json_text);
// Semantic checks that need no I/O: required fields, absolute paths, known namespace types,
// duplicate namespaces, mappings with a user namespace, hook timeouts > 0, rlimit soft <= hard.
base::Status ValidateSpec(const Spec& spec);

std::string SerializeSpec(const Spec& spec);  // pretty JSON, spec field names
std::string SerializeResources(const Resources& r);
// Both indent with tabs like `runc spec`, keep the spec's key order, omit empty optional fields,
// end without a newline, and round-trip: Parse*(Serialize*(x)) == x. Strings that are not valid
// UTF-8 are written with U+FFFD in place of the bad bytes.

// The config `berth-runtime spec` writes: runc's default (sh, terminal, 3 caps, pid/net/ipc/uts/
// mount namespaces, default mounts, masked and read-only paths). rootless: runc spec --rootless
// (no network namespace, a user namespace mapping root to the caller's euid/egid, /sys bound).
Spec DefaultSpec(bool rootless);

// The JSON `berth-runtime features` prints (runtime-spec features.md), 4-space indent like
// `runc features`, no trailing newline. mountOptions mirrors runtime/linux/mount_options.cc and
// the seccomp flags mirror runtime/linux/seccomp.h: keep them in step.
std::string FeaturesJson();

// The container state the `state` command prints (runtime-spec runtime.md + runc's extras).
struct State {
  std::string oci_version;
  std::string id;
  std::string status;  // creating created running paused stopped
  int pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339Nano
  std::string owner;
  std::map<std::string, std::string> annotations;
  bool operator==(const State&) const = default;
};
// Pretty, 2-space indent and key order like `runc state` (annotations omitted when empty), no
// trailing newline.
std::string SerializeState(const State& state);
base::Result<State> ParseState(std::string_view json_text);

inline constexpr const char* kOciVersion = "1.2.0";

}  // namespace berth::oci
