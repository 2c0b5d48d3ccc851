// Engine API wire types for the system endpoints (GET /version, GET /info) and the error body
// every failed request carries, with their JSON mapping. Members are snake_case; the JSON keys
// are Docker's (ApiVersion, NCPU, ...). Decoding is lenient the way the Go client is: a missing
// key leaves the default, so older or newer servers still decode.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::api {

// One entry of Version.Components ("Engine", ...). Details are string-valued in practice.
struct ComponentVersion {
  std::string name;
  std::string version;
  std::map<std::string, std::string> details;
};

// GET /version.
struct SystemVersion {
  std::string platform_name;  // Platform.Name
  std::vector<ComponentVersion> components;
  std::string version;
  std::string api_version;
  std::string min_api_version;
  std::string git_commit;
  std::string go_version;  // the compiler, for lack of Go
  std::string os;
  std::string arch;  // a GOARCH name: amd64, arm64, ...
  std::string kernel_version;
  bool experimental = false;
  std::string build_time;
};

// RegistryConfig.IndexConfigs entry: one registry and how to reach it.
struct IndexInfo {
  std::string name;
  std::vector<std::string> mirrors;
  bool secure = true;
  bool official = false;
};

// GET /info: the fields the docker CLI prints; the rest print as empty on the client side.
struct SystemInfo {
  std::string id;
  int64_t containers = 0;
  int64_t containers_running = 0;
  int64_t containers_paused = 0;
  int64_t containers_stopped = 0;
  int64_t images = 0;
  std::string driver;
  std::vector<std::pair<std::string, std::string>> driver_status;
  std::string docker_root_dir;
  bool memory_limit = false;
  bool swap_limit = false;
  bool cpu_cfs_period = false;
  bool cpu_cfs_quota = false;
  bool cpu_shares = false;
  bool cpu_set = false;
  bool pids_limit = false;
  bool oom_kill_disable = false;
  bool ipv4_forwarding = false;
  bool debug = false;
  std::string system_time;  // RFC 3339 nanoseconds
  std::string logging_driver;
  std::string cgroup_driver;
  std::string cgroup_version;  // "1" or "2"
  std::string kernel_version;
  std::string operating_system;  // PRETTY_NAME from os-release
  std::string os_version;        // VERSION_ID from os-release
  std::string os_type;           // "linux"
  std::string architecture;      // uname -m
  int ncpu = 0;
  int64_t mem_total = 0;
  std::string index_server_address;
  // RegistryConfig: insecure registries given as CIDRs go in InsecureRegistryCIDRs (the Go CLI
  // refuses anything else there); named ones are IndexConfigs entries with secure = false.
  std::vector<std::string> insecure_registry_cidrs;
  std::vector<IndexInfo> index_configs;
  std::vector<std::string> registry_mirrors;  // RegistryConfig.Mirrors
  std::string name;                           // hostname
  std::vector<std::string> labels;
  bool experimental_build = false;
  std::string server_version;
  std::vector<std::string> runtimes;  // Runtimes keys
  std::string default_runtime;
  bool live_restore_enabled = false;
  std::string init_binary;
  // InitCommit: the commit the init binary reports (`INIT --version`), and the one expected.
  std::string init_commit_id, init_commit_expected;
  std::vector<std::string> security_options;
  std::vector<std::string> warnings;
};

// Body of every error response: {"message": "..."}.
struct ErrorResponse {
  std::string message;
};

void to_json(nlohmann::json& j, const ComponentVersion& v);
void from_json(const nlohmann::json& j, ComponentVersion& v);
void to_json(nlohmann::json& j, const IndexInfo& v);
void from_json(const nlohmann::json& j, IndexInfo& v);
void to_json(nlohmann::json& j, const SystemVersion& v);
void from_json(const nlohmann::json& j, SystemVersion& v);
void to_json(nlohmann::json& j, const SystemInfo& v);
void from_json(const nlohmann::json& j, SystemInfo& v);
void to_json(nlohmann::json& j, const ErrorResponse& v);
void from_json(const nlohmann::json& j, ErrorResponse& v);

// Serialisers for handlers and decoders for clients; decoding fails with kInvalidArgument on
// malformed JSON or a key of the wrong type.
std::string EncodeJson(const SystemVersion& v);
std::string EncodeJson(const SystemInfo& v);
std::string EncodeJson(const ErrorResponse& v);
base::Result<SystemVersion> DecodeSystemVersion(std::string_view body);
base::Result<SystemInfo> DecodeSystemInfo(std::string_view body);
base::Result<ErrorResponse> DecodeErrorResponse(std::string_view body);

// uname -m -> Go's GOARCH name (x86_64 -> amd64, aarch64 -> arm64, ...); unknown names pass
// through unchanged.
std::string GoArch(std::string_view machine);

}  // namespace berth::api
