// `run`, `create`, `start` and `attach`, in docker's call order (docs §3.4): create (pulling a
// missing image) -> hijacked attach -> wait (next-exit, or removed with --rm) -> start ->
// resize -> stream until the daemon closes it -> the exit code from the wait.
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <variant>

#include "cli/cli.h"
#include "cli/container.h"
#include "cli/stream.h"
#include "oci/reference.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// docker: "docker: <error>\n\nRun 'docker run --help' for more information". Errors of our own
// (a bad flag value) print bare, the daemon's with "Error response from daemon: ".
int RunFailure(const client::Client& client, const base::Error& e, const std::string& cmd, int code,
               bool from_daemon = true) {
  std::string text = e.message();
  if (IsConnectError(e))
    text = fmt::format("Cannot connect to the berth daemon at {}. Is the daemon running?",
                       client.address());
  else if (from_daemon)
    text = "Error response from daemon: " + text;
  fmt::print(stderr, "berth: {}\n\nRun 'berth {} --help' for more information\n", text, cmd);
  return code;
}

// A pending wait: the daemon sent the head (so it is registered) and sends the body at exit.
struct PendingWait {
  client::Connection conn;
  // {StatusCode} or the exit code for a failed wait (125, as docker's waitExitOrRemoved).
  int Result() {
    auto body = conn.ReadBody();
    if (!body) {
      fmt::print(stderr, "Error waiting for container: {}\n", body.error().message());
      return kExitDaemonError;
    }
    if (conn.head().status < 200 || conn.head().status > 299) {
      client::Response r = conn.head();
      r.body = *body;
      fmt::print(stderr, "Error waiting for container: {}\n",
                 client::ErrorFromResponse(r).message());
      return kExitDaemonError;
    }
    json j = json::parse(*body, nullptr, false);
    if (j.is_object() && j.contains("Error") && j["Error"].is_object() &&
        !j["Error"].value("Message", "").empty()) {
      fmt::print(stderr, "Error waiting for container: {}\n", j["Error"].value("Message", ""));
      return kExitDaemonError;
    }
    return j.is_object() ? j.value("StatusCode", 0) : 0;
  }
};

std::string WaitTarget(const std::string& id, const std::string& condition) {
  std::string target = ApiPath("/containers/" + id + "/wait");
  if (!condition.empty()) target += "?condition=" + condition;
  return target;
}

// The wait is registered once its head has come (the daemon flushes it at once).
base::Result<PendingWait> WaitFromHead(client::Connection conn) {
  if (conn.head().status < 200 || conn.head().status > 299) {
    client::Response r = conn.head();
    r.body = TRY(conn.ReadBody());
    return base::Fail(client::ErrorFromResponse(r));
  }
  return PendingWait{std::move(conn)};
}

base::Result<PendingWait> StartWait(client::Client& client, const std::string& id,
                                    const std::string& condition) {
  return WaitFromHead(TRY(client.Open("POST", WaitTarget(id, condition))));
}

// docker's reference.FamiliarString(TagNameOnly(ref)) for "Unable to find image".
std::string FamiliarWithTag(const std::string& image) {
  auto ref = oci::ParseReference(image);
  return ref ? ref->FamiliarString() : image;
}

// POST /containers/create, pulling the image when the daemon answers "No such image". Returns
// the ID, or the exit code after printing the error.
std::variant<std::string, int> CreateContainer(client::Client& client, const ContainerOptions& o,
                                               const std::string& cmd) {
  auto [rows, cols] = o.tty ? TerminalSize(1) : std::pair<int, int>{0, 0};
  auto body = BuildCreateBody(o, {rows, cols});
  if (!body) return RunFailure(client, body.error(), cmd, kExitDaemonError, false);
  std::string target = ApiPath("/containers/create");
  if (!o.name.empty()) target += "?name=" + client::QueryEscape(o.name);
  if (!o.platform.empty())
    target +=
        (o.name.empty() ? "?" : "&") + std::string("platform=") + client::QueryEscape(o.platform);
  auto r = client.Post(target, body->dump());
  if (r && r->status == 404 && r->body.find("No such image") != std::string::npos) {
    fmt::print(stderr, "Unable to find image '{}' locally\n", FamiliarWithTag(o.image));
    std::fflush(stderr);
    // docker shows the pull's progress on stderr, keeping stdout for the container.
    int rc = PullImage(client, o.image, o.platform, stderr, stderr);
    if (rc != 0) return kExitDaemonError;
    r = client.Post(target, body->dump());
  }
  if (auto st = CheckStatus(r); !st) return RunFailure(client, st.error(), cmd, kExitDaemonError);
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id"))
    return RunFailure(client, base::Error::Internal("create: no Id in the answer"), cmd,
                      kExitDaemonError);
  for (const auto& w : j.value("Warnings", json::array()))
    if (w.is_string()) fmt::print(stderr, "WARNING: {}\n", w.get<std::string>());
  return j["Id"].get<std::string>();
}

std::string AttachTarget(const std::string& id, bool in, const std::string& detach_keys = "") {
  return ApiPath("/containers/" + id + "/attach") + "?stream=1&stdout=1&stderr=1" +
         (in ? "&stdin=1" : "") +
         (detach_keys.empty() ? "" : "&detachKeys=" + client::QueryEscape(detach_keys));
}

// The start failed after the wait was registered: with --rm dockerd removes the container, and
// docker waits for that before it exits. Bounded here, then removed by hand (a 404 when the
// daemon did remove it is fine), so that a daemon that keeps it neither hangs us nor leaves it.
void CleanUpFailedStart(client::Client& client, const std::string& id, bool auto_remove,
                        PendingWait& wait) {
  if (!auto_remove) return;
  pollfd p{wait.conn.fd(), POLLIN, 0};
  if (wait.conn.buffered().empty()) (void)poll(&p, 1, 2000);
  (void)client.Do("DELETE", ApiPath("/containers/" + id) + "?force=1");
}

int Run(client::Client& client, ContainerOptions o) {
  // docker's validation: a terminal for the container needs one on our side to feed it.
  if (!o.detach && o.tty && o.interactive && !isatty(0)) {
    fmt::print(stderr, "the input device is not a TTY\n");
    return kExitCommandError;
  }
  auto created = CreateContainer(client, o, "run");
  if (auto* rc = std::get_if<int>(&created)) return *rc;
  std::string id = std::get<std::string>(created);
  std::string condition = o.rm ? "removed" : "next-exit";

  if (o.detach) {
    auto wait = StartWait(client, id, condition);
    if (!wait) return RunFailure(client, wait.error(), "run", kExitDaemonError);
    if (auto st = CheckStatus(client.Post(ApiPath("/containers/" + id + "/start"), "", "")); !st) {
      CleanUpFailedStart(client, id, o.rm, *wait);
      return RunFailure(client, st.error(), "run", StartErrorExitCode(st.error().message()));
    }
    // The pending wait is dropped, as docker drops it.
    fmt::print("{}\n", id);
    return 0;
  }

  // The attach and the wait travel together (one round trip less before the start); both are
  // registered with the daemon once their heads have come.
  auto attach_sent = client.SendHijack("POST", AttachTarget(id, o.interactive));
  if (!attach_sent) return RunFailure(client, attach_sent.error(), "run", kExitDaemonError);
  auto wait_sent = client.SendOpen("POST", WaitTarget(id, condition));
  if (!wait_sent) return RunFailure(client, wait_sent.error(), "run", kExitDaemonError);
  auto conn = attach_sent->Finish();
  if (!conn) return RunFailure(client, conn.error(), "run", kExitDaemonError);
  auto wait_head = wait_sent->Finish();
  if (!wait_head) return RunFailure(client, wait_head.error(), "run", kExitDaemonError);
  auto wait = WaitFromHead(std::move(*wait_head));
  if (!wait) return RunFailure(client, wait.error(), "run", kExitDaemonError);
  std::unique_ptr<RawTerminal> raw;
  if (o.tty && o.interactive) raw = RawTerminal::Enable(0);
  if (auto st = CheckStatus(client.Post(ApiPath("/containers/" + id + "/start"), "", "")); !st) {
    raw.reset();
    CleanUpFailedStart(client, id, o.rm, *wait);
    return RunFailure(client, st.error(), "run", StartErrorExitCode(st.error().message()));
  }
  if (o.tty) ResizeTty(client, "/containers/" + id + "/resize", true);
  auto streamed = StreamContainer(client, *conn, o.tty, o.interactive,
                                  "/containers/" + id + "/resize", "/containers/" + id + "/kill");
  raw.reset();
  if (!streamed) fmt::print(stderr, "{}\n", streamed.error().message());
  return wait->Result();
}

int Create(client::Client& client, const ContainerOptions& o) {
  auto created = CreateContainer(client, o, "create");
  if (auto* rc = std::get_if<int>(&created)) return *rc;
  fmt::print("{}\n", std::get<std::string>(created));
  return 0;
}

struct StartOptions {
  bool attach = false, interactive = false;
  std::string detach_keys;
  std::vector<std::string> containers;
};

base::Result<json> InspectContainer(client::Client& client, const std::string& name) {
  std::string body = TRY(client.GetJson(ApiPath("/containers/" + name + "/json")));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return base::Fail(base::Error::Internal("malformed inspect answer"));
  return j;
}

// Streams an attached container (start -a, attach) to its end; the exit code from `wait`.
int AttachAndStream(client::Client& client, const json& c, bool with_stdin, bool sig_proxy,
                    const std::string& detach_keys, PendingWait* wait_before,
                    const std::string& condition, bool start) {
  std::string id = c.value("Id", "");
  bool tty = c.contains("Config") && c["Config"].value("Tty", false);
  auto conn = client.Hijack("POST", AttachTarget(id, with_stdin, detach_keys));
  if (!conn) return CommandError(client, conn.error());
  std::unique_ptr<RawTerminal> raw;
  if (tty && with_stdin) raw = RawTerminal::Enable(0);
  std::optional<PendingWait> own_wait;
  if (!wait_before) {
    auto w = StartWait(client, id, condition);
    if (!w) {
      raw.reset();
      return CommandError(client, w.error());
    }
    own_wait = std::move(*w);
    wait_before = &*own_wait;
  }
  if (start) {
    if (auto st = CheckStatus(client.Post(ApiPath("/containers/" + id + "/start"), "", "")); !st) {
      raw.reset();
      return CommandError(client, st.error());
    }
  }
  if (tty) ResizeTty(client, "/containers/" + id + "/resize", true);
  auto streamed = StreamContainer(client, *conn, tty, with_stdin, "/containers/" + id + "/resize",
                                  sig_proxy ? "/containers/" + id + "/kill" : "");
  raw.reset();
  if (!streamed) fmt::print(stderr, "{}\n", streamed.error().message());
  return wait_before->Result();
}

int Start(client::Client& client, const StartOptions& o) {
  if (o.attach || o.interactive) {
    if (o.containers.size() > 1) {
      fmt::print(stderr, "Error: you cannot start and attach multiple containers at once\n");
      return kExitCommandError;
    }
    auto c = InspectContainer(client, o.containers[0]);
    if (!c) return CommandError(client, c.error());
    bool open_stdin = (*c)["Config"].value("OpenStdin", false);
    return AttachAndStream(client, *c, o.interactive && open_stdin, true, o.detach_keys, nullptr,
                           "next-exit", true);
  }
  std::vector<std::string> failed;
  for (const std::string& name : o.containers) {
    if (auto st = CheckStatus(client.Post(ApiPath("/containers/" + name + "/start"), "", ""));
        !st) {
      CommandError(client, st.error());
      failed.push_back(name);
      continue;
    }
    fmt::print("{}\n", name);
  }
  if (failed.empty()) return 0;
  std::string list;
  for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
  fmt::print(stderr, "Error: failed to start containers: {}\n", list);
  return kExitCommandError;
}

struct AttachOptions {
  bool no_stdin = false, sig_proxy = true;
  std::string detach_keys, container;
};

int Attach(client::Client& client, const AttachOptions& o) {
  // docker attach.go: the wait goes first, so that a quick exit is not missed.
  auto wait = StartWait(client, o.container, "");
  if (!wait) return CommandError(client, wait.error());
  auto c = InspectContainer(client, o.container);
  if (!c) return CommandError(client, c.error());
  const json& state = (*c)["State"];
  const char* refusal = nullptr;
  if (!state.value("Running", false))
    refusal = "You cannot attach to a stopped container, start it first";
  else if (state.value("Paused", false))
    refusal = "You cannot attach to a paused container, unpause it first";
  else if (state.value("Restarting", false))
    refusal = "You cannot attach to a restarting container, wait until it is running";
  if (refusal) {
    fmt::print(stderr, "{}\n", refusal);
    return kExitCommandError;
  }
  bool with_stdin = !o.no_stdin && (*c)["Config"].value("OpenStdin", false);
  return AttachAndStream(client, *c, with_stdin, o.sig_proxy, o.detach_keys, &*wait, "", false);
}

// The flags run and create share.
void AddCreateFlags(CLI::App* cmd, ContainerOptions& o, bool run) {
  auto multi = [&](const std::string& names, std::vector<std::string>& v, const std::string& help) {
    cmd->add_option(names, v, help)->allow_extra_args(false);
  };
  if (run) {
    cmd->add_flag("-d,--detach", o.detach, "Run container in background and print container ID");
    cmd->add_flag("--rm", o.rm, "Automatically remove the container when it exits");
  } else {
    cmd->add_flag("--rm", o.rm, "Automatically remove the container when it exits");
  }
  cmd->add_flag("-i,--interactive", o.interactive, "Keep STDIN open even if not attached");
  cmd->add_flag("-t,--tty", o.tty, "Allocate a pseudo-TTY");
  cmd->add_option("--name", o.name, "Assign a name to the container");
  multi("-e,--env", o.env, "Set environment variables");
  multi("--env-file", o.env_files, "Read in a file of environment variables");
  multi("-v,--volume", o.volumes, "Bind mount a volume");
  multi("--mount", o.mounts, "Attach a filesystem mount to the container");
  multi("--tmpfs", o.tmpfs, "Mount a tmpfs directory");
  multi("-p,--publish", o.publish, "Publish a container's port(s) to the host");
  cmd->add_option("-w,--workdir", o.workdir, "Working directory inside the container");
  cmd->add_option("-u,--user", o.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option_function<std::string>(
      "--entrypoint", [&o](const std::string& v) { o.entrypoint = v; },
      "Overwrite the default ENTRYPOINT of the image");
  cmd->add_option("-m,--memory", o.memory, "Memory limit");
  cmd->add_option("--cpus", o.cpus, "Number of CPUs");
  cmd->add_option("-c,--cpu-shares", o.cpu_shares, "CPU shares (relative weight)");
  cmd->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd->add_option("--pids-limit", o.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  multi("--cap-add", o.cap_add, "Add Linux capabilities");
  multi("--cap-drop", o.cap_drop, "Drop Linux capabilities");
  cmd->add_flag("--privileged", o.privileged, "Give extended privileges to this container");
  multi("--security-opt", o.security_opt, "Security Options");
  cmd->add_flag("--read-only", o.read_only, "Mount the container's root filesystem as read only");
  cmd->add_flag("--init", o.init, "Run an init inside the container");
  cmd->add_option("--restart", o.restart, "Restart policy to apply when a container exits");
  cmd->add_option("-h,--hostname", o.hostname, "Container host name");
  multi("--ulimit", o.ulimits, "Ulimit options");
  cmd->add_option("--network,--net", o.network, "Connect a container to a network");
  multi("-l,--label", o.labels, "Set meta data on a container");
  cmd->add_option("--platform", o.platform, "Set platform if server is multi-platform capable");
  cmd->add_option("IMAGE", o.image, "The image to run")->required();
}

}  // namespace

void AddRunCommands(CLI::App& parent, CommandSet& set) {
  for (bool run : {true, false}) {
    if (!set.Wants(run ? "run" : "create")) continue;
    auto opts = std::make_shared<ContainerOptions>();
    auto* cmd = parent.add_subcommand(
        run ? "run" : "create",
        run ? "Create and run a new container from an image" : "Create a new container");
    // -h is --hostname here, as in docker.
    cmd->set_help_flag("--help", "Print usage");
    AddCreateFlags(cmd, *opts, run);
    set.split_after_first_positional.insert(cmd);
    cmd->callback([opts, run, &set] {
      opts->command = set.trailing;
      set.action = [opts, run](client::Client& c) {
        return run ? Run(c, *opts) : Create(c, *opts);
      };
    });
  }

  if (set.Wants("start")) {
    auto start = std::make_shared<StartOptions>();
    auto* s = parent.add_subcommand("start", "Start one or more stopped containers");
    s->add_flag("-a,--attach", start->attach, "Attach STDOUT/STDERR and forward signals");
    s->add_flag("-i,--interactive", start->interactive, "Attach container's STDIN");
    s->add_option("--detach-keys", start->detach_keys, "Override the key sequence for detaching");
    s->add_option("CONTAINER", start->containers)->required();
    s->callback(
        [start, &set] { set.action = [start](client::Client& c) { return Start(c, *start); }; });
  }

  if (!set.Wants("attach")) return;
  auto attach = std::make_shared<AttachOptions>();
  auto* a = parent.add_subcommand("attach",
                                  "Attach local standard input, output, and error "
                                  "streams to a running container");
  a->add_flag("--no-stdin", attach->no_stdin, "Do not attach STDIN");
  a->add_option("--sig-proxy", attach->sig_proxy, "Proxy all received signals to the process");
  a->add_option("--detach-keys", attach->detach_keys, "Override the key sequence for detaching");
  a->add_option("CONTAINER", attach->container)->required();
  a->callback(
      [attach, &set] { set.action = [attach](client::Client& c) { return Attach(c, *attach); }; });
}

}  // namespace berth::cli
