// Exec: create/start/inspect/resize of extra processes in a running container. Each started
// exec runs under a berth-shim of its own in exec mode (state dir <exec-root>/x/<12 hex>), which
// joins the container with the runtime library and owns the process's stdio. An attached start
// hands the shim one end of a socketpair as its first attach client (so no output can come
// before it) and bridges the other end to the hijacked connection; a watcher thread per exec
// records the end (exit.json), publishes exec_die and removes the state dir.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "daemon/container_internal.h"
#include "daemon/exec_process.h"
#include "daemon/exec_store.h"
#include "daemon/query.h"
#include "oci/runtime_config.h"
#include "sys/file.h"
#include "sys/path.h"
#include "sys/socket.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace berth::daemon {
namespace {

using base::Error;
using base::Fail;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kRawStream = "application/vnd.docker.raw-stream";
constexpr const char* kMultiplexedStream = "application/vnd.docker.multiplexed-stream";
// How long an attached tty exec waits for the client's first resize before it starts.
constexpr auto kFirstResizeWait = 300ms;

// One store per context (the context's struct is not ours to extend); never freed, like the
// context itself, so watcher threads may outlive a router.
ExecStore& StoreOf(const ContainerContext* ctx) {
  static std::mutex mu;
  static auto* stores = new std::map<const ContainerContext*, std::unique_ptr<ExecStore>>();
  std::lock_guard lock(mu);
  auto& s = (*stores)[ctx];
  if (!s) s = std::make_unique<ExecStore>();
  return *s;
}

// Short: the shim's control.sock must fit in sun_path's 108 bytes.
std::string ExecStateDir(const ContainerContext* ctx, const std::string& exec_id) {
  return ctx->exec_root + "/x/" + exec_id.substr(0, 12);
}

int ReadPid(const std::string& path) {
  auto text = sys::ReadFile(path);
  if (!text) return 0;
  auto n = base::ParseInt(base::Trim(*text));
  return n && *n > 0 ? static_cast<int>(*n) : 0;
}

void PublishExecEvent(ContainerContext* ctx, const std::string& container_id,
                      const std::string& action, std::map<std::string, std::string> extra) {
  if (auto rec = ctx->containers->Find(container_id)) {
    PublishContainerEvent(ctx, *rec, action, extra);
    return;
  }
  if (!ctx->events) return;  // the container is gone: the event still names it
  Event e;
  e.type = "container";
  e.action = action;
  e.id = container_id;
  e.attributes = std::move(extra);
  ctx->events->Publish(std::move(e));
}

// 409 unless the container runs (dockerd's texts).
base::Status CheckRunning(const ContainerRecord& rec) {
  if (rec.state.status == "paused")
    return Fail(Error::Conflict(
        fmt::format("Container {} is paused, unpause the container before exec", rec.id)));
  if (rec.state.status != "running")
    return Fail(Error::Conflict(fmt::format("Container {} is not running", rec.id)));
  return {};
}

// One request line on a shim's control.sock; the reply must be "ok".
base::Status Control(const std::string& state_dir, const std::string& line) {
  return ShimControlAt(state_dir, line);
}

// A file of the container's root filesystem ("" when it cannot be read), resolved inside it.

// The process.json of the exec, from the container's bundle config.json.
base::Result<std::string> ExecProcessJson(ContainerContext* ctx, const ExecRecord& rec) {
  Paths p = PathsOf(ctx, rec.container_id);
  auto text = TRY_CTX(sys::ReadFile(p.bundle + "/config.json"), "container config");
  oci::Spec spec = TRY_CTX(oci::ParseSpec(text), "container config");
  ExecProcessInputs in;
  if (spec.process) in.container = *spec.process;
  in.config = rec.config;
  std::string root = RunningRootPath(ctx, rec.container_id);
  std::string passwd = ReadInRoot(root, "/etc/passwd");
  if (!rec.config.user.empty()) {
    std::string group = ReadInRoot(root, "/etc/group");
    in.user = TRY(ResolveExecUser(rec.config.user, passwd, group));
  }
  in.home = HomeOf(in.user ? in.user->uid : in.container.user.uid, passwd);
  if (rec.config.privileged) {
    spec::HostConfig all;
    all.privileged = true;
    if (auto caps = spec::ResolveCapabilities(all, ctx->host)) in.privileged_caps = *caps;
  }
  return SerializeProcess(BuildExecProcess(in));
}

// Runs berth-shim in exec mode and waits for it to report: exit 0 once the process runs, else
// the shim's error. `attach_fd` (>= 0) becomes the shim's first attach client.
base::Status SpawnExecShim(const ContainerContext* ctx, const std::vector<std::string>& args,
                           int attach_fd) {
  std::vector<std::string> all = {ctx->shim_binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<int> fds;
  if (attach_fd >= 0) fds.push_back(attach_fd);
  return RunShimProcess(ctx, std::move(all), fds);
}

// Records the end of exec `id` from its shim's exit.json. Without exit.json: nothing when the
// shim may still run (`shim_gone` false: a client detached), else exit code 255 (the shim was
// killed). The first caller publishes exec_die and removes the state dir.
void Finalize(ContainerContext* ctx, const ExecRecord& rec, const std::string& state_dir,
              bool shim_gone) {
  ExecStore& store = StoreOf(ctx);
  int code = 255;
  if (auto text = sys::ReadFile(state_dir + "/exit.json")) {
    json j = json::parse(*text, nullptr, false);
    if (j.is_object() && j.contains("exit_code") && j["exit_code"].is_number_integer())
      code = j["exit_code"].get<int>();
  } else if (!shim_gone || store.Finished(rec.id)) {
    return;
  }
  if (!store.Finish(rec.id, code)) return;
  PublishExecEvent(ctx, rec.container_id, "exec_die",
                   {{"execID", rec.id}, {"exitCode", std::to_string(code)}});
  if (auto st = sys::RemoveAll(state_dir); !st)
    base::LogWarn("exec {}: remove {}: {}", rec.id, state_dir, st.error().message());
}

int PidfdOpen(int pid) {
  if (pid <= 0) return -1;
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Waits for the exec's shim to exit, then finalizes. When the container's shim exits first
// (the container stopped), the exec process is killed: with a pid namespace the kernel already
// did, without one (--pid=host) it would outlive its container.
void Watch(ContainerContext* ctx, ExecRecord rec, std::string state_dir, int shim_pid,
           int container_shim_pid) {
  sys::UniqueFd exec_fd(PidfdOpen(shim_pid));
  sys::UniqueFd container_fd(PidfdOpen(container_shim_pid));
  while (exec_fd) {
    struct pollfd fds[2] = {{exec_fd.get(), POLLIN, 0}, {container_fd.get(), POLLIN, 0}};
    int n = poll(fds, container_fd ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (container_fd && fds[1].revents) {
      container_fd.Reset();
      if (auto st = Control(state_dir, "kill KILL"); !st)
        base::LogDebug("exec {}: {}", rec.id, st.error().message());
    }
  }
  Finalize(ctx, rec, state_dir, true);
}

// Starts exec `rec` (already claimed with MarkStarting): builds its process, runs its shim
// (`attach_fd` as its first attach client, -1 for none), marks it running and starts the
// watcher. Errors: the container's state (Conflict), the user lookup (InvalidArgument), and
// the start itself, as dockerd words it ("OCI runtime exec failed: ...").
base::Status RunExec(ContainerContext* ctx, const ExecRecord& started, int attach_fd) {
  ContainerRecord container = TRY(FindFresh(ctx, started.container_id));
  TRY(CheckRunning(container));
  ExecRecord rec = started;
  if (rec.config.tty && !rec.config.console_size && attach_fd >= 0) {
    // API 1.41 has no ConsoleSize: the CLI's first resize follows our 101 within milliseconds.
    // Waiting for it gives the process its size from the start (`stty size`, full-screen
    // programs), which a resize after the start would race with.
    auto deadline = std::chrono::steady_clock::now() + kFirstResizeWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto now = StoreOf(ctx).Get(rec.id);
      if (!now || now->config.console_size) {
        if (now) rec.config.console_size = now->config.console_size;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  std::string process = TRY(ExecProcessJson(ctx, rec));
  Paths p = PathsOf(ctx, rec.container_id);
  std::string dir = ExecStateDir(ctx, rec.id);
  (void)sys::RemoveAll(dir);
  TRY(sys::MkdirAll(dir, 0700));
  if (auto st = sys::WriteFileAtomic(dir + "/process.json", process, 0600); !st) {
    (void)sys::RemoveAll(dir);
    return st;
  }
  const ExecConfig& c = rec.config;
  std::vector<std::string> args = {
      "--exec",      "--id", rec.container_id, "--process",   dir + "/process.json",
      "--state-dir", dir,    "--runtime-root", p.runtime_root};
  if (c.tty) args.push_back("--tty");
  if (c.attach_stdin && attach_fd >= 0) args.insert(args.end(), {"--stdin", "--stdin-once"});
  // Detach keys apply to a terminal only (dockerd copies a plain stdin verbatim).
  args.push_back("--detach-keys=" +
                 (c.tty ? (c.detach_keys.empty() ? std::string("ctrl-p,ctrl-q") : c.detach_keys)
                        : std::string()));
  PublishExecEvent(ctx, rec.container_id, "exec_start: " + ExecCommandLine(c),
                   {{"execID", rec.id}});
  if (auto st = SpawnExecShim(ctx, args, attach_fd); !st) {
    (void)sys::RemoveAll(dir);
    return Fail(Error::Internal(ExecStartFailureText(st.error().message())));
  }
  int shim_pid = ReadPid(dir + "/shim.pid");
  StoreOf(ctx).MarkRunning(rec.id, ReadPid(dir + "/exec.pid"), dir);
  int container_shim_pid = ReadPid(p.state + "/shim.pid");
  std::thread(Watch, ctx, rec, dir, shim_pid, container_shim_pid).detach();
  return {};
}

// A start that failed: the exit code dockerd reports, and exec_die for the event stream.
void FailStart(ContainerContext* ctx, const ExecRecord& rec, const Error& error) {
  int code = ExecStartFailureCode(error.message());
  if (StoreOf(ctx).Finish(rec.id, code))
    PublishExecEvent(ctx, rec.container_id, "exec_die",
                     {{"execID", rec.id}, {"exitCode", std::to_string(code)}});
}

// The hijacked half of an attached start: the error goes into the stream (a stdout frame
// without a tty); otherwise the stream is bridged to the shim until the output ends, and the
// exit code is recorded before the connection closes (the CLI inspects the exec right after).
void AttachedStart(ContainerContext* ctx, const ExecRecord& rec, int fd, const std::string& early) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
    FailStart(ctx, rec, Error::FromErrno(errno, "socketpair"));
    return;
  }
  sys::UniqueFd ours(sp[0]), theirs(sp[1]);
  if (auto st = RunExec(ctx, rec, theirs.get()); !st) {
    FailStart(ctx, rec, st.error());
    std::string text = st.error().message() + "\r\n";
    if (!rec.config.tty) {
      uint32_t n = static_cast<uint32_t>(text.size());
      char header[8] = {1, 0, 0, 0, char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
      text.insert(0, header, sizeof header);
    }
    (void)sys::WriteAll(fd, text);
    return;
  }
  theirs.Reset();
  BridgeStreams(fd, early, ours.get(), rec.config.attach_stdin);
  std::string dir = ExecStateDir(ctx, rec.id);
  int shim_pid = ReadPid(dir + "/shim.pid");
  bool shim_gone = shim_pid <= 0 || (kill(shim_pid, 0) != 0 && errno == ESRCH);
  // The shim writes exit.json before it closes us: present = the process ended. Absent = the
  // client detached (or went away) and the process runs on, watched as a detached one.
  Finalize(ctx, rec, dir, shim_gone);
}

base::Result<Response> Create(ContainerContext* ctx, Request& req) {
  ContainerRecord container = TRY(FindFresh(ctx, req.params["id"]));
  TRY(CheckRunning(container));
  ExecConfig config = TRY(ParseExecConfig(req.body));
  ExecStore& store = StoreOf(ctx);
  store.Prune(std::chrono::steady_clock::now());
  std::string id = RandomHex(32);
  std::string cmd = ExecCommandLine(config);
  store.Create(id, container.id, std::move(config));
  PublishContainerEvent(ctx, container, "exec_create: " + cmd, {{"execID", id}});
  return Response::Json(201, json{{"Id", id}}.dump());
}

base::Result<Response> Start(ContainerContext* ctx, Request& req) {
  std::string id = req.params["id"];
  ExecStore& store = StoreOf(ctx);
  ExecRecord rec = TRY(store.Get(id));
  bool detach = false;
  if (!base::Trim(req.body).empty()) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return Fail(Error::InvalidArgument("exec start: the body is not a JSON object"));
    if (body.contains("Detach") && body["Detach"].is_boolean()) detach = body["Detach"].get<bool>();
  }
  // Checked before the hijack: the Go client reports anything but 101 without its body.
  ContainerRecord container = TRY(FindFresh(ctx, rec.container_id));
  TRY(CheckRunning(container));
  rec = TRY(store.MarkStarting(id));
  if (detach) {
    return Response::Deferred([ctx, rec] {
      if (auto st = RunExec(ctx, rec, -1); !st) {
        FailStart(ctx, rec, st.error());
        return Response::FromError(st.error());
      }
      return Response::Json(200, "{}");
    });
  }
  // API 1.42 names the framing; 1.41 clients know it from Tty.
  bool multiplexed = !rec.config.tty && req.version && *req.version >= api::ApiVersion{1, 42};
  return Response::Hijack(
      multiplexed ? kMultiplexedStream : kRawStream,
      [ctx, rec](int fd, std::string early) { AttachedStart(ctx, rec, fd, early); });
}

json InspectJson(const ExecRecord& r) {
  const ExecConfig& c = r.config;
  json args = json::array();
  for (size_t i = 1; i < c.cmd.size(); ++i) args.push_back(c.cmd[i]);
  return {{"ID", r.id},
          {"Running", r.running},
          {"ExitCode", r.exit_code.value_or(0)},
          {"ProcessConfig",
           {{"tty", c.tty},
            {"entrypoint", c.cmd.empty() ? "" : c.cmd[0]},
            {"arguments", args},
            {"privileged", c.privileged},
            {"user", c.user}}},
          {"OpenStdin", c.attach_stdin},
          {"OpenStderr", c.attach_stderr},
          {"OpenStdout", c.attach_stdout},
          {"CanRemove", false},
          {"ContainerID", r.container_id},
          {"DetachKeys", c.detach_keys},
          {"Pid", r.pid}};
}

Response Resize(ContainerContext* ctx, const std::string& id, const Query& q) {
  auto h = base::ParseInt(q.Get("h")), w = base::ParseInt(q.Get("w"));
  if (!h || !w || *h < 0 || *w < 0)
    return Response::ErrorMessage(400, "invalid resize: h and w must be non-negative integers");
  auto rec = StoreOf(ctx).Get(id);
  if (!rec) return Response::FromError(rec.error());
  if (!rec->started || rec->exit_code)
    return Response::ErrorMessage(409, fmt::format("Exec {} is not running", id));
  if (!rec->config.tty)
    return Response::ErrorMessage(409,
                                  fmt::format("Exec {} has no terminal: it cannot be resized", id));
  // Before the start: the process gets this size from the beginning (then applied again).
  StoreOf(ctx).SetConsoleSize(id, static_cast<uint32_t>(*h), static_cast<uint32_t>(*w));
  // The CLI resizes right after the hijack, which may be before the shim is up: wait for it.
  return Response::Deferred([ctx, id, line = fmt::format("resize {} {}", *h, *w)] {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      auto r = StoreOf(ctx).Get(id);
      if (!r || r->exit_code)
        return Response::ErrorMessage(409, fmt::format("Exec {} is not running", id));
      if (r->running) {
        if (auto st = Control(r->state_dir, line); !st) return Response::FromError(st.error());
        return Response::Text(200, "");
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return Response::ErrorMessage(409, fmt::format("Exec {} is not running", id));
      std::this_thread::sleep_for(10ms);
    }
  });
}

}  // namespace

std::vector<std::string> ExecIdsOf(const ContainerContext* ctx, const std::string& container_id) {
  return StoreOf(ctx).IdsOf(container_id);
}

void EndExecs(ContainerContext* ctx, const std::string& container_id) {
  ExecStore& store = StoreOf(ctx);
  for (const ExecRecord& r : store.RunningOf(container_id)) {
    if (auto st = Control(r.state_dir, "kill KILL"); !st)
      base::LogDebug("exec {}: {}", r.id, st.error().message());
  }
  store.ForgetContainer(container_id);
}

void AddExecRoutes(Router& router, ContainerContext* ctx) {
  // Exec records do not survive a restart; state dirs of execs that ended meanwhile (nobody
  // watched them) go now. Those still running are left to their shims.
  if (auto dirs = sys::ListDir(ctx->exec_root + "/x")) {
    for (const auto& name : *dirs) {
      std::string dir = ctx->exec_root + "/x/" + name;
      int pid = ReadPid(dir + "/shim.pid");
      if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) continue;
      (void)sys::RemoveAll(dir);
    }
  }
  router.Add("POST", "/containers/{id}/exec",
             [ctx](Request& req) -> base::Result<Response> { return Create(ctx, req); });
  router.Add("POST", "/exec/{id}/start",
             [ctx](Request& req) -> base::Result<Response> { return Start(ctx, req); });
  router.Add("POST", "/exec/{id}/resize", [ctx](Request& req) -> base::Result<Response> {
    return Resize(ctx, req.params["id"], Query(req.query));
  });
  router.Add("GET", "/exec/{id}/json", [ctx](Request& req) -> base::Result<Response> {
    ExecRecord rec = TRY(StoreOf(ctx).Get(req.params["id"]));
    return Response::Json(200, InspectJson(rec).dump());
  });
}

}  // namespace berth::daemon
