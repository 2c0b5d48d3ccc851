// Handlers of the system routes.
#include "daemon/system_routes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/build_info.h"
#include "api/version.h"
#include "base/strings.h"
#include "base/time.h"
#include "sys/file.h"
#include "sys/process.h"

namespace berth::daemon {

inline constexpr std::string_view kNetworkWarning =
    "WARNING: networking is not implemented yet: containers get --network none or host";

bool IsCidr(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  std::string ip(s.substr(0, slash));
  auto bits = base::ParseUint(s.substr(slash + 1));
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return bits && *bits <= 32;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return bits && *bits <= 128;
  return false;
}

namespace {

constexpr std::string_view kInitName = "berth-init";

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string SearchPath(std::string_view name) {
  const char* env = getenv("PATH");
  std::string_view dirs =
      env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& dir : base::Split(dirs, ':')) {
    if (dir.empty()) continue;
    std::string candidate = fmt::format("{}/{}", dir, name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return "";
}

// The first line `init --version` prints; "" when it cannot be run.
std::string InitVersionLine(const std::string& init) {
  auto run = sys::RunCapture({init, "--version"});
  if (!run) return "";
  return run->out.substr(0, run->out.find('\n'));
}

}  // namespace

std::string FindInitBinary(const std::string& configured) {
  if (!configured.empty())
    return configured.find('/') == std::string::npos ? SearchPath(configured) : configured;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    std::string exe(buf, size_t(n));
    std::string next_to_us = fmt::format("{}{}", exe.substr(0, exe.rfind('/') + 1), kInitName);
    if (IsExecutableFile(next_to_us)) return next_to_us;
  }
  return SearchPath(kInitName);
}

std::string ParseInitCommit(std::string_view line) {
  size_t dash = line.find(" - ");
  if (dash == std::string_view::npos) return "";
  std::string_view git = base::Trim(line.substr(dash + 3));
  if (!base::StartsWith(git, "git.")) return "";
  git.remove_prefix(4);
  if (git.empty() || git.find_first_of(". ") != std::string_view::npos) return "";
  return std::string(git);
}

api::SystemVersion MakeSystemVersion(const HostFacts& host) {
  const api::BuildInfo& b = api::GetBuildInfo();
  api::SystemVersion v;
  v.platform_name = "Berth Engine";
  v.version = std::string(b.version);
  v.api_version = std::string(api::kApiVersion);
  v.min_api_version = std::string(api::kMinApiVersion);
  v.git_commit = std::string(b.git_commit);
  v.go_version = std::string(b.compiler);
  v.os = "linux";
  v.arch = api::GoArch(host.machine);
  v.kernel_version = host.kernel_version;
  v.build_time = std::string(b.build_time);
  v.components.push_back({"Engine",
                          v.version,
                          {{"ApiVersion", v.api_version},
                           {"Arch", v.arch},
                           {"BuildTime", v.build_time},
                           {"Experimental", "false"},
                           {"GitCommit", v.git_commit},
                           {"GoVersion", v.go_version},
                           {"KernelVersion", v.kernel_version},
                           {"MinAPIVersion", v.min_api_version},
                           {"Os", v.os}}});
  return v;
}

api::SystemInfo MakeSystemInfo(const EngineContext& engine) {
  const HostFacts& h = engine.host;
  api::SystemInfo info;
  info.id = engine.engine_id;
  // Containers are not served yet: their counts stay 0 until that store is wired.
  if (engine.images != nullptr) {
    if (auto list = engine.images->meta->ListImages()) info.images = int64_t(list->size());
  }
  info.driver = "overlayfs";
  info.driver_status = {{"Backing Filesystem", BackingFilesystem(engine.config.data_root)}};
  info.docker_root_dir = engine.config.data_root;
  info.memory_limit = true;
  info.swap_limit = true;
  info.cpu_cfs_period = true;
  info.cpu_cfs_quota = true;
  info.cpu_shares = true;
  info.cpu_set = true;
  info.pids_limit = true;
  info.debug = engine.config.log_level == "debug";
  info.system_time = base::NowRfc3339Nano();
  info.logging_driver = "json-file";
  info.cgroup_driver = "cgroupfs";
  info.cgroup_version = h.cgroup_version;
  info.kernel_version = h.kernel_version;
  info.operating_system = h.os_pretty_name;
  info.os_version = h.os_version_id;
  info.os_type = "linux";
  info.architecture = h.machine;
  info.ncpu = h.ncpu;
  info.mem_total = h.mem_total;
  info.index_server_address = "https://index.docker.io/v1/";
  // dockerd always treats loopback registries as insecure.
  info.insecure_registry_cidrs = {"127.0.0.0/8"};
  info.registry_mirrors = engine.config.registry_mirrors;
  info.index_configs.push_back({"docker.io", engine.config.registry_mirrors, true, true});
  for (const std::string& r : engine.config.insecure_registries) {
    if (IsCidr(r))
      info.insecure_registry_cidrs.push_back(r);
    else
      info.index_configs.push_back({r, {}, false, false});
  }
  info.name = h.hostname;
  info.server_version = std::string(api::GetBuildInfo().version);
  info.runtimes = {"runc"};
  info.default_runtime = "runc";
  // dockerd shows the configured init-path, or the name it looks up ("docker-init").
  info.init_binary =
      engine.config.init_path.empty() ? std::string(kInitName) : engine.config.init_path;
  if (std::string init = FindInitBinary(engine.config.init_path); !init.empty())
    info.init_commit_id = ParseInitCommit(InitVersionLine(init));
  // berth-init is built from the same tree as berthd.
  info.init_commit_expected = std::string(api::GetBuildInfo().git_commit);
  info.security_options = {"name=seccomp,profile=default"};
  if (h.cgroup_version == "2") info.security_options.push_back("name=cgroupns");
  info.warnings = {std::string(kNetworkWarning)};
  return info;
}

void AddSystemRoutes(Router& router, const EngineContext* engine) {
  auto ping = [](Request&) -> base::Result<Response> {
    Response r = Response::Text(200, "OK");
    r.headers.emplace_back("Cache-Control", "no-cache, no-store, must-revalidate");
    r.headers.emplace_back("Pragma", "no-cache");
    // No Builder-Version: "2" would turn BuildKit on in the 20.10 CLI (see the reference doc).
    return r;
  };
  router.Add("GET", "/_ping", ping);
  router.Add("HEAD", "/_ping", ping);
  router.Add("GET", "/version", [engine](Request&) -> base::Result<Response> {
    return Response::Json(200, api::EncodeJson(MakeSystemVersion(engine->host)));
  });
  router.Add("GET", "/info", [engine](Request&) -> base::Result<Response> {
    return Response::Json(200, api::EncodeJson(MakeSystemInfo(*engine)));
  });
}

}  // namespace berth::daemon
