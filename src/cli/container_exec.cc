// `exec`: inspect -> POST /containers/{c}/exec -> hijacked POST /exec/{id}/start -> resize ->
// stream -> GET /exec/{id}/json for the exit code (docs §2.2). `-d` starts it detached instead.
#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "cli/cli.h"
#include "cli/container.h"
#include "cli/stream.h"

namespace berth::cli {
namespace {

using nlohmann::json;

struct ExecOptions {
  bool interactive = false, tty = false, detach = false, privileged = false;
  std::vector<std::string> env, env_files;
  std::string user, workdir, detach_keys, container;
  std::vector<std::string> command;
};

int Exec(client::Client& client, const ExecOptions& o) {
  if (o.command.empty()) {
    fmt::print(stderr,
               "\"berth exec\" requires at least 2 arguments.\nSee 'berth exec --help'.\n\n"
               "Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
               "Execute a command in a running container\n");
    return kExitCommandError;
  }
  if (!o.detach && o.tty && o.interactive && !isatty(0)) {
    fmt::print(stderr, "the input device is not a TTY\n");
    return kExitCommandError;
  }
  if (auto c = client.GetJson(ApiPath("/containers/" + o.container + "/json")); !c)
    return CommandError(client, c.error());
  // -e/--env-file as for run: the same encoder, so the same expansion rules.
  ContainerOptions env_only;
  env_only.env = o.env;
  env_only.env_files = o.env_files;
  auto env_body = BuildCreateBody(env_only, {0, 0});
  if (!env_body) {
    fmt::print(stderr, "{}\n", env_body.error().message());
    return kExitCommandError;
  }
  json body = {{"User", o.user},
               {"Privileged", o.privileged},
               {"Tty", o.tty},
               {"AttachStdin", o.interactive && !o.detach},
               {"AttachStdout", !o.detach},
               {"AttachStderr", !o.detach},
               {"Detach", o.detach},
               {"DetachKeys", o.detach_keys},
               {"Env", (*env_body)["Env"]},
               {"WorkingDir", o.workdir},
               {"Cmd", o.command}};
  auto r = client.Post(ApiPath("/containers/" + o.container + "/exec"), body.dump());
  if (auto st = CheckStatus(r); !st) return CommandError(client, st.error());
  json created = json::parse(r->body, nullptr, false);
  std::string id = created.is_object() ? created.value("Id", "") : "";
  if (id.empty()) return CommandError(client, base::Error::Internal("exec create: no Id"));

  json start = {{"Detach", o.detach}, {"Tty", o.tty}};
  if (o.detach) {
    auto st = CheckStatus(client.Post(ApiPath("/exec/" + id + "/start"), start.dump()));
    return st ? 0 : CommandError(client, st.error());
  }
  auto conn = client.Hijack("POST", ApiPath("/exec/" + id + "/start"), start.dump());
  if (!conn) return CommandError(client, conn.error());
  std::unique_ptr<RawTerminal> raw;
  if (o.tty && o.interactive) raw = RawTerminal::Enable(0);
  if (o.tty) ResizeTty(client, "/exec/" + id + "/resize", true);
  // No signal proxy for exec: docker has none either.
  auto streamed =
      StreamContainer(client, *conn, o.tty, o.interactive, "/exec/" + id + "/resize", "");
  raw.reset();
  if (!streamed) fmt::print(stderr, "{}\n", streamed.error().message());
  auto info = client.GetJson(ApiPath("/exec/" + id + "/json"));
  if (!info) return CommandError(client, info.error());
  json j = json::parse(*info, nullptr, false);
  if (!j.is_object() || !j["ExitCode"].is_number_integer()) return kExitCommandError;
  return j["ExitCode"].get<int>();
}

}  // namespace

void AddExecCommand(CLI::App& parent, CommandSet& set) {
  if (!set.Wants("exec")) return;
  auto o = std::make_shared<ExecOptions>();
  auto* cmd = parent.add_subcommand("exec", "Execute a command in a running container");
  cmd->add_flag("-i,--interactive", o->interactive, "Keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
  cmd->add_flag("-d,--detach", o->detach, "Detached mode: run command in the background");
  cmd->add_flag("--privileged", o->privileged, "Give extended privileges to the command");
  cmd->add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
  cmd->add_option("--env-file", o->env_files, "Read in a file of environment variables")
      ->allow_extra_args(false);
  cmd->add_option("-u,--user", o->user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option("-w,--workdir", o->workdir, "Working directory inside the container");
  cmd->add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching");
  cmd->add_option("CONTAINER", o->container)->required();
  set.split_after_first_positional.insert(cmd);
  cmd->callback([o, &set] {
    o->command = set.trailing;
    set.action = [o](client::Client& c) { return Exec(c, *o); };
  });
}

}  // namespace berth::cli
