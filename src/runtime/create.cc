// create and run: parse the bundle, plan namespaces and cgroups, clone the init, drive it
// through the sync protocol (runtime/sync.h) and record the container.
#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "base/time.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/linux/init.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/rootfs.h"
#include "runtime/linux/seccomp.h"
#include "runtime/sync.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

struct Runtime::Created {
  pid_t pid = 0;
  bool started = false;  // the init has exec'd the container's process already (no kStart)
  sys::UniqueFd sync;
  sys::UniqueFd pty_master;
  oci::Spec spec;
  ContainerRecord record;
};

namespace {

// The canonical absolute path of an existing file, as realpath(3) gives it. realpath reads
// every component's link (17 system calls for a bundle and its rootfs here); the kernel's own
// name for an O_PATH descriptor of the file is the same path, in three. realpath where /proc
// cannot say (not mounted; a name the kernel marks unreachable).
base::Result<std::string> AbsPath(const std::string& p) {
  char buf[PATH_MAX];
  sys::UniqueFd fd(::open(p.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return Fail(Error::FromErrno(errno, fmt::format("resolve \"{}\"", p)));
  ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", fd.get()).c_str(), buf, sizeof buf - 1);
  if (n > 0 && static_cast<size_t>(n) < sizeof buf - 1 && buf[0] == '/')
    return std::string(buf, static_cast<size_t>(n));
  if (!::realpath(p.c_str(), buf))
    return Fail(Error::FromErrno(errno, fmt::format("resolve \"{}\"", p)));
  return std::string(buf);
}

// The caller's user name from /etc/passwd, read directly: NSS (getpwuid) would load shared
// modules, which a statically linked runtime cannot.
// Kept for the process (the runtime is single-threaded; PrepareLaunch reads it ahead).
std::string OwnerName() {
  static uid_t cached_uid = static_cast<uid_t>(-1);
  static std::string cached;
  uid_t uid = ::geteuid();
  if (uid == cached_uid) return cached;
  cached = std::to_string(uid);
  if (auto passwd = sys::ReadFile("/etc/passwd")) {
    for (auto& line : base::Split(*passwd, '\n')) {
      auto f = base::Split(line, ':');
      if (f.size() > 2 && base::ParseUint(f[2]) == uid) {
        cached = f[0];
        break;
      }
    }
  }
  cached_uid = uid;
  return cached;
}

std::string MappingText(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

linux::CgroupView MakeCgroupView(cgroup::CgroupMode mode,
                                 const std::map<std::string, std::string>& paths) {
  linux::CgroupView view;
  view.v2 = mode == cgroup::CgroupMode::kV2;
  std::map<std::string, std::string> by_dir;
  for (const auto& [subsystem, dir] : paths) {
    if (view.v2) {
      view.hierarchies.emplace_back("", dir);
      break;
    }
    // Name inside /sys/fs/cgroup: the hierarchy's mount directory ("cpu,cpuacct", "unified").
    std::string rel = dir.substr(std::string("/sys/fs/cgroup/").size() <= dir.size()
                                     ? std::string("/sys/fs/cgroup/").size()
                                     : 0);
    std::string name = rel.substr(0, rel.find('/'));
    if (subsystem == cgroup::kUnifiedKey) name = "unified";
    by_dir[name] = dir;
  }
  for (auto& kv : by_dir) view.hierarchies.push_back(kv);
  return view;
}

// runc's always-allowed devices, appended after the config's rules: mknod of any node (the
// init creates /dev), the default nodes, ptys and /dev/net/tun.
void AppendDefaultDeviceRules(std::vector<oci::DeviceRule>& rules) {
  if (rules.empty()) return;  // no device rules at all: nothing is denied
  auto add = [&](const char* type, int64_t major, int64_t minor, const char* access) {
    oci::DeviceRule r;
    r.allow = true;
    r.type = type;
    if (major >= 0) r.major = major;
    if (minor >= 0) r.minor = minor;
    r.access = access;
    rules.push_back(r);
  };
  add("c", -1, -1, "m");
  add("b", -1, -1, "m");
  for (auto [maj, min] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}})
    add("c", maj, min, "rwm");
  add("c", 136, -1, "rwm");
  add("c", 10, 200, "rwm");
}

// Whether the init can set itself up while the parent waits in sys::CloneVfork (see
// InitConfig::parent_suspended): nothing in the config may need the parent meanwhile.
bool CanSuspendParent(const oci::Spec& spec, const linux::NamespacePlan& plan,
                      const linux::CompiledFilter* filter) {
#if defined(__SANITIZE_ADDRESS__)
  return false;  // ASan does not follow a child onto a stack of its own in shared memory
#endif
  if (!__libc_single_threaded) return false;
  if (plan.HasNew(CLONE_NEWUSER)) return false;  // the parent writes the id maps
  for (const auto& j : plan.joins)
    if (j.flag == CLONE_NEWUSER) return false;  // setns to a user namespace wants a private mm
  if (filter && filter->NeedsListener()) return false;
  if (spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty() ||
                     !spec.hooks->create_container.empty() || !spec.hooks->start_container.empty()))
    return false;  // they run with the init waiting, and are given its host pid
  return true;
}

int InitEntry(void* config) { linux::RunInit(*static_cast<linux::InitConfig*>(config)); }

base::Status ApplyResources(cgroup::Manager& mgr, const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->resources) return {};
  oci::Resources resources = *spec.linux->resources;
  AppendDefaultDeviceRules(resources.devices);
  TRY_CTX(mgr.Set(resources), "cgroup");
  return {};
}

std::string StateJson(const ContainerRecord& rec, const std::string& status, pid_t pid) {
  oci::State s = ToOciState(rec, status);
  s.pid = pid;
  return oci::SerializeState(s);
}

// The pty master the init made: to the console socket when there is one, else kept for `run`.
base::Status HandOverPty(const CreateOptions& opts, sys::UniqueFd master, const std::string& name,
                         sys::UniqueFd& keep) {
  if (opts.console_socket.empty()) {
    keep = std::move(master);
    return {};
  }
  auto sock = TRY_CTX(sys::ConnectUnix(opts.console_socket), "console socket");
  TRY(sys::SendFd(sock.get(), master.get(), name));
  return {};
}

// The parent's side of the sync protocol with an init that waits for it (runtime/sync.h), from
// the clone until the init is ready. The record is saved on the way.
base::Status DriveInit(const CreateOptions& opts, const oci::Spec& spec,
                       const linux::NamespacePlan& plan, cgroup::Manager& mgr, bool in_cgroup,
                       int sock, StateStore& store, ContainerRecord& rec,
                       const std::string& config_text, sys::UniqueFd& pty_master) {
  const pid_t pid = rec.pid;
  const oci::Process& proc = *spec.process;
  if (plan.HasNew(CLONE_NEWUSER)) {
    TRY(sys::WriteExisting(fmt::format("/proc/{}/uid_map", pid),
                           MappingText(spec.linux->uid_mappings)));
    TRY(sys::WriteExisting(fmt::format("/proc/{}/gid_map", pid),
                           MappingText(spec.linux->gid_mappings)));
  }
  if (proc.oom_score_adj)
    TRY(sys::WriteExisting(fmt::format("/proc/{}/oom_score_adj", pid),
                           std::to_string(*proc.oom_score_adj)));
  TRY(SendSync(sock, SyncType::kGo, std::to_string(pid)));
  // Recorded now, while the init builds its rootfs, rather than once it is ready: then nothing
  // is left to write between "ready" and the start of `run`. The start time is fixed at clone.
  rec.start_time = TRY(sys::ProcessStartTime(pid));
  rec.created = base::NowRfc3339Nano();
  TRY(store.Save(rec, config_text));
  if (!in_cgroup) TRY_CTX(mgr.Apply(pid), "cgroup");
  TRY(SendToInit(sock, SyncType::kCgroupDone));

  while (true) {
    auto msg = RecvSync(sock);
    if (!msg) return Fail(Error::Internal("container init exited during setup"));
    if (msg->type == SyncType::kError) return Fail(Error::Internal(msg->payload));
    if (msg->type == SyncType::kReady) return {};
    if (msg->type == SyncType::kRunHooks) {
      TRY(ApplyResources(mgr, spec));
      if (spec.hooks) {
        std::string state = StateJson(rec, "creating", pid);
        TRY(RunHooks(spec.hooks->prestart, "prestart", state));
        TRY(RunHooks(spec.hooks->create_runtime, "createRuntime", state));
      }
      TRY(SendToInit(sock, SyncType::kHooksDone));
    } else if (msg->type == SyncType::kSeccompFd) {
      const auto& sc = *spec.linux->seccomp;
      TRY(SendSeccompListener(sc.listener_path, sc.listener_metadata, msg->fd.get(), pid,
                              StateJson(rec, "creating", pid)));
      TRY(SendToInit(sock, SyncType::kSeccompDone));
    } else if (msg->type == SyncType::kPty) {
      TRY(HandOverPty(opts, std::move(msg->fd), msg->payload, pty_master));
    }
  }
}

}  // namespace

void PrepareLaunch() {
  (void)OwnerName();
  sys::PrepareVforkStack();
}

base::Status WritePidFile(const std::string& path, pid_t pid) {
  std::string abs = path;
  if (abs.empty()) return {};
  if (abs[0] != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return Fail(Error::FromErrno(errno, "getcwd"));
    abs = std::string(cwd) + "/" + abs;
  }
  size_t slash = abs.rfind('/');
  std::string tmp = abs.substr(0, slash + 1) + "." + abs.substr(slash + 1);
  {
    auto fd = TRY(sys::Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    TRY(sys::WriteAll(fd.get(), std::to_string(pid)));
  }
  if (::rename(tmp.c_str(), abs.c_str()) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("rename pid file to \"{}\"", abs)));
  return {};
}

base::Result<Runtime::Created> Runtime::CreateContainer(const CreateOptions& opts, Mode mode) {
  std::string bundle = TRY_CTX(AbsPath(opts.bundle), "bundle");
  std::string config_text =
      opts.spec ? opts.config_text
                : TRY_CTX(sys::ReadFile(bundle + "/config.json"), "loading config.json");
  oci::Spec spec = opts.spec ? *opts.spec : TRY_CTX(oci::ParseSpec(config_text), "config.json");
  TRY_CTX(oci::ValidateSpec(spec), "config.json");
  if (!spec.process || spec.process->args.empty())
    return Fail(Error::InvalidArgument("config.json: process.args must not be empty"));
  const oci::Process& proc = *spec.process;
  if (proc.terminal && opts.console_socket.empty() && mode != Mode::kRunForeground &&
      mode != Mode::kLaunch)
    return Fail(Error::InvalidArgument(
        "cannot allocate tty if berth-runtime will detach without setting console socket"));
  if (!proc.terminal && !opts.console_socket.empty())
    return Fail(Error::InvalidArgument(
        "cannot use console socket if berth-runtime will not detach or allocate tty"));
  std::string rootfs = spec.root.path;
  if (rootfs.empty() || rootfs[0] != '/') rootfs = bundle + "/" + rootfs;
  rootfs = TRY_CTX(AbsPath(rootfs), "root.path");

  auto plan = TRY(
      linux::PlanNamespaces(spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{}));
  if (spec.linux) {
    for (const auto& [k, v] : spec.linux->sysctl)
      TRY_CTX(linux::ValidateSysctl(k, plan.Has(CLONE_NEWIPC), plan.Has(CLONE_NEWNET),
                                    plan.Has(CLONE_NEWUTS)),
              "linux.sysctl");
    if (plan.HasNew(CLONE_NEWUSER) &&
        (spec.linux->uid_mappings.empty() || spec.linux->gid_mappings.empty()))
      return Fail(Error::InvalidArgument(
          "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings"));
  }
  (void)linux::UseSpareNetworkNamespace(plan, opts.spare_netns);
  std::optional<linux::CompiledFilter> filter;
  if (spec.linux && spec.linux->seccomp)
    filter = TRY_CTX(
        linux::CompileSeccompCached(*spec.linux->seccomp, store_.root() + "/.cache/seccomp"),
        "linux.seccomp");

  TRY(store_.CreateDir(opts.id));
  base::ScopeGuard remove_dir([&] { (void)store_.Remove(opts.id); });

  auto layout = TRY(cgroup::DetectHostLayout());
  cgroup::ManagerOptions mopts;
  mopts.systemd_path = options_.systemd_cgroup;
  {
    const oci::Resources* res =
        spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    mopts.cpuset_on_demand =
        !(res && res->cpu && (!res->cpu->cpus.empty() || !res->cpu->mems.empty()));
  }
  auto mgr =
      TRY(cgroup::NewManager(layout, spec.linux ? spec.linux->cgroups_path : "", opts.id, mopts));

  sys::UniqueFd fifo;
  if (mode == Mode::kCreate) {
    std::string fifo_path = store_.FifoPath(opts.id);
    if (::mkfifo(fifo_path.c_str(), 0600) != 0)
      return Fail(Error::FromErrno(errno, "mkfifo exec.fifo"));
    fifo = TRY(sys::Open(fifo_path, O_RDONLY | O_NONBLOCK));
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
    return Fail(Error::FromErrno(errno, "socketpair"));
  sys::UniqueFd parent_sock(sp[0]), child_sock(sp[1]);

  ContainerRecord rec;
  rec.id = opts.id;
  rec.bundle = bundle;
  rec.rootfs = rootfs;
  rec.owner = OwnerName();
  rec.annotations = spec.annotations;
  rec.cgroup_paths = mgr->Paths();
  rec.cgroup_mode = cgroup::CgroupModeName(layout.mode);

  linux::InitConfig init;
  init.spec = &spec;
  init.process = &proc;
  init.namespaces = &plan;
  init.rootfs.spec = &spec;
  init.rootfs.rootfs = rootfs;
  init.rootfs.bundle = bundle;
  init.rootfs.user_ns = plan.Has(CLONE_NEWUSER);
  init.rootfs.net_ns = plan.Has(CLONE_NEWNET);
  init.rootfs.cgroup_ns = plan.Has(CLONE_NEWCGROUP);
  init.rootfs.cgroup = MakeCgroupView(layout.mode, mgr->JoinedPaths());
  init.sync_fd = child_sock.get();
  init.fifo_fd = fifo.get();
  init.no_pivot = opts.no_pivot;
  init.preserve_fds = opts.preserve_fds;
  init.seccomp = filter ? &*filter : nullptr;
  init.hook_state = ToOciState(rec, "creating");
  init.parent_suspended =
      mode != Mode::kCreate && CanSuspendParent(spec, plan, filter ? &*filter : nullptr);
  if (init.parent_suspended) {
    init.join_cgroup = [&] { return mgr->Apply(0); };  // 0: the writing process itself
    init.apply_resources = [&] { return ApplyResources(*mgr, spec); };
  }
  if (mode == Mode::kLaunch && opts.prelaunch_fd >= 0) {
    // The init waits while its parent sleeps in the clone: only a suspended parent allows it.
    if (!init.parent_suspended)
      return Fail(Error::Unavailable("this container cannot be prelaunched"));
    init.prelaunch_fd = opts.prelaunch_fd;
    init.prelaunch_wait_ms = opts.prelaunch_wait_ms;
  }

  // Create the cgroup directories now: the init bind-mounts them while the parent attaches it.
  TRY_CTX(mgr->Apply(-1), "cgroup");
  std::optional<CpuPin> pin;  // only while messages go back and forth (see CpuPin)
  if (!init.parent_suspended) init.restore_affinity = pin.emplace().saved();
  base::ScopeGuard remove_cgroup([&] { (void)mgr->Destroy(); });
  for (auto& j : plan.joins) {
    if (j.flag == CLONE_NEWPID && ::setns(j.fd.get(), CLONE_NEWPID) != 0)
      return Fail(Error::FromErrno(errno, "setns pid"));
  }
  if (mode == Mode::kLaunch && opts.before_clone) TRY(opts.before_clone());
  // Non-dumpable is inherited by the child and kept until its execve: processes already in the
  // container cannot open /proc/<init>/exe (the runtime binary) meanwhile (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // A suspended parent's init joins its cgroup by itself. Otherwise, on pure v2 the child is
  // born in its cgroup (clone3 CLONE_INTO_CGROUP) and needs no move.
  bool in_cgroup = false;
  pid_t pid = -1;
  if (init.parent_suspended) {
    pid = TRY(sys::CloneVfork(plan.new_flags, &InitEntry, &init));
  } else if (layout.mode == cgroup::CgroupMode::kV2) {
    auto paths = mgr->Paths();
    if (auto it = paths.find(cgroup::kUnifiedKey); it != paths.end()) {
      if (auto cg = sys::Open(it->second, O_PATH | O_DIRECTORY)) {
        if (auto p = sys::CloneProcessInto(plan.new_flags, cg->get())) {
          pid = *p;
          in_cgroup = true;
        }
      }
    }
  }
  if (pid < 0) pid = TRY(sys::CloneProcess(plan.new_flags));
  if (pid == 0) {
    parent_sock.Reset();
    linux::RunInit(init);
  }
  child_sock.Reset();
  fifo.Reset();
  base::ScopeGuard kill_child([&] {
    ::kill(pid, SIGKILL);
    (void)sys::WaitPid(pid);
  });
  rec.pid = pid;
  Created out;
  if (init.parent_suspended) {
    // Back from the clone, the init has exec'd the container's process or exited; what it had
    // to say is queued on the socket, whose other end is closed now either way.
    while (auto msg = RecvSync(parent_sock.get())) {
      if (msg->type == SyncType::kError && msg->payload == linux::kNoStart)
        return Fail(Error::Unavailable(msg->payload));
      if (msg->type == SyncType::kError) return Fail(Error::Internal(msg->payload));
      if (msg->type == SyncType::kPty)
        TRY(HandOverPty(opts, std::move(msg->fd), msg->payload, out.pty_master));
    }
    if (!init.exec_started) return Fail(Error::Internal("container init exited during setup"));
    // The process may have run and exited already: its start time stays readable until reaped.
    rec.start_time = TRY(sys::ProcessStartTime(pid, /*even_if_exited=*/true));
    rec.created = base::NowRfc3339Nano();
    TRY(store_.Save(rec, config_text));
    out.started = true;
  } else {
    TRY(DriveInit(opts, spec, plan, *mgr, in_cgroup, parent_sock.get(), store_, rec, config_text,
                  out.pty_master));
  }
  TRY(WritePidFile(opts.pid_file, pid));
  kill_child.Dismiss();
  remove_cgroup.Dismiss();
  remove_dir.Dismiss();
  out.pid = pid;
  out.sync = std::move(parent_sock);
  out.spec = std::move(spec);
  out.record = std::move(rec);
  return out;
}

base::Status Runtime::Create(const CreateOptions& options) {
  TRY(CreateContainer(options, Mode::kCreate));
  return {};
}

base::Status Runtime::StartCreated(Created& created) {
  if (!created.started) {
    TRY(SendToInit(created.sync.get(), SyncType::kStart));
    // The socket closes on a successful execve (CLOEXEC); a message here is an exec error.
    auto msg = RecvSync(created.sync.get());
    if (msg && msg->type == SyncType::kError) {
      (void)sys::WaitPid(created.pid);
      (void)Destroy(created.record, &created.spec);
      return Fail(Error::Internal(msg->payload));
    }
  }
  created.sync.Reset();
  return {};
}

base::Result<int> Runtime::Run(const CreateOptions& options, bool detach, bool keep) {
  sigset_t forwarded;
  if (!detach) forwarded = BlockForwardedSignals();
  auto created = CreateContainer(options, detach ? Mode::kRunDetached : Mode::kRunForeground);
  if (!created) {
    if (!detach) RestoreSignals();
    return Fail(std::move(created).error());
  }
  TRY(StartCreated(*created));
  if (created->spec.hooks && !created->spec.hooks->poststart.empty()) {
    auto st = RunHooks(created->spec.hooks->poststart, "poststart",
                       StateJson(created->record, "running", created->pid));
    if (!st) {
      ::kill(created->pid, SIGKILL);
      if (!detach) (void)sys::WaitPid(created->pid);
      (void)Destroy(created->record, &created->spec);
      return Fail(std::move(st).error());
    }
  }
  if (detach) return 0;
  auto code = WaitForeground(created->pid, forwarded, std::move(created->pty_master));
  RestoreSignals();
  // The record and config are still in memory: no need to reload them from the state dir.
  if (!keep) TRY(Destroy(created->record, &created->spec));
  return code;
}

base::Result<Launched> Runtime::Launch(const CreateOptions& options) {
  auto created = TRY(CreateContainer(options, Mode::kLaunch));
  TRY(StartCreated(created));
  if (created.spec.hooks && !created.spec.hooks->poststart.empty()) {
    auto st = RunHooks(created.spec.hooks->poststart, "poststart",
                       StateJson(created.record, "running", created.pid));
    if (!st) {
      ::kill(created.pid, SIGKILL);
      (void)sys::WaitPid(created.pid);
      (void)Destroy(created.record, &created.spec);
      return Fail(std::move(st).error());
    }
  }
  Launched out;
  out.pid = created.pid;
  out.pty_master = std::move(created.pty_master);
  out.cgroup_paths = std::move(created.record.cgroup_paths);
  return out;
}

}  // namespace berth::runtime
