// GenerateSpec: a ContainerCreate request + the image config + what the daemon knows about the
// host -> the OCI runtime config (config.json) for the container, with Docker's defaults and
// precedence rules (capabilities, mounts, masked paths, device rules, seccomp, resources).
// Pure: every fact about the host or the container's files comes in through HostFacts and
// ContainerPaths, so the whole translation is unit-testable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "daemon/spec/create_request.h"
#include "daemon/spec/seccomp_default.h"
#include "oci/image_spec.h"
#include "oci/runtime_config.h"

namespace berth::daemon::spec {

enum class CgroupMode { kV1, kHybrid, kV2 };

struct DeviceNumber {
  int64_t major = 0, minor = 0;
};

struct HostFacts {
  // The daemon's capability bounding set (bit n = capability n, as in /proc/self/status CapBnd).
  // --privileged and CapAdd ALL grant exactly these: a host whose root lacks CAP_SYS_RESOURCE
  // must not ask the runtime for it.
  uint64_t bounding_caps = 0;
  // The kernel's highest capability number (/proc/sys/kernel/cap_last_cap); names above it are
  // unknown to this kernel.
  int last_cap = 40;
  // Hard limits the daemon holds, keyed "RLIMIT_NOFILE"; absent = unlimited. Requested ulimits
  // are clamped to these (the runtime could not raise them).
  std::map<std::string, uint64_t> rlimit_hard;
  CgroupMode cgroup_mode = CgroupMode::kV2;
  KernelVersion kernel;
  std::string machine = "x86_64";  // uname -m
  int ncpu = 1;
  std::string hostname;  // for --network host without a Hostname
  bool seccomp_available = true;
  bool swap_limit_supported = true;  // memory.memsw / memory.swap.max present
  // The host's device nodes, given to --privileged containers.
  std::vector<oci::Device> devices;
  // Existing /sys/devices/system/cpu/cpu*/thermal_throttle directories (masked by default).
  std::vector<std::string> thermal_throttle_paths;
  // Host lookups. Whether a Mounts bind source exists on the host (unset: not checked; Binds
  // sources are not checked because dockerd creates missing ones, which the daemon must do).
  std::function<bool(std::string_view path)> path_exists;
  // The device node at a host path (type, major, minor, mode, uid, gid); nullopt if none.
  // Unset: Devices and blkio per-device settings fail.
  std::function<std::optional<oci::Device>(std::string_view path)> lookup_device;
};

struct ContainerPaths {
  std::string id;  // the container id; hostname defaults to its first 12 characters
  std::string rootfs;
  // Files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf; empty: not mounted.
  std::string hostname_file, hosts_file, resolv_conf_file;
  // Host directory bound at /dev/shm (IpcMode shareable); empty: a private tmpfs.
  std::string shm;
  std::string init_binary;        // for --init; bound read-only at kInitPath
  bool default_init = false;      // daemon.json "init": --init when HostConfig.Init is null
  std::string cgroups_path;       // empty: "/berth-<id>" (or HostConfig.CgroupParent/<id>)
  std::string network_namespace;  // a netns to join (path); empty: a new one
  // Host directories of volumes: by name for named volumes, by destination ("/data") for
  // anonymous ones (Mounts without Source, Config.Volumes, the image's VOLUMEs). An anonymous
  // volume with no entry is skipped with a warning.
  std::map<std::string, std::string> volumes;
  // Resolves Config.User / GroupAdd names against the container's /etc/passwd and /etc/group;
  // unset: only numeric users and groups work. The argument is "user[:group]" or "group" (for
  // groups, `is_group` is true and only gid is used).
  std::function<base::Result<oci::User>(std::string_view spec, bool is_group)> resolve_user;
};

// Where dockerd puts docker-init, so tools that look for it there (ps output, scripts) agree.
inline constexpr const char* kInitPath = "/sbin/docker-init";
inline constexpr const char* kDefaultPathEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr int64_t kDefaultShmSize = 64 * 1024 * 1024;

// Docker's 14 default capabilities, "CAP_" names.
const std::vector<std::string>& DefaultCapabilities();
// "CAP_CHOWN" for 0 ...; "" above CAP_CHECKPOINT_RESTORE (40).
std::string CapabilityName(int cap);

// The container's capability set: `defaults` (or the host bounding set when privileged) with
// CapAdd/CapDrop applied the Docker way ("ALL", names with or without CAP_, any case). A name
// no kernel knows is InvalidArgument "unknown capability: \"CAP_FOO\""; a cap the host bounding
// set lacks is InvalidArgument too (the runtime could not grant it), except through ALL, which
// means "all the host has".
base::Result<std::vector<std::string>> ResolveCapabilities(const HostConfig& h,
                                                           const HostFacts& host);

// Whether the container's process runs under the init: HostConfig.Init, or the daemon's default
// when it is null; never with --pid host or container:X (as dockerd: that namespace already has
// its pid 1).
bool UsesInit(const HostConfig& h, bool daemon_default);

// linux.cgroupsPath of the spec for container `id` when ContainerPaths names none: one level per
// container ("/berth-<id>", like berth-runtime's default, so no shared parent outlives the last
// container), or <cgroup parent>/<id> with --cgroup-parent.
std::string DefaultCgroupsPath(const HostConfig& h, const std::string& id);

// Builds the spec. Runs ValidateCreateRequest first. Errors: InvalidArgument (bad request, in
// dockerd's words where it has some: "No command specified", "invalid mount config for type
// \"bind\": bind source path does not exist: /x", ...), NotFound (a volume the daemon did not
// resolve). Warnings for what was adjusted rather than refused (ulimits clamped to the host,
// swap limit unsupported, OomKillDisable on cgroup v2, missing anonymous volumes) are appended
// to *warnings when given.
base::Result<oci::Spec> GenerateSpec(const CreateRequest& request, const oci::ImageConfig& image,
                                     const HostFacts& host, const ContainerPaths& paths,
                                     std::vector<std::string>* warnings = nullptr);

}  // namespace berth::daemon::spec
