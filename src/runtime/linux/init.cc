// Container init, between clone and execve.
#include "runtime/linux/init.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/strings.h"
#include "runtime/hooks.h"
#include "runtime/linux/process_setup.h"
#include "runtime/sync.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::runtime::linux {

using base::Error;
using base::Fail;

namespace {

// Opens a pty in the container's devpts, makes the slave our controlling terminal and stdio and
// /dev/console, and hands the master to the parent.
base::Status SetupConsole(InitConfig& c) {
  sys::UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Fail(Error::FromErrno(errno, "open /dev/ptmx"));
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0)
    return Fail(Error::FromErrno(errno, "unlock pty"));
  int n = 0;
  if (::ioctl(master.get(), TIOCGPTN, &n) != 0) return Fail(Error::FromErrno(errno, "TIOCGPTN"));
  std::string name = fmt::format("/dev/pts/{}", n);
  sys::UniqueFd slave(::open(name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Fail(Error::FromErrno(errno, fmt::format("open {}", name)));
  if (c.process->console_size) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(c.process->console_size->height);
    ws.ws_col = static_cast<unsigned short>(c.process->console_size->width);
    ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  if (::fchown(slave.get(), c.process->user.uid, c.process->user.gid) != 0 && errno != EINVAL &&
      errno != EPERM)
    return Fail(Error::FromErrno(errno, "chown pty"));
  if (!c.exec_mode) {
    int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) ::close(fd);
    TRY(sys::Mount(name, "/dev/console", "", MS_BIND, ""));
  }
  TRY(SendSync(c.sync_fd, SyncType::kPty, name, master.get()));
  master.Reset();
  if (::setsid() < 0) return Fail(Error::FromErrno(errno, "setsid"));
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return Fail(Error::FromErrno(errno, "TIOCSCTTY"));
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return Fail(Error::FromErrno(errno, "dup2 pty"));
  return {};
}

// The signals whose disposition is SIG_IGN (bit N-1: signal N), from /proc/self/status;
// nullopt when that cannot be read (no /proc in the container, an unexpected format).
std::optional<uint64_t> IgnoredSignals() {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[8192];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = ::read(fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += static_cast<size_t>(n);
  ::close(fd);
  buf[len] = '\0';
  const char* p = std::strstr(buf, "\nSigIgn:");
  if (!p) return std::nullopt;
  p += 8;
  while (*p == ' ' || *p == '\t') ++p;
  char* end = nullptr;
  errno = 0;
  unsigned long long mask = std::strtoull(p, &end, 16);
  if (end == p || errno != 0) return std::nullopt;
  return static_cast<uint64_t>(mask);
}

// execve resets handlers but keeps SIG_IGN, so the container would inherit whatever its
// launcher ignored: SIGPIPE (most daemons, berthd included, and the hook runner here),
// SIGINT/SIGQUIT (a background job of a shell), glibc's two internal signals (posix_spawn sets
// them to SIG_IGN in the child). A process in a container starts with every signal at its
// default, as under Docker. Only the ignored ones need a call (one read of /proc/self/status
// instead of 62 rt_sigaction calls, ~60 us on the reference VM); all of them when the mask
// cannot be read. Best effort: a custom seccomp filter may refuse rt_sigaction.
void ResetSignalDispositions() {
  const std::optional<uint64_t> ignored = IgnoredSignals();
  auto needs_reset = [&](int sig) {
    return sig != SIGKILL && sig != SIGSTOP &&
           (!ignored || (*ignored & (uint64_t{1} << (sig - 1))) != 0);
  };
#if defined(__x86_64__) || defined(__aarch64__)
  // The kernel's struct sigaction there; the raw call because glibc's sigaction() refuses its
  // internal signals (32 and 33).
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < NSIG; ++sig)
    if (needs_reset(sig)) ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
#else
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (needs_reset(sig)) ::sigaction(sig, &dfl, nullptr);
#endif
}

base::Status WaitForStart(InitConfig& c) {
  if (c.fifo_fd < 0) {
    TRY(ExpectSync(c.sync_fd, SyncType::kStart));
    return {};
  }
  // The fifo was opened O_RDONLY|O_NONBLOCK: poll sleeps until `start` opens it for writing
  // (a fifo reports POLLHUP only after a writer has come and gone).
  while (true) {
    struct pollfd p = {c.fifo_fd, POLLIN, 0};
    int r = ::poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(Error::FromErrno(errno, "poll exec fifo"));
    char b;
    (void)::read(c.fifo_fd, &b, 1);
    return {};
  }
}

// Prelaunch: tells the caller's peer the container is ready, and waits for the start record,
// leaving it for the caller (it carries fds that must not reach the container).
base::Status AwaitPrelaunchStart(const InitConfig& c) {
  static constexpr char kReady[] = "ready\n";
  if (::send(c.prelaunch_fd, kReady, sizeof kReady - 1, MSG_NOSIGNAL) < 0)
    return Fail(Error::FromErrno(errno, "prelaunch: send ready"));
  // The sync socket too: its end in the parent (asleep in the clone) closes only if the parent
  // was killed, and then nobody would own the container once it runs.
  struct pollfd p[2] = {{c.prelaunch_fd, POLLIN, 0}, {c.sync_fd, POLLIN, 0}};
  int n;
  while ((n = ::poll(p, 2, c.prelaunch_wait_ms)) < 0 && errno == EINTR) {
  }
  if (n < 0) return Fail(Error::FromErrno(errno, "prelaunch: poll"));
  if (n == 0) return Fail(Error::Unavailable(std::string(kNoStart)));
  if (p[1].revents != 0) return Fail(Error::Internal("prelaunch: the runtime is gone"));
  char b;
  ssize_t r = ::recv(c.prelaunch_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r < 0) return Fail(Error::FromErrno(errno, "prelaunch: recv"));
  if (r == 0) return Fail(Error::Unavailable(std::string(kNoStart)));
  ::close(c.prelaunch_fd);
  return {};
}

base::Status Init(InitConfig& c) {
  const oci::Spec& spec = *c.spec;
  const oci::Process& proc = *c.process;
  // Die with the runtime until set up: a killed `create` must not leave a half-built container.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // The parent blocks signals it forwards (signalfd); the container starts with none blocked.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!c.parent_suspended) {
    auto go = TRY(ExpectSync(c.sync_fd, SyncType::kGo));
    if (auto host_pid = base::ParseInt(go.payload)) c.hook_state.pid = static_cast<int>(*host_pid);
  }
  auto hook_state = [&](const char* status) {
    c.hook_state.status = status;
    return oci::SerializeState(c.hook_state);
  };
  // Namespaces by path (pid was joined by the parent before clone).
  TRY(JoinNamespaces(*c.namespaces, /*skip_pid=*/true));
  if (c.namespaces->HasNew(CLONE_NEWUSER)) {
    if (::setresgid(0, 0, 0) != 0) return Fail(Error::FromErrno(errno, "setresgid 0 in userns"));
    if (::setresuid(0, 0, 0) != 0) return Fail(Error::FromErrno(errno, "setresuid 0 in userns"));
  }
  // A new network namespace gets a working loopback, as runc's does (and Docker's
  // `--network none`); the kernel creates lo down.
  if (!c.exec_mode && c.namespaces->HasNew(CLONE_NEWNET)) TRY(BringLoopbackUp());
  if (c.parent_suspended && proc.oom_score_adj)
    TRY(sys::WriteExisting("/proc/self/oom_score_adj", std::to_string(*proc.oom_score_adj)));
  // A parent that is not suspended joins us to our cgroup while we build the rootfs: on older
  // kernels the first write to cgroup.procs waits for an RCU grace period
  // (cgroup_threadgroup_rwsem), and overlapping it with the mounts hides most of it. A cgroup2
  // mount in a new cgroup namespace must see the namespace, so that case waits first.
  bool cgroup_joined = false;
  auto join_cgroup = [&]() -> base::Status {
    if (cgroup_joined) return {};
    cgroup_joined = true;
    if (c.parent_suspended)
      TRY(c.join_cgroup());
    else
      TRY(ExpectSync(c.sync_fd, SyncType::kCgroupDone));
    // A new cgroup namespace roots at the cgroup we were just put in.
    if (c.namespaces->new_cgroup && ::unshare(CLONE_NEWCGROUP) != 0)
      return Fail(Error::FromErrno(errno, "unshare cgroup namespace"));
    return {};
  };
  // Without a parent to overlap with, join at once: the rootfs work is then charged to the
  // container, as with CLONE_INTO_CGROUP.
  if (!c.exec_mode && (c.parent_suspended || (c.rootfs.cgroup.v2 && c.namespaces->new_cgroup)))
    TRY(join_cgroup());

  if (!c.exec_mode) {
    if (c.namespaces->HasNew(CLONE_NEWUTS)) {
      if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
        return Fail(Error::FromErrno(errno, "sethostname"));
      if (!spec.domainname.empty() &&
          ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
        return Fail(Error::FromErrno(errno, "setdomainname"));
    }
    ::umask(0);
    if (c.namespaces->Has(CLONE_NEWNS)) TRY(PrepareRootfs(c.rootfs));
    ::umask(022);
    TRY(join_cgroup());
    // Limits are applied only now: device rules that deny mknod must not race the /dev setup
    // above. The parent also runs prestart/createRuntime hooks at this point.
    if (c.parent_suspended) {
      TRY(c.apply_resources());
    } else {
      TRY(SendSync(c.sync_fd, SyncType::kRunHooks));
      TRY(ExpectSync(c.sync_fd, SyncType::kHooksDone));
    }
    if (spec.hooks && !spec.hooks->create_container.empty())
      TRY(RunHooks(spec.hooks->create_container, "createContainer", hook_state("creating")));
    if (c.namespaces->Has(CLONE_NEWNS)) TRY(EnterRootfs(c.rootfs, c.no_pivot));
  }
  if (proc.terminal) TRY(SetupConsole(c));
  if (!c.exec_mode && c.namespaces->Has(CLONE_NEWNS)) TRY(FinishRootfs(c.rootfs));

  TRY(join_cgroup());
  // Before seccomp, which may not allow it. An error (a cpuset that excludes all of the old
  // mask) leaves the affinity the cgroup gave.
  if (c.restore_affinity) (void)::sched_setaffinity(0, sizeof(cpu_set_t), c.restore_affinity);
  TRY(ApplyRlimits(proc.rlimits));
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it before dropping caps
  // (runc's order). With no_new_privs it is the very last thing before execve.
  // A filter with a listener loads here too: its fd must reach the parent while it still runs
  // (`create` exits once we are ready). no_new_privs then comes first.
  bool early_seccomp = c.seccomp && (!proc.no_new_privileges || c.seccomp->NeedsListener());
  if (early_seccomp) {
    if (proc.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return Fail(Error::FromErrno(errno, "prctl PR_SET_NO_NEW_PRIVS"));
    if (c.seccomp->NeedsListener()) {
      auto listener = TRY(LoadSeccompWithListener(*c.seccomp));
      TRY(SendSync(c.sync_fd, SyncType::kSeccompFd, "", listener.get()));
      TRY(ExpectSync(c.sync_fd, SyncType::kSeccompDone));
    } else {
      TRY(LoadSeccomp(*c.seccomp));
    }
  }
  // Leaked host fds must be gone before chdir: cwd "/proc/self/fd/N" would reach the host.
  std::vector<int> keep = {c.sync_fd};
  if (c.fifo_fd >= 0) keep.push_back(c.fifo_fd);
  if (c.prelaunch_fd >= 0) keep.push_back(c.prelaunch_fd);
  TRY(CloseFdsFrom(3 + c.preserve_fds, keep));
  TRY(EnterCwd(proc.cwd));
  std::vector<std::string> env = EnvWithDefaults(proc.env, proc.user.uid);
  if (proc.args.empty()) return Fail(Error::InvalidArgument("process.args must not be empty"));
  std::string path = TRY(LookPath(proc.args[0], env));
  TRY(ApplyUserAndCapabilities(proc));

  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (!c.parent_suspended) {
    TRY(SendSync(c.sync_fd, SyncType::kReady));
    if (c.wait_for_start) TRY(WaitForStart(c));
  } else if (c.prelaunch_fd >= 0) {
    TRY(AwaitPrelaunchStart(c));
  }
  if (spec.hooks && !spec.hooks->start_container.empty() && !c.exec_mode)
    TRY(RunHooks(spec.hooks->start_container, "startContainer", hook_state("created")));
  ResetSignalDispositions();
  if (c.seccomp && !early_seccomp) TRY(LoadSeccomp(*c.seccomp));
  c.exec_started = true;
  auto st = Exec(path, proc.args, env);
  c.exec_started = false;
  return st;
}

}  // namespace

void RunInit(InitConfig& config) {
  auto st = Init(config);
  // Only reached on failure. The parent prints the error; exec errors use status 255 like runc.
  std::string msg = st ? std::string("init returned without exec") : st.error().message();
  (void)SendSync(config.sync_fd, SyncType::kError, msg);
  ::_exit(255);
}

}  // namespace berth::runtime::linux
