// `berth version` and `berth info`, laid out as the docker CLI prints them.
#include "api/system.h"

#include <fmt/format.h>

#include "api/build_info.h"
#include "api/version.h"
#include "cli/cli.h"

namespace berth::cli {
namespace {

void Line(std::FILE* out, std::string_view indent, std::string_view key, std::string_view value) {
  // Values start at column 20 in both sections, as in docker's output.
  fmt::print(out, "{}{:<{}}{}\n", indent, std::string(key) + ":", 20 - indent.size(), value);
}

// Docker's units.BytesSize: four significant digits, binary units.
std::string BytesSize(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t i = 0;
  while (bytes >= 1024 && i + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++i;
  }
  return fmt::format("{:.4g}{}", bytes, kUnits[i]);
}

}  // namespace

int RunVersion(client::Client& client, std::FILE* out, std::FILE* err) {
  const api::BuildInfo& b = api::GetBuildInfo();
  fmt::print(out, "Client:\n");
  Line(out, " ", "Version", b.version);
  Line(out, " ", "API version", api::kApiVersion);
  Line(out, " ", "Go version", b.compiler);
  Line(out, " ", "Git commit", b.git_commit);
  Line(out, " ", "Built", b.build_time);
  Line(out, " ", "OS/Arch", "linux/" + api::GoArch(BERTH_CLIENT_MACHINE));
  std::fflush(out);

  auto body = client.GetJson("/v" + std::string(api::kApiVersion) + "/version");
  if (!body) return ReportDaemonError(client, body.error(), err);
  auto v = api::DecodeSystemVersion(*body);
  if (!v) return ReportDaemonError(client, v.error(), err);
  fmt::print(out, "\nServer: {}\n", v->platform_name);
  for (const api::ComponentVersion& c : v->components) {
    fmt::print(out, " {}:\n", c.name);
    auto detail = [&](const char* k) {
      auto it = c.details.find(k);
      return it == c.details.end() ? std::string() : it->second;
    };
    Line(out, "  ", "Version", c.version);
    if (c.name == "Engine") {
      Line(out, "  ", "API version",
           fmt::format("{} (minimum version {})", detail("ApiVersion"), detail("MinAPIVersion")));
      Line(out, "  ", "Go version", detail("GoVersion"));
      Line(out, "  ", "Git commit", detail("GitCommit"));
      Line(out, "  ", "Built", detail("BuildTime"));
      Line(out, "  ", "OS/Arch", detail("Os") + "/" + detail("Arch"));
      Line(out, "  ", "Experimental", detail("Experimental"));
    } else {
      Line(out, "  ", "GitCommit", detail("GitCommit"));
    }
  }
  return 0;
}

int RunInfo(client::Client& client, std::FILE* out, std::FILE* err) {
  fmt::print(out, "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\n",
             api::GetBuildInfo().version);
  std::fflush(out);
  auto body = client.GetJson("/v" + std::string(api::kApiVersion) + "/info");
  if (!body) return ReportDaemonError(client, body.error(), err);
  auto i = api::DecodeSystemInfo(*body);
  if (!i) return ReportDaemonError(client, i.error(), err);
  fmt::print(out, "Server:\n");
  fmt::print(out, " Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n", i->containers,
             i->containers_running, i->containers_paused, i->containers_stopped);
  fmt::print(out, " Images: {}\n", i->images);
  fmt::print(out, " Server Version: {}\n", i->server_version);
  fmt::print(out, " Storage Driver: {}\n", i->driver);
  for (const auto& [k, v] : i->driver_status) fmt::print(out, "  {}: {}\n", k, v);
  fmt::print(out, " Logging Driver: {}\n", i->logging_driver);
  fmt::print(out, " Cgroup Driver: {}\n", i->cgroup_driver);
  fmt::print(out, " Cgroup Version: {}\n", i->cgroup_version);
  if (!i->runtimes.empty()) {
    fmt::print(out, " Runtimes:");
    for (const auto& r : i->runtimes) fmt::print(out, " {}", r);
    fmt::print(out, "\n");
  }
  fmt::print(out, " Default Runtime: {}\n", i->default_runtime);
  if (!i->security_options.empty()) {
    fmt::print(out, " Security Options:\n");
    for (const auto& s : i->security_options) fmt::print(out, "  {}\n", s);
  }
  fmt::print(out, " Kernel Version: {}\n", i->kernel_version);
  fmt::print(out, " Operating System: {}\n", i->operating_system);
  fmt::print(out, " OSType: {}\n", i->os_type);
  fmt::print(out, " Architecture: {}\n", i->architecture);
  fmt::print(out, " CPUs: {}\n", i->ncpu);
  fmt::print(out, " Total Memory: {}\n", BytesSize(static_cast<double>(i->mem_total)));
  fmt::print(out, " Name: {}\n", i->name);
  fmt::print(out, " ID: {}\n", i->id);
  fmt::print(out, " Berth Root Dir: {}\n", i->docker_root_dir);
  fmt::print(out, " Debug Mode: {}\n", i->debug);
  std::vector<std::string> insecure;
  for (const auto& ic : i->index_configs)
    if (!ic.secure) insecure.push_back(ic.name);
  insecure.insert(insecure.end(), i->insecure_registry_cidrs.begin(),
                  i->insecure_registry_cidrs.end());
  if (!insecure.empty()) {
    fmt::print(out, " Insecure Registries:\n");
    for (const auto& r : insecure) fmt::print(out, "  {}\n", r);
  }
  if (!i->registry_mirrors.empty()) {
    fmt::print(out, " Registry Mirrors:\n");
    for (const auto& r : i->registry_mirrors) fmt::print(out, "  {}\n", r);
  }
  fmt::print(out, " Live Restore Enabled: {}\n", i->live_restore_enabled);
  std::fflush(out);
  // Docker prints the daemon's warnings on stderr, after a blank line.
  if (!i->warnings.empty()) fmt::print(err, "\n");
  for (const auto& w : i->warnings) fmt::print(err, "{}\n", w);
  return 0;
}

}  // namespace berth::cli
