// berth's top level: global flags, daemon address, dispatch to the commands.
#include "cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "api/build_info.h"

namespace berth::cli {

int ReportDaemonError(const client::Client& client, const base::Error& error, std::FILE* err) {
  if (error.code() == base::ErrorCode::kUnavailable) {
    std::fprintf(err, "Cannot connect to the berth daemon at unix://%s. Is the daemon running?\n",
                 client.socket_path().c_str());
  } else {
    std::fprintf(err, "Error response from daemon: %s\n", error.message().c_str());
  }
  return kExitDaemonError;
}

int Main(int argc, char** argv) {
  CLI::App app{"berth: a container engine that speaks the Docker Engine API", "berth"};
  app.require_subcommand(1);
  std::string host;
  app.add_option("-H,--host", host,
                 "Daemon socket (unix:///PATH); default $BERTH_HOST, "
                 "$DOCKER_HOST, unix:///run/berth/berth.sock");
  app.set_version_flag("-v,--version",
                       fmt::format("berth version {}, build {}", api::GetBuildInfo().version,
                                   api::GetBuildInfo().git_commit));
  auto* version = app.add_subcommand("version", "Show the berth version information");
  auto* info = app.add_subcommand("info", "Display system-wide information");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Docker exits 125 on usage errors too; --help is not one.
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitDaemonError;
  }
  auto path = client::ResolveHost(host);
  if (!path) {
    std::fprintf(stderr, "%s\n", path.error().message().c_str());
    return kExitDaemonError;
  }
  client::Client client(*path);
  if (*version) return RunVersion(client, stdout, stderr);
  if (*info) return RunInfo(client, stdout, stderr);
  return kExitDaemonError;
}

}  // namespace berth::cli
