// JSON mapping of the system endpoints' wire types.
#include "api/system.h"

#include <nlohmann/json.hpp>

namespace berth::api {
namespace {

using nlohmann::json;

// Leaves `out` untouched when the key is missing or null, as Go's decoder does.
template <typename T>
void Get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) it->get_to(out);
}

template <typename T>
base::Result<T> Decode(std::string_view body, const char* what) {
  try {
    json j = json::parse(body);
    if (!j.is_object())
      return base::Fail(
          base::Error::InvalidArgument(std::string("decode ") + what + ": not a JSON object"));
    return j.get<T>();
  } catch (const json::exception& e) {
    return base::Fail(
        base::Error::InvalidArgument(std::string("decode ") + what + ": " + e.what()));
  }
}

}  // namespace

void to_json(json& j, const ComponentVersion& v) {
  j = json{{"Name", v.name}, {"Version", v.version}, {"Details", v.details}};
}

void from_json(const json& j, ComponentVersion& v) {
  Get(j, "Name", v.name);
  Get(j, "Version", v.version);
  auto it = j.find("Details");
  if (it != j.end() && it->is_object()) {
    // Details is map[string]any in Go; keep the string values, print the rest as JSON.
    for (const auto& [k, val] : it->items())
      v.details[k] = val.is_string() ? val.get<std::string>() : val.dump();
  }
}

void to_json(json& j, const IndexInfo& v) {
  j = json{
      {"Name", v.name}, {"Mirrors", v.mirrors}, {"Secure", v.secure}, {"Official", v.official}};
}

void from_json(const json& j, IndexInfo& v) {
  Get(j, "Name", v.name);
  Get(j, "Mirrors", v.mirrors);
  Get(j, "Secure", v.secure);
  Get(j, "Official", v.official);
}

void to_json(json& j, const SystemVersion& v) {
  j = json{{"Platform", {{"Name", v.platform_name}}},
           {"Components", v.components},
           {"Version", v.version},
           {"ApiVersion", v.api_version},
           {"MinAPIVersion", v.min_api_version},
           {"GitCommit", v.git_commit},
           {"GoVersion", v.go_version},
           {"Os", v.os},
           {"Arch", v.arch},
           {"KernelVersion", v.kernel_version},
           {"BuildTime", v.build_time}};
  // dockerd omits Experimental when false (omitempty).
  if (v.experimental) j["Experimental"] = true;
}

void from_json(const json& j, SystemVersion& v) {
  auto p = j.find("Platform");
  if (p != j.end() && p->is_object()) Get(*p, "Name", v.platform_name);
  Get(j, "Components", v.components);
  Get(j, "Version", v.version);
  Get(j, "ApiVersion", v.api_version);
  Get(j, "MinAPIVersion", v.min_api_version);
  Get(j, "GitCommit", v.git_commit);
  Get(j, "GoVersion", v.go_version);
  Get(j, "Os", v.os);
  Get(j, "Arch", v.arch);
  Get(j, "KernelVersion", v.kernel_version);
  Get(j, "Experimental", v.experimental);
  Get(j, "BuildTime", v.build_time);
}

void to_json(json& j, const SystemInfo& v) {
  json driver_status = json::array();
  for (const auto& [k, val] : v.driver_status) driver_status.push_back({k, val});
  json runtimes = json::object();
  for (const auto& r : v.runtimes) runtimes[r] = {{"path", r}};
  json index_configs = json::object();
  for (const IndexInfo& ic : v.index_configs) index_configs[ic.name] = ic;
  j = json{
      {"ID", v.id},
      {"Containers", v.containers},
      {"ContainersRunning", v.containers_running},
      {"ContainersPaused", v.containers_paused},
      {"ContainersStopped", v.containers_stopped},
      {"Images", v.images},
      {"Driver", v.driver},
      {"DriverStatus", driver_status},
      {"DockerRootDir", v.docker_root_dir},
      {"Plugins",
       {{"Volume", {"local"}},
        {"Network", {"host", "null"}},
        {"Authorization", nullptr},
        {"Log", {"json-file"}}}},
      {"MemoryLimit", v.memory_limit},
      {"SwapLimit", v.swap_limit},
      {"CpuCfsPeriod", v.cpu_cfs_period},
      {"CpuCfsQuota", v.cpu_cfs_quota},
      {"CPUShares", v.cpu_shares},
      {"CPUSet", v.cpu_set},
      {"PidsLimit", v.pids_limit},
      {"OomKillDisable", v.oom_kill_disable},
      {"IPv4Forwarding", v.ipv4_forwarding},
      {"BridgeNfIptables", false},
      {"BridgeNfIp6tables", false},
      {"Debug", v.debug},
      {"NFd", 0},
      {"NGoroutines", 0},
      {"SystemTime", v.system_time},
      {"LoggingDriver", v.logging_driver},
      {"CgroupDriver", v.cgroup_driver},
      {"CgroupVersion", v.cgroup_version},
      {"NEventsListener", 0},
      {"KernelVersion", v.kernel_version},
      {"OperatingSystem", v.operating_system},
      {"OSVersion", v.os_version},
      {"OSType", v.os_type},
      {"Architecture", v.architecture},
      {"IndexServerAddress", v.index_server_address},
      {"RegistryConfig",
       {{"AllowNondistributableArtifactsCIDRs", json::array()},
        {"AllowNondistributableArtifactsHostnames", json::array()},
        {"InsecureRegistryCIDRs", v.insecure_registry_cidrs},
        {"IndexConfigs", index_configs},
        {"Mirrors", v.registry_mirrors}}},
      {"NCPU", v.ncpu},
      {"MemTotal", v.mem_total},
      {"GenericResources", nullptr},
      {"HttpProxy", ""},
      {"HttpsProxy", ""},
      {"NoProxy", ""},
      {"Name", v.name},
      {"Labels", v.labels},
      {"ExperimentalBuild", v.experimental_build},
      {"ServerVersion", v.server_version},
      {"Runtimes", runtimes},
      {"DefaultRuntime", v.default_runtime},
      // The CLI reads Swarm.LocalNodeState unconditionally.
      {"Swarm",
       {{"NodeID", ""},
        {"NodeAddr", ""},
        {"LocalNodeState", "inactive"},
        {"ControlAvailable", false},
        {"Error", ""},
        {"RemoteManagers", nullptr}}},
      {"LiveRestoreEnabled", v.live_restore_enabled},
      {"Isolation", ""},
      {"InitBinary", v.init_binary},
      {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
      {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
      {"InitCommit", {{"ID", v.init_commit_id}, {"Expected", v.init_commit_expected}}},
      {"SecurityOptions", v.security_options},
      {"Warnings", v.warnings},
  };
}

void from_json(const json& j, SystemInfo& v) {
  Get(j, "ID", v.id);
  Get(j, "Containers", v.containers);
  Get(j, "ContainersRunning", v.containers_running);
  Get(j, "ContainersPaused", v.containers_paused);
  Get(j, "ContainersStopped", v.containers_stopped);
  Get(j, "Images", v.images);
  Get(j, "Driver", v.driver);
  auto ds = j.find("DriverStatus");
  if (ds != j.end() && ds->is_array()) {
    for (const auto& pair : *ds) {
      if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string())
        v.driver_status.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  Get(j, "DockerRootDir", v.docker_root_dir);
  Get(j, "MemoryLimit", v.memory_limit);
  Get(j, "SwapLimit", v.swap_limit);
  Get(j, "CpuCfsPeriod", v.cpu_cfs_period);
  Get(j, "CpuCfsQuota", v.cpu_cfs_quota);
  Get(j, "CPUShares", v.cpu_shares);
  Get(j, "CPUSet", v.cpu_set);
  Get(j, "PidsLimit", v.pids_limit);
  Get(j, "OomKillDisable", v.oom_kill_disable);
  Get(j, "IPv4Forwarding", v.ipv4_forwarding);
  Get(j, "Debug", v.debug);
  Get(j, "SystemTime", v.system_time);
  Get(j, "LoggingDriver", v.logging_driver);
  Get(j, "CgroupDriver", v.cgroup_driver);
  Get(j, "CgroupVersion", v.cgroup_version);
  Get(j, "KernelVersion", v.kernel_version);
  Get(j, "OperatingSystem", v.operating_system);
  Get(j, "OSVersion", v.os_version);
  Get(j, "OSType", v.os_type);
  Get(j, "Architecture", v.architecture);
  Get(j, "NCPU", v.ncpu);
  Get(j, "MemTotal", v.mem_total);
  Get(j, "IndexServerAddress", v.index_server_address);
  auto rc = j.find("RegistryConfig");
  if (rc != j.end() && rc->is_object()) {
    Get(*rc, "InsecureRegistryCIDRs", v.insecure_registry_cidrs);
    Get(*rc, "Mirrors", v.registry_mirrors);
    auto ic = rc->find("IndexConfigs");
    if (ic != rc->end() && ic->is_object()) {
      for (const auto& [k, val] : ic->items()) v.index_configs.push_back(val.get<IndexInfo>());
    }
  }
  Get(j, "Name", v.name);
  Get(j, "Labels", v.labels);
  Get(j, "ExperimentalBuild", v.experimental_build);
  Get(j, "ServerVersion", v.server_version);
  auto rt = j.find("Runtimes");
  if (rt != j.end() && rt->is_object()) {
    for (const auto& [k, val] : rt->items()) v.runtimes.push_back(k);
  }
  Get(j, "DefaultRuntime", v.default_runtime);
  Get(j, "LiveRestoreEnabled", v.live_restore_enabled);
  Get(j, "InitBinary", v.init_binary);
  if (auto it = j.find("InitCommit"); it != j.end() && it->is_object()) {
    Get(*it, "ID", v.init_commit_id);
    Get(*it, "Expected", v.init_commit_expected);
  }
  Get(j, "SecurityOptions", v.security_options);
  Get(j, "Warnings", v.warnings);
}

void to_json(json& j, const ErrorResponse& v) { j = json{{"message", v.message}}; }
void from_json(const json& j, ErrorResponse& v) { Get(j, "message", v.message); }

std::string EncodeJson(const SystemVersion& v) { return json(v).dump(); }
std::string EncodeJson(const SystemInfo& v) { return json(v).dump(); }
std::string EncodeJson(const ErrorResponse& v) { return json(v).dump(); }

base::Result<SystemVersion> DecodeSystemVersion(std::string_view body) {
  return Decode<SystemVersion>(body, "version");
}
base::Result<SystemInfo> DecodeSystemInfo(std::string_view body) {
  return Decode<SystemInfo>(body, "info");
}
base::Result<ErrorResponse> DecodeErrorResponse(std::string_view body) {
  return Decode<ErrorResponse>(body, "error response");
}

std::string GoArch(std::string_view machine) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"arm64", "arm64"},   {"armv7l", "arm"},
      {"armv6l", "arm"},   {"i386", "386"},        {"i686", "386"},      {"ppc64le", "ppc64le"},
      {"s390x", "s390x"},  {"riscv64", "riscv64"}, {"mips64", "mips64"}, {"loongarch64", "loong64"},
  };
  for (const auto& [m, go] : kNames)
    if (m == machine) return std::string(go);
  return std::string(machine);
}

}  // namespace berth::api
