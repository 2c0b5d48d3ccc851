// exec: start a new process inside a running container's namespaces and cgroup.
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "base/scope_guard.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/linux/init.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/seccomp.h"
#include "runtime/sync.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

namespace {

bool SameNamespace(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

}  // namespace

base::Result<int> Runtime::Exec(const ExecOptions& opts) {
  auto rec = TRY(store_.Load(opts.id));
  std::string status = ContainerStatus(store_, rec);
  if (status == "stopped") return Fail(Error::Conflict("cannot exec in a stopped container"));
  if (status == "paused") return Fail(Error::Conflict("cannot exec in a paused container"));
  auto spec = TRY(store_.LoadConfig(opts.id));
  const oci::Process& proc = opts.process;
  if (proc.args.empty()) return Fail(Error::InvalidArgument("exec: args must not be empty"));
  if (proc.terminal && opts.console_socket.empty() && opts.detach)
    return Fail(Error::InvalidArgument(
        "cannot allocate tty if berth-runtime will detach without setting console socket"));

  // Join every namespace the init has that differs from ours.
  std::vector<oci::Namespace> joins;
  if (spec.linux) {
    for (const auto& ns : spec.linux->namespaces) {
      std::string name = linux::ProcNsName(ns.type);
      std::string theirs = fmt::format("/proc/{}/ns/{}", rec.pid, name);
      if (SameNamespace(theirs, "/proc/self/ns/" + name)) continue;
      joins.push_back({ns.type, theirs});
    }
  }
  auto plan = TRY(linux::PlanNamespaces(joins));
  std::optional<linux::CompiledFilter> filter;
  if (spec.linux && spec.linux->seccomp)
    filter =
        TRY(linux::CompileSeccompCached(*spec.linux->seccomp, store_.root() + "/.cache/seccomp"));
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
    return Fail(Error::FromErrno(errno, "socketpair"));
  sys::UniqueFd parent_sock(sp[0]), child_sock(sp[1]);

  linux::InitConfig init;
  init.spec = &spec;
  init.process = &proc;
  init.namespaces = &plan;
  init.sync_fd = child_sock.get();
  init.wait_for_start = false;
  init.preserve_fds = opts.preserve_fds;
  init.exec_mode = true;
  init.seccomp = filter ? &*filter : nullptr;

  for (auto& j : plan.joins) {
    if (j.flag == CLONE_NEWPID && ::setns(j.fd.get(), CLONE_NEWPID) != 0)
      return Fail(Error::FromErrno(errno, "setns pid"));
  }
  sigset_t forwarded;
  if (!opts.detach) forwarded = BlockForwardedSignals();
  base::ScopeGuard restore([&] {
    if (!opts.detach) RestoreSignals();
  });
  // Non-dumpable until execve: a process inside cannot reach the runtime binary through
  // /proc/<pid>/exe while we are in its namespaces (CVE-2019-5736, CVE-2016-9962).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::optional<CpuPin> pin(std::in_place);
  init.restore_affinity = pin->saved();
  pid_t pid = TRY(sys::CloneProcess(0));
  if (pid == 0) {
    parent_sock.Reset();
    linux::RunInit(init);
  }
  child_sock.Reset();
  base::ScopeGuard kill_child([&] {
    ::kill(pid, SIGKILL);
    (void)sys::WaitPid(pid);
  });
  TRY(SendSync(parent_sock.get(), SyncType::kGo));
  if (!rec.cgroup_paths.empty()) {
    auto layout = TRY(cgroup::DetectHostLayout());
    auto mgr = TRY(cgroup::LoadManager(layout, rec.cgroup_paths));
    TRY_CTX(mgr->Apply(pid), "join container cgroup");
  }
  TRY(SendToInit(parent_sock.get(), SyncType::kCgroupDone));
  sys::UniqueFd pty_master;
  while (true) {
    auto msg = RecvSync(parent_sock.get());
    if (!msg) return Fail(Error::Internal("exec process exited during setup"));
    if (msg->type == SyncType::kError) return Fail(Error::Internal(msg->payload));
    if (msg->type == SyncType::kReady) break;
    if (msg->type == SyncType::kSeccompFd) {
      const auto& sc = *spec.linux->seccomp;
      TRY(SendSeccompListener(sc.listener_path, sc.listener_metadata, msg->fd.get(), pid,
                              oci::SerializeState(ToOciState(rec, "running"))));
      TRY(SendToInit(parent_sock.get(), SyncType::kSeccompDone));
      continue;
    }
    if (msg->type == SyncType::kPty) {
      if (!opts.console_socket.empty()) {
        auto sock = TRY_CTX(sys::ConnectUnix(opts.console_socket), "console socket");
        TRY(sys::SendFd(sock.get(), msg->fd.get(), msg->payload));
      } else {
        pty_master = std::move(msg->fd);
      }
    }
  }
  // EOF: execve succeeded (the socket is CLOEXEC); a message is the exec error.
  auto after = RecvSync(parent_sock.get());
  if (after && after->type == SyncType::kError) return Fail(Error::Internal(after->payload));
  pin.reset();  // a foreground exec relays its process's I/O from any CPU
  TRY(WritePidFile(opts.pid_file, pid));
  kill_child.Dismiss();
  if (opts.detach) return 0;
  restore.Dismiss();
  auto code = WaitForeground(pid, forwarded, std::move(pty_master));
  RestoreSignals();
  return code;
}

}  // namespace berth::runtime
