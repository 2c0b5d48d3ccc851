// berth's top level: global flags, daemon address (and TLS, with docker's flags), dispatch to the
// commands.
#include "cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "api/build_info.h"
#include "cli/container.h"

namespace berth::cli {
namespace {

// Whether `token` (an option word) consumes the next argument as its value, for `app`'s options:
// "--name x" yes, "--name=x" no, "-it" no, "-u" yes, "-uroot" no.
bool TakesNextValue(const CLI::App& app, const std::string& token) {
  auto takes_value = [&](const std::string& name) {
    const CLI::Option* opt = app.get_option_no_throw(name);
    return opt != nullptr && opt->get_expected_min() > 0;
  };
  if (token.rfind("--", 0) == 0) return token.find('=') == std::string::npos && takes_value(token);
  for (size_t j = 1; j < token.size(); ++j) {
    if (takes_value(std::string("-") + token[j])) return j + 1 == token.size();
  }
  return false;
}

CLI::App* FindSubcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

// The first word of `args` that is neither an option of `app` nor an option's value: the
// command ("" when there is none).
std::string CommandWord(const CLI::App& app, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return i + 1 < args.size() ? args[i + 1] : "";
    if (a.size() > 1 && a[0] == '-') {
      if (TakesNextValue(app, a)) ++i;
      continue;
    }
    return a;
  }
  return "";
}

// docker's flag.SetInterspersed(false) for run/create/exec/top: everything after the first
// positional argument (the image or container) is the container's command, moved from `args`
// into `set.trailing` before CLI11 could take "-c" or "ps" for one of ours.
void SplitContainerCommand(CLI::App& app, std::vector<std::string>& args, CommandSet& set) {
  CLI::App* cur = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      if (set.split_after_first_positional.count(cur) && i + 1 < args.size()) {
        set.trailing.assign(args.begin() + long(i) + 2, args.end());
        args.resize(i + 2);
      }
      return;
    }
    if (a.size() > 1 && a[0] == '-') {
      if (TakesNextValue(*cur, a)) ++i;
      continue;
    }
    if (set.split_after_first_positional.count(cur)) {
      set.trailing.assign(args.begin() + long(i) + 1, args.end());
      args.resize(i + 1);
      return;
    }
    cur = FindSubcommand(*cur, a);
    if (!cur) return;
  }
}

}  // namespace

bool IsConnectError(const base::Error& error) {
  // client.cc's transport errors for a failed connect() read "connect: <reason> (<path>)".
  return error.code() == base::ErrorCode::kUnavailable &&
         error.message().rfind("connect: ", 0) == 0;
}

int ReportDaemonError(const client::Client& client, const base::Error& error, std::FILE* err) {
  if (IsConnectError(error)) {
    std::fprintf(err, "Cannot connect to the berth daemon at %s. Is the daemon running?\n",
                 client.address().c_str());
  } else if (error.message().rfind("error during connect: ", 0) == 0) {
    // TLS failures (a refused or unverifiable certificate): docker prints them as they are.
    std::fprintf(err, "%s\n", error.message().c_str());
  } else {
    std::fprintf(err, "Error response from daemon: %s\n", error.message().c_str());
  }
  return kExitDaemonError;
}

int Main(int argc, char** argv) {
  CLI::App app{"berth: a container engine that speaks the Docker Engine API", "berth"};
  app.require_subcommand(1);
  client::HostFlags host;
  app.add_option("-H,--host", host.host,
                 "Daemon socket (unix:///PATH or tcp://HOST:PORT); default $BERTH_HOST, "
                 "$DOCKER_HOST, unix:///run/berth/berth.sock");
  bool tls = false, tls_verify = false;
  auto* o_tls = app.add_flag("--tls", tls, "Use TLS; implied by --tlsverify");
  auto* o_tls_verify = app.add_flag("--tlsverify", tls_verify,
                                    "Use TLS and verify the remote (default $DOCKER_TLS_VERIFY)");
  app.add_option("--tlscacert", host.tls_ca_cert,
                 "Trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem, "
                 "~/.docker/ca.pem)");
  app.add_option("--tlscert", host.tls_cert,
                 "Path to TLS certificate file (default cert.pem there)");
  app.add_option("--tlskey", host.tls_key, "Path to TLS key file (default key.pem there)");
  app.set_version_flag("-v,--version",
                       fmt::format("berth version {}, build {}", api::GetBuildInfo().version,
                                   api::GetBuildInfo().git_commit));
  auto* version = app.add_subcommand("version", "Show the berth version information");
  auto* info = app.add_subcommand("info", "Display system-wide information");

  std::string ref, ref2, platform, file, message;
  std::vector<std::string> refs, changes;
  bool all = false, quiet = false, digests = false, force = false, no_prune = false;
  std::string user, password;
  bool password_stdin = false;
  auto* pull = app.add_subcommand("pull", "Download an image from a registry");
  pull->add_option("--platform", platform, "Set platform if server is multi-platform capable");
  pull->add_option("NAME", ref)->required();
  bool all_tags = false;
  auto* push = app.add_subcommand("push", "Upload an image to a registry");
  push->add_flag("-a,--all-tags", all_tags, "Push all tags of an image to the repository");
  push->add_flag("-q,--quiet", quiet, "Suppress verbose output");
  push->add_option("NAME", ref)->required();
  auto* images = app.add_subcommand("images", "List images");
  images->add_flag("-a,--all", all, "Show all images");
  images->add_flag("-q,--quiet", quiet, "Only show image IDs");
  images->add_flag("--digests", digests, "Show digests");
  auto* rmi = app.add_subcommand("rmi", "Remove one or more images");
  rmi->add_flag("-f,--force", force, "Force removal of the image");
  rmi->add_flag("--no-prune", no_prune, "Do not delete untagged parents");
  rmi->add_option("IMAGE", refs)->required();
  auto* tag = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  tag->add_option("SOURCE_IMAGE", ref)->required();
  tag->add_option("TARGET_IMAGE", ref2)->required();
  auto* history = app.add_subcommand("history", "Show the history of an image");
  history->add_flag("-q,--quiet", quiet, "Only show image IDs");
  history->add_option("IMAGE", ref)->required();
  auto* image = app.add_subcommand("image", "Manage images");
  auto* image_inspect = image->add_subcommand("inspect", "Display detailed information on images");
  image_inspect->add_option("IMAGE", refs)->required();
  auto* save = app.add_subcommand("save", "Save one or more images to a tar archive");
  save->add_option("-o,--output", file, "Write to a file, instead of STDOUT");
  save->add_option("IMAGE", refs)->required();
  auto* load = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
  load->add_option("-i,--input", file, "Read from tar archive file, instead of STDIN");
  load->add_flag("-q,--quiet", quiet, "Suppress the load output");
  auto* import = app.add_subcommand("import", "Import the contents from a tarball");
  import->add_option("-c,--change", changes, "Apply Dockerfile instruction to the image")
      ->allow_extra_args(false);
  import->add_option("-m,--message", message, "Set commit message for imported image");
  import->add_option("FILE", file, "tarball, or - for STDIN")->required();
  import->add_option("REPOSITORY", ref, "name[:tag] for the image");
  auto* login = app.add_subcommand("login", "Log in to a registry");
  login->add_option("-u,--username", user, "Username");
  login->add_option("-p,--password", password, "Password");
  login->add_flag("--password-stdin", password_stdin, "Take the password from stdin");
  login->add_option("SERVER", ref);
  auto* logout = app.add_subcommand("logout", "Log out from a registry");
  logout->add_option("SERVER", ref);

  // Container commands, at the top level and under `berth container`, as docker has them.
  // CLI11 builds every option eagerly, and the container commands are most of them: only the
  // command the command word names is registered (the whole group for `container`). Without a
  // command word (`berth --help`, `berth -H x`) everything is, for the usage text.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string word = CommandWord(app, args);
  bool everything = word.empty();
  bool image_or_system = !everything && FindSubcommand(app, word) != nullptr;
  CommandSet set;
  if (everything || (!image_or_system && word != "container")) {
    set.only = word;  // "" (everything) registers them all
    AddRunCommands(app, set);
    AddExecCommand(app, set);
    AddPsCommand(app, set, false);
    AddOpsCommands(app, set, false);
    AddObserveCommands(app, set);
    set.only.clear();
  }
  if (everything || word == "container") {
    auto* container = app.add_subcommand("container", "Manage containers");
    container->require_subcommand(1);
    AddRunCommands(*container, set);
    AddExecCommand(*container, set);
    AddPsCommand(*container, set, true);
    AddOpsCommands(*container, set, true);
    AddObserveCommands(*container, set);
  }

  SplitContainerCommand(app, args, set);
  std::vector<const char*> parsed_argv = {argv[0]};
  for (const auto& a : args) parsed_argv.push_back(a.c_str());
  try {
    app.parse(int(parsed_argv.size()), parsed_argv.data());
  } catch (const CLI::ParseError& e) {
    // Docker exits 125 on usage errors too; --help is not one.
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitDaemonError;
  }
  if (o_tls->count()) host.tls = tls;
  if (o_tls_verify->count()) host.tls_verify = tls_verify;
  auto endpoint = client::ResolveEndpoint(host);
  if (!endpoint) {
    std::fprintf(stderr, "%s\n", endpoint.error().message().c_str());
    return kExitDaemonError;
  }
  client::Client client(std::move(*endpoint));
  if (set.action) return set.action(client);
  if (*version) return RunVersion(client, stdout, stderr);
  if (*info) return RunInfo(client, stdout, stderr);
  if (*pull) return RunPull(client, ref, platform, stdout, stderr);
  if (*push) return RunPush(client, ref, all_tags, quiet, stdout, stderr);
  if (*images) return RunImages(client, all, quiet, digests, stdout, stderr);
  if (*rmi) return RunRmi(client, refs, force, no_prune, stdout, stderr);
  if (*tag) return RunTag(client, ref, ref2, stderr);
  if (*history) return RunHistory(client, ref, quiet, stdout, stderr);
  if (*image_inspect) return RunImageInspect(client, refs, stdout, stderr);
  if (*save) return RunSave(client, refs, file, stderr);
  if (*load) return RunLoad(client, file, quiet, stdout, stderr);
  if (*import) return RunImport(client, file, ref, changes, message, stdout, stderr);
  if (*login) return RunLogin(client, ref, user, password, password_stdin, stdout, stderr);
  if (*logout) return RunLogout(ref, stdout, stderr);
  return kExitDaemonError;
}

}  // namespace berth::cli
