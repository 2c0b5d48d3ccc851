// Container state kept in step with the shims, and the shim requests; see container_internal.h.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>

#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "base/time.h"
#include "daemon/container_internal.h"
#include "daemon/shim_pool.h"
#include "daemon/spec/create_request.h"
#include "daemon/trash.h"
#include "daemon/worker_pool.h"
#include "image/snapshot/snapshotter.h"
#include "runtime/container.h"
#include "runtime/state_store.h"
#include "sys/file.h"
#include "sys/mount.h"
#include "sys/path.h"
#include "sys/process.h"
#include "sys/socket.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

using base::Error;
using base::Fail;
using nlohmann::json;
using namespace std::chrono_literals;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += size_t(n);
  }
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

Paths PathsOf(const ContainerContext* ctx, const std::string& id) {
  Paths p;
  p.bundle = ctx->exec_root + "/containers/" + id + "/bundle";
  p.rootfs = p.bundle + "/rootfs";
  p.state = ctx->exec_root + "/shim/" + id;
  p.runtime_root = ctx->exec_root + "/runtime";
  p.data = ctx->containers->Dir(id);
  p.log = p.data + "/" + id + "-json.log";
  return p;
}

std::string NetworkFilesDir(const ContainerContext* ctx, const ContainerRecord& rec) {
  if (rec.auto_remove) return ctx->exec_root + "/containers/" + rec.id;
  return PathsOf(ctx, rec.id).data;
}

// Brings rec.state up to date with the shim's state dir: exit.json = exited; a shim that died
// without writing it (SIGKILLed) = exited with 255. Persists a change.
void Refresh(const ContainerContext* ctx, ContainerRecord& rec, bool persist) {
  if (rec.state.status != "running") return;
  Paths p = PathsOf(ctx, rec.id);
  if (auto text = sys::ReadFile(p.state + "/exit.json")) {
    try {
      json j = json::parse(*text);
      rec.state.exit_code = j.value("exit_code", 0);
      rec.state.oom_killed = j.value("oom_killed", false);
      rec.state.finished_at = j.value("finished_at", base::NowRfc3339Nano());
    } catch (const json::exception& e) {
      rec.state.exit_code = 255;
      rec.state.error = std::string("exit.json: ") + e.what();
    }
  } else {
    int shim_pid = ReadShimPid(p);
    if (shim_pid > 0 && (kill(shim_pid, 0) == 0 || errno == EPERM)) return;
    // The shim writes exit.json before it removes shim.pid; check again to close that window.
    if (sys::ReadFile(p.state + "/exit.json")) return Refresh(ctx, rec, persist);
    rec.state.exit_code = 255;
    rec.state.error = "container monitor (berth-shim) died";
    rec.state.finished_at = base::NowRfc3339Nano();
  }
  rec.state.status = "exited";
  rec.state.pid = 0;
  rec.state.paused = false;
  if (!persist) return;
  if (auto st = ctx->containers->Update(rec); !st)
    base::LogWarn("container {}: {}", rec.id, st.error().message());
}

base::Result<ContainerRecord> FindFresh(const ContainerContext* ctx, const std::string& name) {
  ContainerRecord rec = TRY(ctx->containers->Find(name));
  Refresh(ctx, rec);
  return rec;
}

// Polls for the container to stop running; false on timeout (negative: none).
bool WaitExit(const ContainerContext* ctx, ContainerRecord& rec, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Refresh(ctx, rec);
    if (rec.state.status != "running") return true;
    if (limit.count() >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// One request on the shim's control.sock ("kill SIG"); the reply must be "ok".
base::Status ShimControl(const ContainerContext* ctx, const std::string& id,
                         const std::string& line) {
  return ShimControlAt(PathsOf(ctx, id).state, line);
}

base::Status ShimControlAt(const std::string& state_dir, const std::string& line) {
  sys::UniqueFd fd = TRY(sys::ConnectUnix(state_dir + "/control.sock"));
  TRY(sys::WriteAll(fd.get(), line + "\n"));
  std::string reply;
  char c;
  while (reply.size() < 4096) {
    ssize_t n = read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    reply += c;
  }
  if (reply == "ok") return {};
  if (base::StartsWith(reply, "error ")) reply = reply.substr(6);
  return Fail(Error::Internal(reply.empty() ? "berth-shim closed the control socket" : reply));
}

base::Status MountRootfs(const ContainerContext* ctx, const std::string& id,
                         const std::string& target, bool throwaway) {
  auto mounts = TRY(ctx->images->snapshots->ContainerMounts(id));
  if (mounts.empty()) return Fail(Error::Internal("snapshot has no mounts"));
  const image::MountSpec& m = mounts.front();
  TRY(sys::MkdirAll(target, 0755));
  // A rootfs left mounted by an earlier start is replaced, not stacked.
  (void)umount2(target.c_str(), MNT_DETACH);
  if (m.type == "bind") return sys::Mount(m.source, target, "", MS_BIND | MS_REC, "");
  std::string data;
  for (const auto& o : m.options) {
    data += (data.empty() ? "" : ",") + o;
    // A volatile mount leaves <workdir>/work/incompat/volatile behind, and overlayfs refuses
    // every later mount of the layer while it is there.
    if (base::StartsWith(o, "workdir=")) (void)sys::RemoveAll(o.substr(8) + "/work/incompat");
  }
  if (throwaway && m.type == "overlay") {
    if (sys::Mount(m.source, target, m.type, 0, data + ",volatile")) return {};
  }
  return sys::Mount(m.source, target, m.type, 0, data);
}

base::Status MakeWorkingDir(const std::string& rootfs, const std::string& dir) {
  if (dir.empty() || sys::CleanPath(dir) == "/") return {};
  auto root = TRY(sys::Open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto made = sys::MkdirAllInRoot(root.get(), dir, 0755);
  if (!made)
    return Fail(Error(made.error().code(), fmt::format("cannot create the working directory {}: {}",
                                                       dir, made.error().message())));
  return {};
}

void UnmountRootfs(const std::string& target) {
  // Lazy: a process still holding a file open in it must not make rm fail.
  if (umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    base::LogWarn("umount {}: {}", target, strerror(errno));
}

void DetachRootfsSoon(const ContainerContext* ctx, const std::string& target) {
  auto mount = sys::Open(target, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (!mount) return;
  auto detach = [fd = std::make_shared<sys::UniqueFd>(std::move(*mount))] {
    // The magic link resolves to the root of the very mount opened above: EINVAL if that one
    // is gone already (the exit got there first) or was never a mount.
    std::string path = fmt::format("/proc/self/fd/{}", fd->get());
    if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      base::LogWarn("detach rootfs: {}", strerror(errno));
    fd->Reset();
  };
  if (ctx->background)
    ctx->background->Run(std::move(detach));
  else
    detach();
}

std::string RunningRootPath(const ContainerContext* ctx, const std::string& id) {
  if (auto rec = ctx->containers->Find(id);
      rec && rec->state.status == "running" && rec->state.pid > 0)
    return fmt::format("/proc/{}/root", rec->state.pid);
  return PathsOf(ctx, id).rootfs;
}

std::vector<std::string> ShimArgs(const ContainerContext* ctx, const ContainerRecord& rec,
                                  const Paths& p, const spec::CreateRequest& cr) {
  std::vector<std::string> args = {ctx->shim_binary, "--id",        rec.id,  "--bundle",
                                   p.bundle,         "--state-dir", p.state, "--runtime-root",
                                   p.runtime_root,   "--log-path",  p.log};
  if (rec.tty) args.push_back("--tty");
  if (cr.config.open_stdin) args.push_back("--stdin");
  if (cr.config.stdin_once) args.push_back("--stdin-once");
  if (cr.host_config.auto_remove) args.push_back("--auto-remove");
  const auto& opts = cr.host_config.log_config.config;
  if (auto it = opts.find("max-size"); it != opts.end()) {
    if (auto n = ParseLogSize(it->second); n && *n > 0)
      args.insert(args.end(), {"--log-max-size", std::to_string(*n)});
  }
  if (auto it = opts.find("max-file"); it != opts.end()) {
    if (auto n = base::ParseInt(it->second); n && *n > 0)
      args.insert(args.end(), {"--log-max-file", std::to_string(*n)});
  }
  return args;
}

base::Status SpawnShim(ContainerContext* ctx, const ContainerRecord& rec, const Paths& p,
                       const std::vector<int>& attach_fds) {
  auto cr = spec::ParseCreateRequest(rec.request).value_or(spec::CreateRequest{});
  return RunShimProcess(ctx, ShimArgs(ctx, rec, p, cr), attach_fds);
}

base::Status RunShimProcess(const ContainerContext* ctx, std::vector<std::string> args,
                            const std::vector<int>& attach_fds) {
  if (ctx->shim_pool) {
    if (sys::UniqueFd standby = ctx->shim_pool->Take()) {
      auto handed = ShimPool::HandOver(standby.get(), args, attach_fds);
      if (handed || handed.error().code() != base::ErrorCode::kUnavailable) return handed;
      base::LogDebug("{}; spawning a shim", handed.error().message());
    }
  }
  for (size_t i = 0; i < attach_fds.size(); ++i)
    args.insert(args.end(), {"--attach-fd", std::to_string(3 + i)});
  int pipefd[2];
  // O_CLOEXEC: a shim spawned concurrently for another container must not keep our write end.
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe2"));
  sys::UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  // The attach fds go to 3, 4, ... in the shim. Copies above that range first, so that no
  // dup2 target overwrites a source still to be copied.
  std::vector<sys::UniqueFd> high;
  std::vector<int> extra;
  for (int fd : attach_fds) {
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 3 + int(attach_fds.size()) + 1);
    if (h < 0) return Fail(Error::FromErrno(errno, "fcntl F_DUPFD"));
    high.emplace_back(h);
    extra.push_back(h);
  }
  pid_t pid = TRY(sys::SpawnProcessAt(ctx->shim_exec_path.empty() ? args[0] : ctx->shim_exec_path,
                                      args, wr.get(), wr.get(), extra));
  wr = sys::UniqueFd();
  std::string out = sys::ReadFd(rd.get()).value_or("");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string msg(base::Trim(out));
  if (base::StartsWith(msg, "berth-shim: ")) msg = msg.substr(12);
  if (msg.empty()) msg = fmt::format("berth-shim failed (status {})", status);
  return Fail(Error::Internal(msg));
}

int ReadInitPid(const Paths& p, const std::string& id) {
  return runtime::StateStore(p.runtime_root).LoadPid(id).value_or(0);
}

int ReadShimPid(const Paths& p) {
  auto text = sys::ReadFile(p.state + "/shim.pid");
  return text ? std::atoi(std::string(base::Trim(*text)).c_str()) : 0;
}

sys::UniqueFd OpenRunningShim(const Paths& p) {
  int pid = ReadShimPid(p);
  if (pid <= 0) return {};
  sys::UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return {};
  // A shim that died without removing shim.pid leaves a number another process may reuse.
  auto comm = sys::ReadFile(fmt::format("/proc/{}/comm", pid));
  if (!comm || base::Trim(*comm) != "berth-shim") return {};
  return fd;
}

void WaitForShimExit(const sys::UniqueFd& shim, std::chrono::milliseconds limit) {
  if (!shim) return;
  struct pollfd pfd = {shim.get(), POLLIN, 0};
  while (::poll(&pfd, 1, static_cast<int>(limit.count())) < 0 && errno == EINTR) {
  }
}

void WaitForShimCleanup(const Paths& p, const sys::UniqueFd& shim, std::chrono::milliseconds limit,
                        WorkerPool* closer) {
  if (!shim) return;
  const std::string pid_file = p.state + "/shim.pid";
  // Usually done already (the shim's cleanup runs while berthd handles the exit): no inotify
  // instance to make and close then.
  if (::access(pid_file.c_str(), F_OK) != 0) return;
  // Without inotify (or the watch), the process's exit says the same, a little later.
  sys::UniqueFd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in || inotify_add_watch(in.get(), p.state.c_str(), IN_DELETE | IN_ONLYDIR) < 0)
    return WaitForShimExit(shim, limit);
  base::ScopeGuard close_later([&] {
    if (closer) closer->Run([fd = std::make_shared<sys::UniqueFd>(std::move(in))] { fd->Reset(); });
  });
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (::access(pid_file.c_str(), F_OK) == 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    struct pollfd pfd[2] = {{shim.get(), POLLIN, 0}, {in.get(), POLLIN, 0}};
    int n = ::poll(pfd, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return;
    if (n > 0 && (pfd[0].revents & POLLIN)) return;  // the shim is gone
    // Drain the events; whether shim.pid is among them is what access() tells.
    alignas(struct inotify_event) char buf[4096];
    while (::read(in.get(), buf, sizeof buf) > 0) {
    }
  }
}

json ParseRequestJson(const ContainerRecord& rec) {
  json body = json::parse(rec.request, nullptr, false);
  if (!body.is_object()) body = json::object();
  return body;
}

void ThawSignalled(ContainerContext* ctx, ContainerRecord& rec) {
  if (!rec.state.paused) return;
  runtime::Runtime rt(runtime::RuntimeOptions{PathsOf(ctx, rec.id).runtime_root, false});
  if (auto st = rt.Resume(rec.id); !st)
    base::LogWarn("unpause {} after signalling it: {}", rec.id, st.error().message());
  rec.state.paused = false;
  (void)ctx->containers->Update(rec);
}

// TERM (or the stop signal), then KILL after `timeout`; returns once exit.json is there.
base::Status StopContainer(ContainerContext* ctx, ContainerRecord& rec, const std::string& signal,
                           int timeout) {
  if (auto st = ShimControl(ctx, rec.id, "kill " + signal); !st)
    base::LogDebug("stop {}: {}", rec.id, st.error().message());
  ThawSignalled(ctx, rec);
  if (timeout < 0 || !WaitExit(ctx, rec, std::chrono::seconds(timeout))) {
    if (auto st = ShimControl(ctx, rec.id, "kill KILL"); !st)
      base::LogDebug("stop {}: {}", rec.id, st.error().message());
    if (!WaitExit(ctx, rec, 30s))
      return Fail(Error::Internal(fmt::format("container {} did not exit after SIGKILL", rec.id)));
  }
  // Here rather than by the monitor: rm -f and restart remove or restart the container before
  // the monitor gets the lock, and Docker reports "die" for those too.
  ReportExit(ctx, rec);
  return {};
}

void ReportExit(ContainerContext* ctx, ContainerRecord& rec, bool persist) {
  if (rec.state.exit_reported) return;
  rec.state.exit_reported = true;
  if (persist) (void)ctx->containers->Update(rec);
  PublishContainerEvent(ctx, rec, "die", {{"exitCode", std::to_string(rec.state.exit_code)}});
}

base::Result<int64_t> ParseLogSize(std::string_view text) {
  std::string t(base::Trim(text));
  int64_t unit = 1;
  if (!t.empty()) {
    switch (t.back() | 0x20) {
      case 'k':
        unit = 1 << 10;
        break;
      case 'm':
        unit = 1 << 20;
        break;
      case 'g':
        unit = int64_t(1) << 30;
        break;
      default:
        break;
    }
    if (unit != 1) t.pop_back();
  }
  auto n = base::ParseInt(t);
  if (!n || *n < 0)
    return Fail(Error::InvalidArgument(fmt::format("invalid max-size \"{}\"", text)));
  return *n * unit;
}

base::Status RemoveContainer(ContainerContext* ctx, const ContainerRecord& rec) {
  Paths p = PathsOf(ctx, rec.id);
  // A mount begun at create ends before the unmount; a prelaunched shim removes what it made
  // (and is gone) before we look for a running one.
  (void)ctx->premounts.Take(rec.id);
  sys::UniqueFd shim = OpenRunningShim(p);  // before its state dir goes to the trash
  EndExecs(ctx, rec.id);
  UnmountRootfs(p.rootfs);
  if (auto st = ctx->images->snapshots->RemoveContainer(rec.id, !rec.auto_remove);
      !st && st.error().code() != base::ErrorCode::kNotFound)
    return st;
  auto discard = [&](const std::string& dir) {
    if (auto st = ctx->trash ? ctx->trash->Discard(dir) : sys::RemoveAll(dir); !st)
      base::LogWarn("remove {}: {}", dir, st.error().message());
  };
  discard(ctx->exec_root + "/containers/" + rec.id);
  discard(p.data);
  ctx->attaches.Drop(rec.id);
  // Removed means its cgroups are gone too: those are the shim's last step after exit.json.
  // Waited for before its state dir goes, where the shim marks that step done.
  WaitForShimCleanup(p, shim, std::chrono::seconds(5), ctx->background);
  discard(p.state);
  ctx->containers->Remove(rec.id);
  PublishContainerEvent(ctx, rec, "destroy");
  base::LogInfo("removed container {}", rec.id);
  return {};
}

std::map<std::string, std::string> LabelsOf(const ContainerRecord& rec) {
  std::map<std::string, std::string> labels;
  json body = ParseRequestJson(rec);
  if (auto it = body.find("Labels"); it != body.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      if (v.is_string()) labels[k] = v.get<std::string>();
  }
  return labels;
}

std::map<std::string, std::string> ContainerEventAttributes(const ContainerRecord& rec) {
  std::map<std::string, std::string> attrs = rec.labels ? *rec.labels : LabelsOf(rec);
  attrs["name"] = rec.name;
  attrs["image"] = rec.image;
  return attrs;
}

void PublishContainerEvent(ContainerContext* ctx, const ContainerRecord& rec,
                           const std::string& action,
                           const std::map<std::string, std::string>& extra) {
  if (!ctx->events) return;
  Event e;
  e.type = "container";
  e.action = action;
  e.id = rec.id;
  e.attributes = ContainerEventAttributes(rec);
  for (const auto& [k, v] : extra) e.attributes[k] = v;
  ctx->events->Publish(std::move(e));
}

std::string ReadInRoot(const std::string& rootfs, const std::string& path) {
  auto root = sys::Open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (!root) return "";
  auto fd = sys::OpenInRoot(root->get(), path, O_RDONLY | O_CLOEXEC);
  if (!fd) return "";
  return sys::ReadFd(fd->get()).value_or("");
}

}  // namespace berth::daemon
