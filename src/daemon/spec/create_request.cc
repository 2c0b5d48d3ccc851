// ContainerCreate body parsing (Go encoding/json semantics) and dockerd's pre-create checks.
#include "daemon/spec/create_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "daemon/spec/internal.h"

namespace berth::daemon::spec {
namespace {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;
using nlohmann::json;

// Go's name for a JSON value's kind in unmarshal errors.
std::string GoKind(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number " + v.dump();
    default:
      return "value";
  }
}

// Reads the fields of one JSON object; `where` is the Go struct path in error messages
// ("HostConfig.HostConfig"). A missing key or null leaves the output untouched.
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  const json* Get(const char* key) const {
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Error TypeError(const char* key, const json& v, std::string_view go_type) const {
    return Error::InvalidArgument(
        fmt::format("json: cannot unmarshal {} into Go struct field {}.{} of type {}", GoKind(v),
                    where_, key, go_type));
  }

  Status String(const char* key, std::string& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (!v->is_string()) return Fail(TypeError(key, *v, "string"));
    out = v->get<std::string>();
    return {};
  }

  Status Bool(const char* key, bool& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (!v->is_boolean()) return Fail(TypeError(key, *v, "bool"));
    out = v->get<bool>();
    return {};
  }

  Status OptBool(const char* key, std::optional<bool>& out) const {
    bool b = false;
    if (!Get(key)) return {};
    auto st = Bool(key, b);
    if (!st) return st;
    out = b;
    return {};
  }

  // Integers of a Go type with the given range; floats and out-of-range values fail like Go.
  template <typename T>
  Status Int(const char* key, T& out, std::string_view go_type) const {
    const json* v = Get(key);
    if (!v) return {};
    if (v->is_number_unsigned()) {
      uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Fail(TypeError(key, *v, go_type));
      out = static_cast<T>(u);
      return {};
    }
    if (v->is_number_integer()) {
      int64_t i = v->get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        if (i < 0) return Fail(TypeError(key, *v, go_type));
        if (static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
          return Fail(TypeError(key, *v, go_type));
      } else {
        if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            i > static_cast<int64_t>(std::numeric_limits<T>::max()))
          return Fail(TypeError(key, *v, go_type));
      }
      out = static_cast<T>(i);
      return {};
    }
    return Fail(TypeError(key, *v, go_type));
  }

  template <typename T>
  Status OptInt(const char* key, std::optional<T>& out, std::string_view go_type) const {
    if (!Get(key)) return {};
    T value{};
    auto st = Int(key, value, go_type);
    if (!st) return st;
    out = value;
    return {};
  }

  Status StringList(const char* key, std::vector<std::string>& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (!v->is_array()) return Fail(TypeError(key, *v, "[]string"));
    out.clear();
    for (const json& e : *v) {
      if (!e.is_string()) return Fail(TypeError(key, e, "string"));
      out.push_back(e.get<std::string>());
    }
    return {};
  }

  // Docker's StrSlice: a string is a one-element list.
  Status StrSlice(const char* key, std::optional<std::vector<std::string>>& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (v->is_string()) {
      out = std::vector<std::string>{v->get<std::string>()};
      return {};
    }
    std::vector<std::string> list;
    auto st = StringList(key, list);
    if (!st) return st;
    out = std::move(list);
    return {};
  }

  Status StrSlice(const char* key, std::vector<std::string>& out) const {
    std::optional<std::vector<std::string>> opt;
    auto st = StrSlice(key, opt);
    if (!st) return st;
    if (opt) out = std::move(*opt);
    return {};
  }

  Status StringMap(const char* key, std::map<std::string, std::string>& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (!v->is_object()) return Fail(TypeError(key, *v, "map[string]string"));
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it->is_null()) {
        out[it.key()] = "";
        continue;
      }
      if (!it->is_string()) return Fail(TypeError(key, *it, "string"));
      out[it.key()] = it->get<std::string>();
    }
    return {};
  }

  // map[string]struct{} (ExposedPorts, Volumes): only the keys matter.
  Status KeySet(const char* key, std::vector<std::string>& out) const {
    const json* v = Get(key);
    if (!v) return {};
    if (!v->is_object()) return Fail(TypeError(key, *v, "map[string]struct {}"));
    for (auto it = v->begin(); it != v->end(); ++it) out.push_back(it.key());
    return {};
  }

  // A nested object; nullptr when absent. Wrong type is an error.
  Result<const json*> Object(const char* key, std::string_view go_type) const {
    const json* v = Get(key);
    if (!v) return nullptr;
    if (!v->is_object()) return Fail(TypeError(key, *v, go_type));
    return v;
  }

  Result<const json*> Array(const char* key, std::string_view go_type) const {
    const json* v = Get(key);
    if (!v) return nullptr;
    if (!v->is_array()) return Fail(TypeError(key, *v, go_type));
    return v;
  }

  const std::string& where() const { return where_; }

 private:
  const json& obj_;
  std::string where_;
};

Status ParseHealth(const json& j, HealthConfig& h) {
  Fields f(j, "Config.Healthcheck");
  TRY(f.StringList("Test", h.test));
  TRY(f.Int("Interval", h.interval, "time.Duration"));
  TRY(f.Int("Timeout", h.timeout, "time.Duration"));
  TRY(f.Int("StartPeriod", h.start_period, "time.Duration"));
  TRY(f.Int("StartInterval", h.start_interval, "time.Duration"));
  TRY(f.Int("Retries", h.retries, "int"));
  return {};
}

Status ParseConfig(const json& j, Config& c) {
  Fields f(j, "Config");
  TRY(f.String("Hostname", c.hostname));
  TRY(f.String("Domainname", c.domainname));
  TRY(f.String("User", c.user));
  TRY(f.Bool("AttachStdin", c.attach_stdin));
  TRY(f.Bool("AttachStdout", c.attach_stdout));
  TRY(f.Bool("AttachStderr", c.attach_stderr));
  TRY(f.Bool("Tty", c.tty));
  TRY(f.Bool("OpenStdin", c.open_stdin));
  TRY(f.Bool("StdinOnce", c.stdin_once));
  TRY(f.StringList("Env", c.env));
  TRY(f.StrSlice("Cmd", c.cmd));
  TRY(f.StrSlice("Entrypoint", c.entrypoint));
  TRY(f.String("Image", c.image));
  TRY(f.StringMap("Labels", c.labels));
  TRY(f.String("WorkingDir", c.working_dir));
  TRY(f.String("StopSignal", c.stop_signal));
  TRY(f.OptInt("StopTimeout", c.stop_timeout, "int"));
  TRY(f.KeySet("ExposedPorts", c.exposed_ports));
  TRY(f.KeySet("Volumes", c.volumes));
  TRY(f.Bool("NetworkDisabled", c.network_disabled));
  const json* hc = TRY(f.Object("Healthcheck", "container.HealthConfig"));
  if (hc) {
    c.healthcheck.emplace();
    TRY(ParseHealth(*hc, *c.healthcheck));
  }
  return {};
}

Status ParseMount(const json& j, MountRequest& m) {
  Fields f(j, "HostConfig.HostConfig.Mounts");
  if (!j.is_object()) return Fail(f.TypeError("Mounts", j, "mount.Mount"));
  TRY(f.String("Type", m.type));
  TRY(f.String("Source", m.source));
  TRY(f.String("Target", m.target));
  TRY(f.Bool("ReadOnly", m.read_only));
  TRY(f.String("Consistency", m.consistency));
  if (const json* b = TRY(f.Object("BindOptions", "mount.BindOptions"))) {
    m.has_bind_options = true;
    Fields bf(*b, "HostConfig.HostConfig.Mounts.BindOptions");
    TRY(bf.String("Propagation", m.bind_propagation));
    TRY(bf.Bool("NonRecursive", m.bind_nonrecursive));
  }
  if (const json* v = TRY(f.Object("VolumeOptions", "mount.VolumeOptions"))) {
    m.has_volume_options = true;
    Fields vf(*v, "HostConfig.HostConfig.Mounts.VolumeOptions");
    TRY(vf.Bool("NoCopy", m.volume_nocopy));
  }
  if (const json* t = TRY(f.Object("TmpfsOptions", "mount.TmpfsOptions"))) {
    m.has_tmpfs_options = true;
    Fields tf(*t, "HostConfig.HostConfig.Mounts.TmpfsOptions");
    TRY(tf.OptInt("SizeBytes", m.tmpfs_size_bytes, "int64"));
    TRY(tf.OptInt("Mode", m.tmpfs_mode, "fs.FileMode"));
  }
  return {};
}

template <typename T, typename Fn>
Status ParseArray(const Fields& f, const char* key, std::string_view go_type, std::vector<T>& out,
                  Fn parse_one) {
  const json* a = TRY(f.Array(key, go_type));
  if (!a) return {};
  for (const json& e : *a) {
    if (e.is_null()) continue;
    if (!e.is_object()) return Fail(f.TypeError(key, e, go_type));
    T item;
    TRY(parse_one(e, item));
    out.push_back(std::move(item));
  }
  return {};
}

Status ParseThrottle(const Fields& f, const char* key, std::vector<ThrottleDevice>& out) {
  std::string where = f.where() + "." + key;
  return ParseArray(f, key, "[]*blkiodev.ThrottleDevice", out,
                    [&](const json& e, ThrottleDevice& d) -> Status {
                      Fields df(e, where);
                      TRY(df.String("Path", d.path));
                      TRY(df.Int("Rate", d.rate, "uint64"));
                      return {};
                    });
}

Status ParseHostConfig(const json& j, HostConfig& h) {
  Fields f(j, "HostConfig.HostConfig");
  TRY(f.StringList("Binds", h.binds));
  TRY(ParseArray(f, "Mounts", "[]mount.Mount", h.mounts, ParseMount));
  TRY(f.StringMap("Tmpfs", h.tmpfs));
  TRY(f.Bool("ReadonlyRootfs", h.readonly_rootfs));
  TRY(f.Int("Memory", h.memory, "int64"));
  TRY(f.Int("MemoryReservation", h.memory_reservation, "int64"));
  TRY(f.Int("MemorySwap", h.memory_swap, "int64"));
  TRY(f.OptInt("MemorySwappiness", h.memory_swappiness, "int64"));
  TRY(f.OptBool("OomKillDisable", h.oom_kill_disable));
  TRY(f.Int("OomScoreAdj", h.oom_score_adj, "int"));
  TRY(f.Int("NanoCpus", h.nano_cpus, "int64"));
  TRY(f.Int("CpuShares", h.cpu_shares, "int64"));
  TRY(f.Int("CpuPeriod", h.cpu_period, "int64"));
  TRY(f.Int("CpuQuota", h.cpu_quota, "int64"));
  TRY(f.Int("CpuRealtimePeriod", h.cpu_realtime_period, "int64"));
  TRY(f.Int("CpuRealtimeRuntime", h.cpu_realtime_runtime, "int64"));
  TRY(f.String("CpusetCpus", h.cpuset_cpus));
  TRY(f.String("CpusetMems", h.cpuset_mems));
  TRY(f.OptInt("PidsLimit", h.pids_limit, "int64"));
  TRY(f.Int("BlkioWeight", h.blkio_weight, "uint16"));
  std::string wd_where = f.where() + ".BlkioWeightDevice";
  TRY(ParseArray(f, "BlkioWeightDevice", "[]*blkiodev.WeightDevice", h.blkio_weight_device,
                 [&](const json& e, WeightDevice& d) -> Status {
                   Fields df(e, wd_where);
                   TRY(df.String("Path", d.path));
                   TRY(df.Int("Weight", d.weight, "uint16"));
                   return {};
                 }));
  TRY(ParseThrottle(f, "BlkioDeviceReadBps", h.blkio_device_read_bps));
  TRY(ParseThrottle(f, "BlkioDeviceWriteBps", h.blkio_device_write_bps));
  TRY(ParseThrottle(f, "BlkioDeviceReadIOps", h.blkio_device_read_iops));
  TRY(ParseThrottle(f, "BlkioDeviceWriteIOps", h.blkio_device_write_iops));
  TRY(f.StrSlice("CapAdd", h.cap_add));
  TRY(f.StrSlice("CapDrop", h.cap_drop));
  TRY(f.Bool("Privileged", h.privileged));
  TRY(f.StringList("SecurityOpt", h.security_opt));
  TRY(f.OptBool("Init", h.init));
  TRY(f.Bool("AutoRemove", h.auto_remove));
  if (const json* rp = TRY(f.Object("RestartPolicy", "container.RestartPolicy"))) {
    Fields rf(*rp, "HostConfig.HostConfig.RestartPolicy");
    TRY(rf.String("Name", h.restart_policy.name));
    TRY(rf.Int("MaximumRetryCount", h.restart_policy.maximum_retry_count, "int"));
  }
  TRY(f.String("NetworkMode", h.network_mode));
  if (const json* pb = TRY(f.Object("PortBindings", "nat.PortMap"))) {
    for (auto it = pb->begin(); it != pb->end(); ++it) {
      auto& list = h.port_bindings[it.key()];
      if (it->is_null()) continue;
      if (!it->is_array()) return Fail(f.TypeError("PortBindings", *it, "[]nat.PortBinding"));
      for (const json& e : *it) {
        Fields bf(e, "HostConfig.HostConfig.PortBindings");
        PortBinding b;
        TRY(bf.String("HostIp", b.host_ip));
        TRY(bf.String("HostPort", b.host_port));
        list.push_back(std::move(b));
      }
    }
  }
  TRY(f.Bool("PublishAllPorts", h.publish_all_ports));
  TRY(ParseArray(f, "Ulimits", "[]*units.Ulimit", h.ulimits,
                 [&](const json& e, Ulimit& u) -> Status {
                   Fields uf(e, "HostConfig.HostConfig.Ulimits");
                   TRY(uf.String("Name", u.name));
                   TRY(uf.Int("Soft", u.soft, "int64"));
                   TRY(uf.Int("Hard", u.hard, "int64"));
                   return {};
                 }));
  TRY(f.StringMap("Sysctls", h.sysctls));
  TRY(f.Int("ShmSize", h.shm_size, "int64"));
  TRY(ParseArray(f, "Devices", "[]container.DeviceMapping", h.devices,
                 [&](const json& e, DeviceMapping& d) -> Status {
                   Fields df(e, "HostConfig.HostConfig.Devices");
                   TRY(df.String("PathOnHost", d.path_on_host));
                   TRY(df.String("PathInContainer", d.path_in_container));
                   TRY(df.String("CgroupPermissions", d.cgroup_permissions));
                   return {};
                 }));
  TRY(f.StringList("DeviceCgroupRules", h.device_cgroup_rules));
  TRY(f.StringList("GroupAdd", h.group_add));
  TRY(f.String("IpcMode", h.ipc_mode));
  TRY(f.String("PidMode", h.pid_mode));
  TRY(f.String("UTSMode", h.uts_mode));
  TRY(f.String("UsernsMode", h.userns_mode));
  TRY(f.String("CgroupnsMode", h.cgroupns_mode));
  TRY(f.String("CgroupParent", h.cgroup_parent));
  TRY(f.StringList("ExtraHosts", h.extra_hosts));
  TRY(f.StringList("Dns", h.dns));
  TRY(f.StringList("DnsOptions", h.dns_options));
  TRY(f.StringList("DnsSearch", h.dns_search));
  TRY(f.StringList("VolumesFrom", h.volumes_from));
  TRY(f.StringList("Links", h.links));
  if (const json* lc = TRY(f.Object("LogConfig", "container.LogConfig"))) {
    Fields lf(*lc, "HostConfig.HostConfig.LogConfig");
    TRY(lf.String("Type", h.log_config.type));
    TRY(lf.StringMap("Config", h.log_config.config));
  }
  return {};
}

Status ParseNetworking(const json& j, std::map<std::string, EndpointConfig>& out) {
  Fields f(j, "NetworkingConfig");
  const json* eps = TRY(f.Object("EndpointsConfig", "map[string]*network.EndpointSettings"));
  if (!eps) return {};
  for (auto it = eps->begin(); it != eps->end(); ++it) {
    EndpointConfig& ep = out[it.key()];
    if (it->is_null()) continue;
    if (!it->is_object())
      return Fail(f.TypeError("EndpointsConfig", *it, "network.EndpointSettings"));
    Fields ef(*it, "NetworkingConfig.EndpointsConfig");
    TRY(ef.StringList("Aliases", ep.aliases));
    TRY(ef.StringList("Links", ep.links));
    TRY(ef.String("MacAddress", ep.mac_address));
    if (const json* ipam = TRY(ef.Object("IPAMConfig", "network.EndpointIPAMConfig"))) {
      Fields inf(*ipam, "NetworkingConfig.EndpointsConfig.IPAMConfig");
      TRY(inf.String("IPv4Address", ep.ipv4_address));
      TRY(inf.String("IPv6Address", ep.ipv6_address));
    }
  }
  return {};
}

bool IsAbs(std::string_view p) { return !p.empty() && p[0] == '/'; }

const std::set<std::string, std::less<>>& PropagationModes() {
  static const std::set<std::string, std::less<>> kModes = {"private", "rprivate", "shared",
                                                            "rshared", "slave",    "rslave"};
  return kModes;
}

Error MountConfigError(std::string_view type, std::string_view what) {
  return Error::InvalidArgument(
      fmt::format("invalid mount config for type \"{}\": {}", type, what));
}

}  // namespace

namespace internal {

// The clean form of an absolute path: no "//", "/./", trailing "/" (Go's filepath.Clean for the
// cases clients send).
std::string CleanPath(std::string_view p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

Status ValidateMountRequest(const MountRequest& m) {
  const std::string& t = m.type;
  if (m.target.empty()) return Fail(MountConfigError(t, "field Target must not be empty"));
  if (!IsAbs(m.target))
    return Fail(MountConfigError(
        t, fmt::format("invalid mount path: '{}' mount path must be absolute", m.target)));
  if (CleanPath(m.target) == "/")
    return Fail(MountConfigError(t, "invalid specification: destination can't be '/'"));
  if (t == "bind") {
    if (m.source.empty()) return Fail(MountConfigError(t, "field Source must not be empty"));
    if (!IsAbs(m.source))
      return Fail(MountConfigError(
          t, fmt::format("invalid mount path: '{}' mount path must be absolute", m.source)));
    if (m.has_volume_options)
      return Fail(MountConfigError(t, "field VolumeOptions must not be specified"));
    if (m.has_tmpfs_options)
      return Fail(MountConfigError(t, "field TmpfsOptions must not be specified"));
    if (!m.bind_propagation.empty() && !PropagationModes().count(m.bind_propagation))
      return Fail(
          MountConfigError(t, fmt::format("invalid propagation mode: {}", m.bind_propagation)));
  } else if (t == "volume") {
    if (m.has_bind_options)
      return Fail(MountConfigError(t, "field BindOptions must not be specified"));
    if (m.has_tmpfs_options)
      return Fail(MountConfigError(t, "field TmpfsOptions must not be specified"));
    if (!m.source.empty() && m.source.find('/') != std::string::npos)
      return Fail(MountConfigError(
          t,
          fmt::format("invalid volume name \"{}\": a volume name may not contain '/'", m.source)));
  } else if (t == "tmpfs") {
    if (!m.source.empty()) return Fail(MountConfigError(t, "field Source must not be specified"));
    if (m.has_bind_options)
      return Fail(MountConfigError(t, "field BindOptions must not be specified"));
    if (m.has_volume_options)
      return Fail(MountConfigError(t, "field VolumeOptions must not be specified"));
    if (m.tmpfs_size_bytes && *m.tmpfs_size_bytes < 0)
      return Fail(MountConfigError(t, "invalid tmpfs size: must not be negative"));
  } else {
    return Fail(MountConfigError(t, "mount type unknown"));
  }
  return {};
}

}  // namespace internal

using internal::CleanPath;
using internal::ValidateMountRequest;

Result<CreateRequest> ParseCreateRequest(std::string_view json_text) {
  CreateRequest req;
  if (json_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return req;
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    return Fail(Error::InvalidArgument(fmt::format("invalid JSON: {}", e.what())));
  }
  if (doc.is_null()) return req;
  if (!doc.is_object())
    return Fail(Error::InvalidArgument(fmt::format(
        "json: cannot unmarshal {} into Go value of type container.CreateRequest", GoKind(doc))));
  // Config's fields sit at the top level of the body (Go embeds container.Config).
  TRY(ParseConfig(doc, req.config));
  Fields top(doc, "CreateRequest");
  if (const json* hc = TRY(top.Object("HostConfig", "container.HostConfig")))
    TRY(ParseHostConfig(*hc, req.host_config));
  if (const json* nc = TRY(top.Object("NetworkingConfig", "network.NetworkingConfig")))
    TRY(ParseNetworking(*nc, req.endpoints));
  return req;
}

Result<BindSpec> ParseBind(std::string_view bind) {
  auto invalid = [&] {
    return Fail(Error::InvalidArgument(fmt::format("invalid volume specification: '{}'", bind)));
  };
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = bind.find(':', start);
    parts.emplace_back(bind.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return invalid();
  BindSpec b;
  b.source = parts[0];
  b.destination = parts[1];
  if (b.source.empty() || b.destination.empty()) return invalid();
  if (!IsAbs(b.destination))
    return Fail(Error::InvalidArgument(fmt::format(
        "invalid volume specification: '{}': invalid mount config for type \"{}\": invalid mount "
        "path: '{}' mount path must be absolute",
        bind, IsAbs(b.source) ? "bind" : "volume", b.destination)));
  if (CleanPath(b.destination) == "/")
    return Fail(Error::InvalidArgument("invalid specification: destination can't be '/'"));
  b.named_volume = !IsAbs(b.source);
  if (b.named_volume && b.source.find('/') != std::string::npos) return invalid();
  if (parts.size() == 3) {
    bool rw_seen = false, label_seen = false, prop_seen = false, consistency_seen = false;
    std::string_view modes = parts[2];
    size_t i = 0;
    auto bad_mode = [&] {
      return Fail(Error::InvalidArgument(fmt::format("invalid mode: {}", parts[2])));
    };
    while (i <= modes.size()) {
      size_t comma = modes.find(',', i);
      if (comma == std::string_view::npos) comma = modes.size();
      std::string_view m = modes.substr(i, comma - i);
      i = comma + 1;
      if (m == "ro" || m == "rw") {
        if (rw_seen) return bad_mode();
        rw_seen = true;
        b.read_only = m == "ro";
      } else if (m == "z" || m == "Z") {
        if (label_seen) return bad_mode();
        label_seen = true;  // SELinux relabel: nothing to do without SELinux
      } else if (PropagationModes().count(m)) {
        if (prop_seen || b.named_volume) return bad_mode();
        prop_seen = true;
        b.propagation = std::string(m);
      } else if (m == "nocopy") {
        if (!b.named_volume || b.nocopy) return bad_mode();
        b.nocopy = true;
      } else if (m == "consistent" || m == "cached" || m == "delegated") {
        if (consistency_seen) return bad_mode();
        consistency_seen = true;
      } else {
        return bad_mode();
      }
    }
  }
  b.destination = CleanPath(b.destination);
  return b;
}

std::vector<std::string> NamedVolumes(const CreateRequest& request) {
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& bind : request.host_config.binds) {
    auto b = ParseBind(bind);
    if (b && b->named_volume) add(b->source);
  }
  for (const auto& m : request.host_config.mounts)
    if (m.type == "volume") add(m.source);
  return out;
}

namespace {

const std::set<std::string, std::less<>>& UlimitNames() {
  static const std::set<std::string, std::less<>> kNames = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  return kNames;
}

constexpr int64_t kMinMemory = 6 * 1024 * 1024;

Status ValidateResources(const HostConfig& h) {
  auto fail = [](std::string m) { return Fail(Error::InvalidArgument(std::move(m))); };
  if (h.memory < 0) return fail("invalid memory limit: must not be negative");
  if (h.memory != 0 && h.memory < kMinMemory) return fail("Minimum memory limit allowed is 6MB");
  if (h.memory > 0 && h.memory_swap > 0 && h.memory_swap < h.memory)
    return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (h.memory == 0 && h.memory_swap > 0)
    return fail("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (h.memory_swappiness && *h.memory_swappiness != -1 &&
      (*h.memory_swappiness < 0 || *h.memory_swappiness > 100))
    return fail(fmt::format("Invalid value: {}, valid memory swappiness range is 0-100",
                            *h.memory_swappiness));
  if (h.memory_reservation > 0 && h.memory_reservation < kMinMemory)
    return fail("Minimum memory reservation allowed is 6MB");
  if (h.memory > 0 && h.memory_reservation > 0 && h.memory < h.memory_reservation)
    return fail("Minimum memory limit can not be less than memory reservation limit, see usage");
  if (h.nano_cpus > 0 && h.cpu_period > 0)
    return fail("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (h.nano_cpus > 0 && h.cpu_quota > 0)
    return fail("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (h.nano_cpus < 0) return fail("Range of CPUs is from 0.01 to the number of CPUs available");
  if (h.cpu_shares < 0) return fail("Invalid CPU shares: must not be negative");
  if (h.cpu_period != 0 && (h.cpu_period < 1000 || h.cpu_period > 1000000))
    return fail(
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (h.cpu_quota > 0 && h.cpu_quota < 1000)
    return fail("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (h.blkio_weight > 0 && (h.blkio_weight < 10 || h.blkio_weight > 1000))
    return fail("Range of blkio weight is from 10 to 1000");
  for (const auto& d : h.blkio_weight_device)
    if (d.weight < 10 || d.weight > 1000) return fail("Range of blkio weight is from 10 to 1000");
  if (h.oom_score_adj < -1000 || h.oom_score_adj > 1000)
    return fail(
        fmt::format("Invalid value {}, range for oom score adj is [-1000, 1000]", h.oom_score_adj));
  if (h.shm_size < 0) return fail("SHM size can not be less than 0");
  for (const auto& u : h.ulimits) {
    if (!UlimitNames().count(u.name)) return fail(fmt::format("invalid ulimit type: {}", u.name));
    // -1 is unlimited on either side.
    if (u.hard != -1 && (u.soft == -1 || u.soft > u.hard))
      return fail(fmt::format("ulimit soft limit must be less than or equal to hard limit: {} > {}",
                              u.soft, u.hard));
  }
  return {};
}

Status ValidateRestart(const HostConfig& h) {
  const RestartPolicy& p = h.restart_policy;
  auto fail = [](std::string m) { return Fail(Error::InvalidArgument(std::move(m))); };
  if (p.name == "always" || p.name == "unless-stopped" || p.name == "no") {
    if (p.maximum_retry_count != 0) {
      std::string msg =
          "invalid restart policy: maximum retry count can only be used with 'on-failure'";
      if (p.maximum_retry_count < 0) msg += " and cannot be negative";
      return fail(msg);
    }
  } else if (p.name == "on-failure") {
    if (p.maximum_retry_count < 0)
      return fail("invalid restart policy: maximum retry count cannot be negative");
  } else if (!p.name.empty()) {
    return fail(fmt::format(
        "invalid restart policy: unknown policy '{}'; use one of 'no', 'always', 'on-failure', "
        "or 'unless-stopped'",
        p.name));
  }
  if (h.auto_remove && !p.name.empty() && p.name != "no")
    return fail("Conflicting options: --restart and --rm");
  return {};
}

Status ValidateModes(const HostConfig& h) {
  auto fail = [](std::string m) { return Fail(Error::InvalidArgument(std::move(m))); };
  auto container_ref = [](const std::string& m) {
    return m.rfind("container:", 0) == 0 && m.size() > 10;
  };
  const std::string& ipc = h.ipc_mode;
  if (!(ipc.empty() || ipc == "none" || ipc == "private" || ipc == "shareable" || ipc == "host" ||
        container_ref(ipc)))
    return fail(fmt::format("invalid IPC mode: {}", ipc));
  if (!(h.pid_mode.empty() || h.pid_mode == "host" || container_ref(h.pid_mode)))
    return fail(fmt::format("invalid PID mode: {}", h.pid_mode));
  if (!(h.uts_mode.empty() || h.uts_mode == "host"))
    return fail(fmt::format("invalid UTS mode: {}", h.uts_mode));
  if (!(h.userns_mode.empty() || h.userns_mode == "host"))
    return fail(fmt::format("invalid USER mode: {}", h.userns_mode));
  if (!(h.cgroupns_mode.empty() || h.cgroupns_mode == "host" || h.cgroupns_mode == "private"))
    return fail(fmt::format("invalid cgroup namespace mode: {}", h.cgroupns_mode));
  return {};
}

}  // namespace

Status ValidateCreateRequest(const CreateRequest& request) {
  const HostConfig& h = request.host_config;
  TRY(ValidateRestart(h));
  TRY(ValidateResources(h));
  TRY(ValidateModes(h));
  std::set<std::string> destinations;
  auto add_destination = [&](const std::string& d) -> Status {
    if (!destinations.insert(CleanPath(d)).second)
      return Fail(Error::InvalidArgument(fmt::format("Duplicate mount point: {}", CleanPath(d))));
    return {};
  };
  for (const auto& bind : h.binds) {
    BindSpec b = TRY(ParseBind(bind));
    TRY(add_destination(b.destination));
  }
  for (const auto& m : h.mounts) {
    TRY(ValidateMountRequest(m));
    TRY(add_destination(m.target));
  }
  for (const auto& [dst, opts] : h.tmpfs) {
    if (!IsAbs(dst))
      return Fail(Error::InvalidArgument(
          fmt::format("invalid mount config for type \"tmpfs\": invalid mount path: '{}' mount "
                      "path must be absolute",
                      dst)));
    TRY(add_destination(dst));
  }
  static const std::regex kRule(R"(^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$)");
  for (const auto& rule : h.device_cgroup_rules)
    if (!std::regex_match(rule, kRule))
      return Fail(Error::InvalidArgument(fmt::format("invalid device cgroup format '{}'", rule)));
  if (!request.config.working_dir.empty() && !IsAbs(request.config.working_dir))
    return Fail(Error::InvalidArgument(
        fmt::format("the working directory '{}' is invalid, it needs to be an absolute path",
                    request.config.working_dir)));
  return {};
}

}  // namespace berth::daemon::spec
