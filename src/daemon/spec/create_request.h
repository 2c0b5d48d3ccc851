// The body of the Engine API's POST /containers/create (Config + HostConfig + NetworkingConfig) as
// value types, parsed from the JSON that docker, docker-py and compose send, plus the checks
// dockerd makes before it accepts a create (same wording, so clients show familiar errors).
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::daemon::spec {

struct HealthConfig {
  std::vector<std::string> test;  // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // nanoseconds
  int retries = 0;
  bool operator==(const HealthConfig&) const = default;
};

// Config: what the image could also say (Cmd, Env, User...) plus the stdio wiring.
struct Config {
  std::string hostname, domainname, user;
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  bool tty = false, open_stdin = false, stdin_once = false;
  std::vector<std::string> env;  // "K=V", or "K" to unset K
  // Absent (null) and empty differ for Entrypoint: a present one, even [] or [""], replaces the
  // image's entrypoint and stops the image's Cmd from being used (dockerd's merge rules).
  std::optional<std::vector<std::string>> cmd, entrypoint;
  std::string image;
  std::map<std::string, std::string> labels;
  std::string working_dir, stop_signal;
  std::optional<int> stop_timeout;
  std::vector<std::string> exposed_ports;  // keys of ExposedPorts: "80/tcp"
  std::vector<std::string> volumes;        // keys of Volumes: "/data"
  bool network_disabled = false;
  std::optional<HealthConfig> healthcheck;
  bool operator==(const Config&) const = default;
};

struct MountRequest {  // HostConfig.Mounts[] (--mount)
  std::string type;    // bind, volume, tmpfs (npipe, cluster: refused)
  std::string source, target;
  bool read_only = false;
  std::string consistency;
  std::string bind_propagation;  // BindOptions.Propagation
  bool bind_nonrecursive = false;
  bool volume_nocopy = false;
  std::optional<int64_t> tmpfs_size_bytes;  // TmpfsOptions.SizeBytes
  std::optional<uint32_t> tmpfs_mode;       // TmpfsOptions.Mode
  bool has_bind_options = false, has_volume_options = false, has_tmpfs_options = false;
  bool operator==(const MountRequest&) const = default;
};

struct RestartPolicy {
  std::string name;  // "", no, always, unless-stopped, on-failure
  int maximum_retry_count = 0;
  bool operator==(const RestartPolicy&) const = default;
};

struct Ulimit {
  std::string name;            // nofile, nproc, core, ...
  int64_t soft = 0, hard = 0;  // -1: unlimited
  bool operator==(const Ulimit&) const = default;
};

struct WeightDevice {
  std::string path;
  uint16_t weight = 0;
  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  std::string path;
  uint64_t rate = 0;
  bool operator==(const ThrottleDevice&) const = default;
};

struct DeviceMapping {  // --device /dev/sda:/dev/xvda:rwm
  std::string path_on_host, path_in_container, cgroup_permissions;
  bool operator==(const DeviceMapping&) const = default;
};

struct LogConfig {
  std::string type;  // "" = the daemon's default driver
  std::map<std::string, std::string> config;
  bool operator==(const LogConfig&) const = default;
};

struct PortBinding {
  std::string host_ip, host_port;  // host_port "" = pick one
  bool operator==(const PortBinding&) const = default;
};

struct HostConfig {
  std::vector<std::string> binds;  // "src:dst[:opts]"
  std::vector<MountRequest> mounts;
  std::map<std::string, std::string> tmpfs;  // destination -> "size=64m,mode=1777"
  bool readonly_rootfs = false;
  int64_t memory = 0, memory_reservation = 0, memory_swap = 0;
  std::optional<int64_t> memory_swappiness;  // nil or -1: unset
  std::optional<bool> oom_kill_disable;
  int oom_score_adj = 0;
  int64_t nano_cpus = 0, cpu_shares = 0, cpu_period = 0, cpu_quota = 0;
  int64_t cpu_realtime_period = 0, cpu_realtime_runtime = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> pids_limit;  // <= 0: unlimited
  uint16_t blkio_weight = 0;
  std::vector<WeightDevice> blkio_weight_device;
  std::vector<ThrottleDevice> blkio_device_read_bps, blkio_device_write_bps, blkio_device_read_iops,
      blkio_device_write_iops;
  std::vector<std::string> cap_add, cap_drop;
  bool privileged = false;
  std::vector<std::string> security_opt;
  std::optional<bool> init;
  bool auto_remove = false;
  RestartPolicy restart_policy;
  std::string network_mode;
  std::map<std::string, std::vector<PortBinding>> port_bindings;
  bool publish_all_ports = false;
  std::vector<Ulimit> ulimits;
  std::map<std::string, std::string> sysctls;
  int64_t shm_size = 0;  // 0: 64 MiB
  std::vector<DeviceMapping> devices;
  std::vector<std::string> device_cgroup_rules;
  std::vector<std::string> group_add;
  std::string ipc_mode, pid_mode, uts_mode, userns_mode, cgroupns_mode, cgroup_parent;
  std::vector<std::string> extra_hosts, dns, dns_options, dns_search;
  std::vector<std::string> volumes_from, links;
  LogConfig log_config;
  bool operator==(const HostConfig&) const = default;
};

struct EndpointConfig {
  std::vector<std::string> aliases, links;
  std::string ipv4_address, ipv6_address;  // IPAMConfig
  std::string mac_address;
  bool operator==(const EndpointConfig&) const = default;
};

struct CreateRequest {
  Config config;
  HostConfig host_config;
  std::map<std::string, EndpointConfig> endpoints;  // NetworkingConfig.EndpointsConfig
  bool operator==(const CreateRequest&) const = default;
};

// Parses the create body. Unknown fields are ignored and null means "not set", like Go's
// encoding/json. A value of the wrong type is InvalidArgument in Go's words, naming the field:
// "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type
// int64". Cmd, Entrypoint, CapAdd and CapDrop accept a string or an array (Docker's StrSlice).
// An empty body is an empty request.
base::Result<CreateRequest> ParseCreateRequest(std::string_view json_text);

// dockerd's checks that need no host facts (InvalidArgument, dockerd's wording): restart policy
// name and retry count, --restart with --rm, memory/swap/reservation minimums and order,
// swappiness range, NanoCpus against CpuPeriod/CpuQuota, CFS period/quota ranges, blkio weight,
// OomScoreAdj range, ulimit names and soft <= hard, ShmSize >= 0, Binds/Mounts/Tmpfs syntax
// (not whether a bind source exists: GenerateSpec asks the host), duplicate mount points,
// device cgroup rule syntax, namespace mode names.
base::Status ValidateCreateRequest(const CreateRequest& request);

// One parsed Binds entry. A source that is not an absolute path names a volume.
struct BindSpec {
  std::string source, destination;
  bool named_volume = false;
  bool read_only = false;
  std::string propagation;  // "" = default (rprivate)
  bool nocopy = false;
  bool operator==(const BindSpec&) const = default;
};
// Parses "src:dst[:opts]" (opts: ro, rw, z, Z, nocopy, [r]private/[r]shared/[r]slave,
// consistent/cached/delegated, comma-separated); InvalidArgument "invalid volume specification:
// '...'" or "invalid mode: ..." like dockerd.
base::Result<BindSpec> ParseBind(std::string_view bind);

// The named volumes a request mounts (Binds and Mounts of type volume with a source), in order
// and without duplicates, so the daemon can create or look them up before GenerateSpec.
std::vector<std::string> NamedVolumes(const CreateRequest& request);

}  // namespace berth::daemon::spec
