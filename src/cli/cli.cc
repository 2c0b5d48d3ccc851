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

// The image and system commands and what their flags fill in.
struct ImageCommands {
  CLI::App *version = nullptr, *info = nullptr, *pull = nullptr, *push = nullptr, *images = nullptr,
           *rmi = nullptr, *tag = nullptr, *history = nullptr, *image = nullptr,
           *image_inspect = nullptr, *save = nullptr, *load = nullptr, *import = nullptr,
           *login = nullptr, *logout = nullptr;
  std::string ref, ref2, platform, file, message, user, password;
  std::vector<std::string> refs, changes;
  bool all = false, quiet = false, digests = false, force = false, no_prune = false,
       password_stdin = false, all_tags = false;
};

// Their names: the command word picks one of them to register.
bool IsImageCommand(std::string_view word) {
  for (std::string_view n : {"version", "info", "pull", "push", "images", "rmi", "tag", "history",
                             "image", "save", "load", "import", "login", "logout"})
    if (word == n) return true;
  return false;
}

// Registers the image and system commands, or only the one named `only` ("" = all of them).
void AddImageCommands(CLI::App& app, ImageCommands& c, std::string_view only) {
  auto want = [&](std::string_view name) { return only.empty() || only == name; };
  if (want("version")) {
    c.version = app.add_subcommand("version", "Show the berth version information");
  }
  if (want("info")) {
    c.info = app.add_subcommand("info", "Display system-wide information");
  }
  if (want("pull")) {
    c.pull = app.add_subcommand("pull", "Download an image from a registry");
    c.pull->add_option("--platform", c.platform,
                       "Set platform if server is multi-platform capable");
    c.pull->add_option("NAME", c.ref)->required();
  }
  if (want("push")) {
    c.push = app.add_subcommand("push", "Upload an image to a registry");
    c.push->add_flag("-a,--all-tags", c.all_tags, "Push all tags of an image to the repository");
    c.push->add_flag("-q,--quiet", c.quiet, "Suppress verbose output");
    c.push->add_option("NAME", c.ref)->required();
  }
  if (want("images")) {
    c.images = app.add_subcommand("images", "List images");
    c.images->add_flag("-a,--all", c.all, "Show all images");
    c.images->add_flag("-q,--quiet", c.quiet, "Only show image IDs");
    c.images->add_flag("--digests", c.digests, "Show digests");
  }
  if (want("rmi")) {
    c.rmi = app.add_subcommand("rmi", "Remove one or more images");
    c.rmi->add_flag("-f,--force", c.force, "Force removal of the image");
    c.rmi->add_flag("--no-prune", c.no_prune, "Do not delete untagged parents");
    c.rmi->add_option("IMAGE", c.refs)->required();
  }
  if (want("tag")) {
    c.tag = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    c.tag->add_option("SOURCE_IMAGE", c.ref)->required();
    c.tag->add_option("TARGET_IMAGE", c.ref2)->required();
  }
  if (want("history")) {
    c.history = app.add_subcommand("history", "Show the history of an image");
    c.history->add_flag("-q,--quiet", c.quiet, "Only show image IDs");
    c.history->add_option("IMAGE", c.ref)->required();
  }
  if (want("image")) {
    c.image = app.add_subcommand("image", "Manage images");
    c.image_inspect = c.image->add_subcommand("inspect", "Display detailed information on images");
    c.image_inspect->add_option("IMAGE", c.refs)->required();
  }
  if (want("save")) {
    c.save = app.add_subcommand("save", "Save one or more images to a tar archive");
    c.save->add_option("-o,--output", c.file, "Write to a file, instead of STDOUT");
    c.save->add_option("IMAGE", c.refs)->required();
  }
  if (want("load")) {
    c.load = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
    c.load->add_option("-i,--input", c.file, "Read from tar archive file, instead of STDIN");
    c.load->add_flag("-q,--quiet", c.quiet, "Suppress the load output");
  }
  if (want("import")) {
    c.import = app.add_subcommand("import", "Import the contents from a tarball");
    c.import->add_option("-c,--change", c.changes, "Apply Dockerfile instruction to the image")
        ->allow_extra_args(false);
    c.import->add_option("-m,--message", c.message, "Set commit message for imported image");
    c.import->add_option("FILE", c.file, "tarball, or - for STDIN")->required();
    c.import->add_option("REPOSITORY", c.ref, "name[:tag] for the image");
  }
  if (want("login")) {
    c.login = app.add_subcommand("login", "Log in to a registry");
    c.login->add_option("-u,--username", c.user, "Username");
    c.login->add_option("-p,--password", c.password, "Password");
    c.login->add_flag("--password-stdin", c.password_stdin, "Take the password from stdin");
    c.login->add_option("SERVER", c.ref);
  }
  if (want("logout")) {
    c.logout = app.add_subcommand("logout", "Log out from a registry");
    c.logout->add_option("SERVER", c.ref);
  }
}

int RunImageCommand(client::Client& client, ImageCommands& c) {
  auto ran = [](const CLI::App* sub) { return sub != nullptr && sub->parsed(); };
  if (ran(c.version)) return RunVersion(client, stdout, stderr);
  if (ran(c.info)) return RunInfo(client, stdout, stderr);
  if (ran(c.pull)) return RunPull(client, c.ref, c.platform, stdout, stderr);
  if (ran(c.push)) return RunPush(client, c.ref, c.all_tags, c.quiet, stdout, stderr);
  if (ran(c.images)) return RunImages(client, c.all, c.quiet, c.digests, stdout, stderr);
  if (ran(c.rmi)) return RunRmi(client, c.refs, c.force, c.no_prune, stdout, stderr);
  if (ran(c.tag)) return RunTag(client, c.ref, c.ref2, stderr);
  if (ran(c.history)) return RunHistory(client, c.ref, c.quiet, stdout, stderr);
  if (ran(c.image_inspect)) return RunImageInspect(client, c.refs, stdout, stderr);
  if (ran(c.save)) return RunSave(client, c.refs, c.file, stderr);
  if (ran(c.load)) return RunLoad(client, c.file, c.quiet, stdout, stderr);
  if (ran(c.import)) return RunImport(client, c.file, c.ref, c.changes, c.message, stdout, stderr);
  if (ran(c.login))
    return RunLogin(client, c.ref, c.user, c.password, c.password_stdin, stdout, stderr);
  if (ran(c.logout)) return RunLogout(c.ref, stdout, stderr);
  return kExitDaemonError;
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
  // Container commands, at the top level and under `berth container`, as docker has them.
  // CLI11 builds every option eagerly, and the container commands are most of them: only the
  // command the command word names is registered (the whole group for `container`). Without a
  // command word (`berth --help`, `berth -H x`) everything is, for the usage text.
  // The image and system commands likewise (~20 subcommands: 0.4M instructions and their heap
  // for every run of the CLI otherwise).
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string word = CommandWord(app, args);
  bool everything = word.empty();
  bool image_or_system = !everything && IsImageCommand(word);
  ImageCommands images;
  if (everything || image_or_system) AddImageCommands(app, images, everything ? "" : word);
  CommandSet set;
  if (everything || (!image_or_system && word != "container")) {
    set.only = word;  // "" (everything) registers them all
    AddRunCommands(app, set);
    AddExecCommand(app, set);
    AddPsCommand(app, set, false);
    AddOpsCommands(app, set, false);
    AddObserveCommands(app, set);
    set.only.clear();
    // A word that names no command: everything, for CLI11's usage error.
    if (!everything && app.get_subcommands([](CLI::App*) { return true; }).empty())
      AddImageCommands(app, images, "");
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
  return RunImageCommand(client, images);
}

}  // namespace berth::cli
