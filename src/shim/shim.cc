// The shim: daemonizing, container launch with shim-owned stdio, and the epoll loop that pumps
// output to the log and attach clients, feeds stdin, answers control requests and reaps.
#include "shim/shim.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "oci/runtime_config.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container.h"
#include "runtime/linux/init.h"
#include "shim/json_log.h"
#include "shim/resident.h"
#include "shim/standby.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::shim {

using base::Error;
using base::Fail;

namespace {

constexpr size_t kClientBufferLimit = 1 << 20;   // a reader this far behind is dropped
constexpr size_t kStdinBufferLimit = 256 << 10;  // stop reading clients until stdin drains
constexpr int kDrainAfterExitMs = 2000;          // orphans may hold the pipes open
// How long a removed container's mount namespace outlives its shim's cleanup (Finish).
constexpr useconds_t kRemovedNamespaceLingerUs = 3000;

// How long the loop must have been idle before the setup pages are given back
// (TrimResidentPages): a short-lived container exits first and never pays for it.
constexpr int kTrimWhenIdleMs = 100;
// Exec mode: output stops being read while an attach client has this much unsent (berthd
// relays it to a `docker exec` that may be piped into a slow reader: nothing may be lost).
constexpr size_t kExecClientHighWater = 256 << 10;

enum class Kind : uint32_t {
  kSignal,
  kStdout,
  kStderr,
  kPty,
  kStdin,
  kAttachListen,
  kControlListen,
  kAttach,
  kControl,
};

uint64_t Tag(Kind k, int fd) {
  return (static_cast<uint64_t>(k) << 32) | static_cast<uint32_t>(fd);
}

base::Status SetNonBlocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
    return Fail(Error::FromErrno(errno, "fcntl O_NONBLOCK"));
  return {};
}

base::Result<sys::UniqueFd> ListenUnix(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Fail(Error::InvalidArgument(fmt::format("socket path too long: \"{}\"", path)));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Fail(Error::FromErrno(errno, "socket"));
  // Owner-only from the first instant: no window in which another user could connect.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return Fail(Error::FromErrno(err, fmt::format("bind \"{}\"", path)));
  if (::listen(fd.get(), 64) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("listen \"{}\"", path)));
  return fd;
}

// Prelaunch (standby.h): the next record on the standby socket, which must be `expected`; its
// fds come back (close-on-exec, as received). Unavailable for EOF or no record within
// kPrelaunchWaitMs: the container is not to start.
base::Result<std::vector<sys::UniqueFd>> AwaitRecord(int channel, std::string_view expected) {
  struct pollfd p = {channel, POLLIN, 0};
  int n;
  while ((n = ::poll(&p, 1, kPrelaunchWaitMs)) < 0 && errno == EINTR) {
  }
  if (n < 0) return Fail(Error::FromErrno(errno, "poll standby socket"));
  if (n == 0) return Fail(Error::Unavailable(fmt::format("no \"{}\" record came", expected)));
  auto record = TRY(sys::RecvFds(channel, kMaxAssignmentBytes, kMaxAssignmentFds));
  if (record.payload.empty() && record.fds.empty())
    return Fail(Error::Unavailable("the prelaunched container was dropped"));
  if (record.payload != expected)
    return Fail(Error::InvalidArgument(
        fmt::format("standby socket: \"{}\" instead of \"{}\"", record.payload, expected)));
  return std::move(record.fds);
}

struct Client {
  sys::UniqueFd fd;
  bool control = false;
  bool reading = true;       // false after the client's EOF
  std::string out;           // bytes not yet accepted by the socket
  std::string line;          // control: partial request line
  size_t detach_pos = 0;     // attach: how much of the detach sequence was seen
  bool polling_out = false;  // EPOLLOUT is registered (there was unsent output)
};

class Shim {
 public:
  // `known_seccomp`: the standby's hint (ShimOptions::known_seccomp), let go after the parse.
  Shim(const ShimOptions& o, std::shared_ptr<const oci::KnownSeccomp> known_seccomp)
      : o_(o),
        runtime_(runtime::RuntimeOptions{o.runtime_root, false}),
        spare_netns_(o.spare_netns),
        known_seccomp_(std::move(known_seccomp)) {}

  base::Status Setup();
  // Runs until the container has exited and its output is drained. `on_idle` runs once, the
  // first time nothing happened for kTrimWhenIdleMs while the container runs.
  void Loop(void (*on_idle)());
  base::Status Finish();
  // Setup failed after the container was launched: take it down again.
  void Abort();
  // Prelaunch: makes the cgroups --prelaunch-cgroups names, as the launch would.
  void MakeEarlyCgroups();
  void ReleaseNamespaces() {
    for (auto& fd : init_ns_) fd.Reset();
  }
  // A prelaunched container was removed without a start (the standby socket's EOF, or no
  // start in time): Setup failed, and RunShim reports nothing.
  bool Cancelled() const { return cancelled_; }

 private:
  base::Status Add(int fd, Kind kind, uint32_t events);
  void Modify(int fd, Kind kind, uint32_t events);
  void Remove(int fd);

  void OnSignal();
  void OnOutput(Kind kind);
  void Output(int stream, std::string_view data);
  void LogLine(int stream, std::string_view line);
  void Accept(int listen_fd, bool control);
  // Takes `fd` (non-blocking) as an attach or control client; closes it on failure.
  base::Status AdoptClient(int fd, bool control);
  void OnClient(int fd, uint32_t events);
  void DropClient(int fd);
  void FlushClient(Client& c);
  void UpdateClient(Client& c);
  void OnAttachInput(Client& c, std::string_view data);
  void OnControlLine(Client& c, std::string_view line);
  void WriteStdin(std::string_view data);
  void FlushStdin();
  void CloseStdin();
  void UpdateStdinInterest();
  bool OutputDone() const;
  // Container mode: launches the container. Exec mode: runs the process in it.
  base::Status LaunchContainer();
  base::Status LaunchExec(oci::Process process);
  // Exec mode: pauses reading output while an attach client lags (kExecClientHighWater).
  void UpdateOutputInterest();
  bool ClientsFlushed() const;
  uint32_t OutputEvents() const { return output_paused_ ? 0u : uint32_t{EPOLLIN}; }
  void ExtendDeadline();

  std::string Path(const char* name) const { return o_.state_dir + "/" + name; }

  const ShimOptions& o_;
  runtime::Runtime runtime_;
  sys::UniqueFd spare_netns_;  // o_.spare_netns, until the launch is over
  std::shared_ptr<const oci::KnownSeccomp> known_seccomp_;  // until the config is parsed
  std::unique_ptr<runtime::cgroup::Manager> cgroup_;
  sys::UniqueFd epoll_, signal_fd_, devnull_;
  sys::UniqueFd stdout_, stderr_, stdin_w_, pty_;
  sys::UniqueFd attach_listen_, control_listen_;
  std::map<int, Client> clients_;
  std::string detach_keys_;
  std::string stdin_buf_;
  bool stdin_open_ = false;
  bool stdin_close_pending_ = false;
  bool clients_paused_ = false;
  bool launched_ = false;
  bool cancelled_ = false;
  // Prelaunch: the container's cgroups, made ahead of the config (--prelaunch-cgroups) and
  // handed to the launch, which finds them there; removed here if it never gets them.
  std::unique_ptr<runtime::cgroup::Manager> early_cgroups_;
  // The attach clients of a prelaunched container's start record (o_.attach_fds stays empty).
  std::vector<int> start_attach_fds_;
  // config.json as Setup read and checked it, until LaunchContainer hands it to the runtime.
  std::string bundle_text_;
  std::optional<oci::Spec> bundle_spec_;
  bool poststop_ = true;  // the bundle has poststop hooks: Delete reads the config for them
  std::map<std::string, std::string> cgroup_paths_;  // of the container, from the launch
  bool output_paused_ = false;
  uint64_t progress_ = 0;  // bytes moved from the process's output to clients, or read
  pid_t init_pid_ = 0;
  // The container's mount, network and IPC namespaces, opened once the init runs. Without these
  // holds the init's exit would tear the mount namespace down (its mounts, then the overlay
  // superblock: two expedited RCU grace periods, ~0.5 ms here) before it becomes a zombie, in
  // front of the exit record; the network and IPC namespaces' teardowns (kernel workers:
  // cleanup_net and free_ipc, ~2.6 ms of wall time, mostly grace periods, traced between the
  // exit and `run --rm` returning) would start in that window too. With them each teardown
  // happens when Finish lets go, after exit.json. Invalid fds: no hold.
  std::array<sys::UniqueFd, 3> init_ns_;
  bool exited_ = false;
  int wait_status_ = 0;
  struct timespec exit_deadline_ = {};
  JsonFileLog log_;
  LineSplitter split_[2];
};

base::Status Shim::Add(int fd, Kind kind, uint32_t events) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = Tag(kind, fd);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return Fail(Error::FromErrno(errno, "epoll_ctl add"));
  return {};
}

void Shim::Modify(int fd, Kind kind, uint32_t events) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = Tag(kind, fd);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Shim::Remove(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

base::Status Shim::Setup() {
  detach_keys_ = TRY(ParseDetachKeys(o_.detach_keys));
  // Orphans of a container without its own pid namespace are reparented to us, not to pid 1.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl PR_SET_CHILD_SUBREAPER"));
  // Blocked, not ignored: ignored dispositions survive execve into the container, a blocked
  // mask is reset by the init. SIGPIPE stays blocked so a closed reader shows up as EPIPE.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&set, s);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    return Fail(Error::FromErrno(errno, "sigprocmask"));
  sigdelset(&set, SIGPIPE);
  signal_fd_.Reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return Fail(Error::FromErrno(errno, "signalfd"));
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Fail(Error::FromErrno(errno, "epoll_create1"));
  devnull_ = TRY(sys::Open("/dev/null", O_RDWR | O_CLOEXEC));
  // Inherited attach clients must not reach the container.
  for (int fd : o_.attach_fds) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
      return Fail(Error::FromErrno(errno, fmt::format("--attach-fd {}", fd)));
  }
  // The runtime library logs to fd 2, which is the container's stderr while it launches.
  base::SetLogConfig({base::LogLevel::kError, false, devnull_.get()});

  TRY(sys::MkdirAll(o_.state_dir, 0700));
  if (::chmod(o_.state_dir.c_str(), 0700) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("chmod \"{}\"", o_.state_dir)));
  ::unlink(Path("exit.json").c_str());
  TRY(runtime::WritePidFile(Path("shim.pid"), ::getpid()));

  // What does not depend on the container's files first: a prelaunched shim (standby.h) does
  // it while berthd is still making them.
  attach_listen_ = TRY(ListenUnix(Path("attach.sock")));
  control_listen_ = TRY(ListenUnix(Path("control.sock")));

  // The init inherits fds 0-2 at clone time: put the container's ends there while it launches.
  sys::UniqueFd child_in, child_out, child_err;
  if (!o_.tty) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe"));
    stdout_.Reset(p[0]);
    child_out.Reset(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe"));
    stderr_.Reset(p[0]);
    child_err.Reset(p[1]);
    if (o_.stdin) {
      if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe"));
      child_in.Reset(p[0]);
      stdin_w_.Reset(p[1]);
      TRY(SetNonBlocking(stdin_w_.get()));
    }
    TRY(SetNonBlocking(stdout_.get()));
    TRY(SetNonBlocking(stderr_.get()));
    int in = child_in ? child_in.get() : devnull_.get();
    if (::dup2(in, 0) < 0 || ::dup2(child_out.get(), 1) < 0 || ::dup2(child_err.get(), 2) < 0)
      return Fail(Error::FromErrno(errno, "dup2 container stdio"));
  }
  oci::Process exec_process;
  if (o_.exec) {
    auto text = TRY_CTX(sys::ReadFile(o_.process), "process");
    exec_process = TRY_CTX(oci::ParseProcess(text), "process.json");
    if (exec_process.terminal != o_.tty)
      return Fail(Error::InvalidArgument(
          fmt::format("--tty={} but the process's terminal is {}", o_.tty, exec_process.terminal)));
  } else {
    if (o_.prelaunch && o_.start_channel >= 0) {
      MakeEarlyCgroups();
      // berthd writes the config (and makes the log's directory) while we get this far.
      auto written = AwaitRecord(o_.start_channel, kConfigRecord);
      if (!written && written.error().code() == base::ErrorCode::kUnavailable) cancelled_ = true;
      if (!written) return Fail(std::move(written).error());
    }
    auto text = TRY_CTX(sys::ReadFile(o_.bundle + "/config.json"), "bundle");
    auto spec = TRY_CTX(oci::ParseSpecWith(text, known_seccomp_.get()), "config.json");
    known_seccomp_.reset();
    bool terminal = spec.process && spec.process->terminal;
    if (terminal != o_.tty)
      return Fail(Error::InvalidArgument(
          fmt::format("--tty={} but the bundle's process.terminal is {}", o_.tty, terminal)));
    poststop_ = spec.hooks && !spec.hooks->poststop.empty();
    if (early_cgroups_ && (!spec.linux || spec.linux->cgroups_path != o_.prelaunch_cgroups)) {
      (void)early_cgroups_->Destroy();  // not the ones the launch will use
      early_cgroups_.reset();
    }
    // The launch takes both: the runtime reads and parses no second copy.
    bundle_text_ = std::move(text);
    bundle_spec_ = std::move(spec);
  }
  if (!o_.log_path.empty()) {
    JsonFileLog::Options lo;
    lo.path = o_.log_path;
    lo.max_size = o_.log_max_size;
    lo.max_file = o_.log_max_file;
    log_ = TRY_CTX(JsonFileLog::Open(std::move(lo)), "log");
  }
  auto launched = o_.exec ? LaunchExec(std::move(exec_process)) : LaunchContainer();
  spare_netns_.Reset();  // the container's init holds its namespace now, if it took it
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull_.get(), fd);
  if (!launched) return launched;
  if (o_.tty) {
    if (!pty_) return Fail(Error::Internal("the runtime returned no pty master"));
    TRY(SetNonBlocking(pty_.get()));
  }
  stdin_open_ = o_.stdin;

  // The cgroup manager is reopened now (setup code) so the exit path only reads a counter.
  // An exec'd process shares the container's cgroup: its OOM kills are the container's.
  if (!o_.exec && !cgroup_paths_.empty()) {
    if (auto layout = runtime::cgroup::DetectHostLayout(); layout) {
      if (auto mgr = runtime::cgroup::LoadManager(*layout, cgroup_paths_); mgr)
        cgroup_ = std::move(*mgr);
    }
  }

  TRY(Add(signal_fd_.get(), Kind::kSignal, EPOLLIN));
  if (o_.tty) {
    TRY(Add(pty_.get(), Kind::kPty, EPOLLIN));
  } else {
    TRY(Add(stdout_.get(), Kind::kStdout, EPOLLIN));
    TRY(Add(stderr_.get(), Kind::kStderr, EPOLLIN));
    if (stdin_w_) TRY(Add(stdin_w_.get(), Kind::kStdin, 0));
  }
  TRY(Add(attach_listen_.get(), Kind::kAttachListen, EPOLLIN));
  TRY(Add(control_listen_.get(), Kind::kControlListen, EPOLLIN));
  // Before the loop reads any output: these clients see it all.
  std::vector<int> attach = o_.attach_fds;
  attach.insert(attach.end(), start_attach_fds_.begin(), start_attach_fds_.end());
  for (int fd : attach) {
    TRY(SetNonBlocking(fd));
    TRY(AdoptClient(fd, false));
  }
  // A SIGCHLD that came before the signalfd existed is still pending: it is read in the loop.
  return {};
}

base::Status Shim::LaunchContainer() {
  runtime::CreateOptions co;
  co.id = o_.id;
  co.bundle = o_.bundle;
  co.config_text = std::move(bundle_text_);
  co.spec = std::move(bundle_spec_);
  co.spare_netns = spare_netns_.get();
  bundle_spec_.reset();
  if (o_.prelaunch) {
    if (o_.start_channel < 0)
      return Fail(Error::InvalidArgument("--prelaunch is for a standby shim only"));
    // The init says "ready" and waits for the start record itself (we sleep in its clone).
    co.prelaunch_fd = o_.start_channel;
    co.prelaunch_wait_ms = kPrelaunchWaitMs;
    // berthd mounts the rootfs while we get this far.
    co.before_clone = [this]() -> base::Status {
      auto mounted = AwaitRecord(o_.start_channel, kMountedRecord);
      if (!mounted && mounted.error().code() == base::ErrorCode::kUnavailable) cancelled_ = true;
      if (!mounted) return Fail(std::move(mounted).error());
      return {};
    };
  }
  auto launched = runtime_.Launch(co);
  if (!launched) {
    if (o_.prelaunch && launched.error().message() == runtime::linux::kNoStart) cancelled_ = true;
    return Fail(std::move(launched).error());
  }
  launched_ = true;
  early_cgroups_.reset();  // the container's now
  init_pid_ = launched->pid;
  pty_ = std::move(launched->pty_master);
  cgroup_paths_ = std::move(launched->cgroup_paths);
  // Best effort: an init that is gone already (a zombie has no namespaces) leaves no hold, and
  // a namespace the container shares with us (--network host) needs none.
  const char* held[] = {"mnt", "net", "ipc"};
  for (size_t i = 0; i < init_ns_.size(); ++i) {
    sys::UniqueFd ns(
        ::open(fmt::format("/proc/{}/ns/{}", init_pid_, held[i]).c_str(), O_RDONLY | O_CLOEXEC));
    struct stat theirs, ours;
    if (!ns || ::fstat(ns.get(), &theirs) != 0 ||
        (::stat(fmt::format("/proc/self/ns/{}", held[i]).c_str(), &ours) == 0 &&
         ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev))
      continue;
    init_ns_[i] = std::move(ns);
  }
  if (o_.prelaunch) {
    // The record the init saw come: its fds are the attach clients.
    auto fds = TRY(AwaitRecord(o_.start_channel, kStartRecord));
    for (auto& fd : fds) start_attach_fds_.push_back(fd.Release());
  }
  return {};
}

base::Status Shim::LaunchExec(oci::Process process) {
  runtime::ExecOptions eo;
  eo.id = o_.id;
  eo.process = std::move(process);
  // Detached: the runtime returns once the process runs, and we stay its parent.
  eo.detach = true;
  eo.pid_file = Path("exec.pid");
  // A detached exec hands its pty master to a console socket: ours, listening before the
  // runtime connects, so the connection with the fd is queued when Exec returns.
  sys::UniqueFd console;
  if (o_.tty) {
    eo.console_socket = Path("console.sock");
    console = TRY(ListenUnix(eo.console_socket));
  }
  auto ran = runtime_.Exec(eo);
  if (o_.tty) ::unlink(eo.console_socket.c_str());
  if (!ran) return Fail(std::move(ran).error());
  auto text = TRY(sys::ReadFile(eo.pid_file));
  auto pid = base::ParseInt(base::Trim(text));
  if (!pid || *pid <= 0) return Fail(Error::Internal("exec: bad pid file \"" + text + "\""));
  launched_ = true;
  init_pid_ = static_cast<pid_t>(*pid);
  if (o_.tty) {
    sys::UniqueFd conn(::accept4(console.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return Fail(Error::FromErrno(errno, "accept console socket"));
    auto [master, name] = TRY_CTX(sys::RecvFd(conn.get()), "console socket");
    pty_ = std::move(master);
  }
  return {};
}

void Shim::MakeEarlyCgroups() {
  if (o_.prelaunch_cgroups.empty()) return;
  auto layout = runtime::cgroup::DetectHostLayout();
  if (!layout) return;
  // As the runtime's NewManager and Apply(-1) will (RuntimeOptions without systemd); a cpuset
  // cgroup, which only cpuset limits call for, is left to the launch. Best effort: the launch
  // makes what is missing.
  runtime::cgroup::ManagerOptions mo;
  mo.cpuset_on_demand = true;
  auto mgr = runtime::cgroup::NewManager(*layout, o_.prelaunch_cgroups, o_.id, mo);
  if (!mgr) return;
  if (!(*mgr)->Apply(-1)) {
    (void)(*mgr)->Destroy();
    return;
  }
  early_cgroups_ = std::move(*mgr);
}

void Shim::Abort() {
  // Made ahead and never handed over (a failed launch removed them already, if it got them).
  if (early_cgroups_ && !launched_) (void)early_cgroups_->Destroy();
  early_cgroups_.reset();
  if (!launched_) return;
  ::kill(init_pid_, SIGKILL);
  if (!exited_) (void)sys::WaitPid(init_pid_);
  // An exec'd process is not the container: the container stays.
  if (!o_.exec) (void)runtime_.Delete(o_.id, true);
}

bool Shim::ClientsFlushed() const {
  for (const auto& [fd, c] : clients_)
    if (!c.control && !c.out.empty()) return false;
  return true;
}

void Shim::UpdateOutputInterest() {
  if (!o_.exec) return;
  size_t most = 0;
  for (const auto& [fd, c] : clients_)
    if (!c.control) most = std::max(most, c.out.size());
  bool pause = most > kExecClientHighWater;
  if (pause == output_paused_) return;
  output_paused_ = pause;
  if (o_.tty) {
    UpdateStdinInterest();  // the pty master carries both directions
  } else {
    if (stdout_) Modify(stdout_.get(), Kind::kStdout, OutputEvents());
    if (stderr_) Modify(stderr_.get(), Kind::kStderr, OutputEvents());
  }
}

void Shim::ExtendDeadline() {
  clock_gettime(CLOCK_MONOTONIC, &exit_deadline_);
  exit_deadline_.tv_sec += kDrainAfterExitMs / 1000;
}

bool Shim::OutputDone() const { return o_.tty ? !pty_ : !stdout_ && !stderr_; }

// Hot: placed with TrimResidentPages and WaitEvents, so that a waiting shim needs one text window.
[[gnu::hot, gnu::noinline]] void Shim::Loop(void (*on_idle)()) {
  struct epoll_event evs[16];
  uint64_t seen = progress_;
  while (true) {
    int timeout = on_idle ? kTrimWhenIdleMs : -1;
    if (o_.exec) {
      UpdateOutputInterest();
      // Output still flowing to a slow reader after the exit: not a stuck orphan.
      if (exited_ && progress_ != seen) ExtendDeadline();
      seen = progress_;
    }
    if (exited_) {
      // Exec mode: berthd must have the last byte before it sees the end of the stream.
      if (OutputDone() && (!o_.exec || ClientsFlushed())) return;
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (exit_deadline_.tv_sec - now.tv_sec) * 1000 +
                (exit_deadline_.tv_nsec - now.tv_nsec) / 1000000;
      if (ms <= 0) return;
      timeout = static_cast<int>(ms);
    }
    int n = WaitEvents(epoll_.get(), evs, 16, timeout);
    if (n < 0) {
      if (n == -EINTR) continue;
      return;  // cannot happen with a valid epoll fd; do not spin
    }
    if (n == 0 && on_idle && !exited_) {
      on_idle();
      on_idle = nullptr;
    }
    for (int i = 0; i < n; ++i) {
      auto kind = static_cast<Kind>(evs[i].data.u64 >> 32);
      int fd = static_cast<int>(evs[i].data.u64 & 0xffffffff);
      uint32_t e = evs[i].events;
      switch (kind) {
        case Kind::kSignal:
          OnSignal();
          break;
        case Kind::kStdout:
        case Kind::kStderr:
          OnOutput(kind);
          break;
        case Kind::kPty:
          if (e & EPOLLOUT) FlushStdin();
          if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnOutput(kind);
          break;
        case Kind::kStdin:
          if (e & EPOLLERR) {
            CloseStdin();
          } else {
            FlushStdin();
          }
          break;
        case Kind::kAttachListen:
          Accept(fd, false);
          break;
        case Kind::kControlListen:
          Accept(fd, true);
          break;
        case Kind::kAttach:
        case Kind::kControl:
          OnClient(fd, e);
          break;
      }
    }
  }
}

void Shim::OnSignal() {
  struct signalfd_siginfo si;
  while (::read(signal_fd_.get(), &si, sizeof si) == sizeof si) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGTERM || sig == SIGINT) {
      // Stopping the shim means stopping its container; the exit is recorded as usual.
      if (!exited_) ::kill(init_pid_, sig);
      continue;
    }
    if (sig != SIGCHLD) continue;  // SIGHUP: a daemon has no terminal to lose
    // Signals coalesce: reap everything that is ready, the init and adopted orphans alike.
    while (true) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == init_pid_ && !exited_) {
        exited_ = true;
        wait_status_ = status;
        ExtendDeadline();
      }
    }
  }
}

void Shim::OnOutput(Kind kind) {
  sys::UniqueFd& fd = kind == Kind::kStdout ? stdout_ : kind == Kind::kStderr ? stderr_ : pty_;
  int stream = kind == Kind::kStderr ? 2 : 1;
  char buf[16384];
  // Bounded: one busy stream must not starve the others or the reaper.
  for (int round = 0; round < 4 && fd; ++round) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      progress_ += static_cast<uint64_t>(n);
      Output(stream, std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF, or EIO from a pty master once every slave fd is closed.
    split_[stream - 1].Flush([&](std::string_view line) { LogLine(stream, line); });
    Remove(fd.get());
    if (kind == Kind::kPty) {
      // The master also carries stdin; nothing can be written once the slave side is gone.
      stdin_open_ = false;
      stdin_buf_.clear();
    }
    fd.Reset();
  }
}

void Shim::LogLine(int stream, std::string_view line) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  // A full disk must not stop the container or the attach stream; the entry is lost.
  (void)log_.Write(stream == 2 ? "stderr" : "stdout", line, ts);
}

void Shim::Output(int stream, std::string_view data) {
  if (log_.enabled())
    split_[stream - 1].Feed(data, [&](std::string_view line) { LogLine(stream, line); });
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& c = (it++)->second;
    if (c.control) continue;
    if (!o_.tty) {
      uint32_t size = static_cast<uint32_t>(data.size());
      char header[8] = {static_cast<char>(stream),
                        0,
                        0,
                        0,
                        static_cast<char>(size >> 24),
                        static_cast<char>(size >> 16),
                        static_cast<char>(size >> 8),
                        static_cast<char>(size)};
      c.out.append(header, sizeof header);
    }
    c.out.append(data);
    FlushClient(c);  // may drop the client: the iterator already moved on
  }
}

void Shim::Accept(int listen_fd, bool control) {
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or out of fds: the client stays queued or gets ECONNREFUSED
    }
    (void)AdoptClient(fd, control);
  }
}

base::Status Shim::AdoptClient(int fd, bool control) {
  Client& c = clients_[fd];
  c.fd.Reset(fd);
  c.control = control;
  if (auto st = Add(fd, control ? Kind::kControl : Kind::kAttach, 0); !st) {
    clients_.erase(fd);  // closes it
    return st;
  }
  UpdateClient(c);
  return {};
}

void Shim::UpdateClient(Client& c) {
  uint32_t events = 0;
  if (c.reading && !(clients_paused_ && !c.control)) events |= EPOLLIN | EPOLLRDHUP;
  if (!c.out.empty()) events |= EPOLLOUT;
  c.polling_out = !c.out.empty();
  Modify(c.fd.get(), c.control ? Kind::kControl : Kind::kAttach, events);
}

void Shim::DropClient(int fd) {
  Remove(fd);
  clients_.erase(fd);
}

void Shim::FlushClient(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      progress_ += static_cast<uint64_t>(n);
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    DropClient(c.fd.get());  // EPIPE and friends: the client is gone
    return;
  }
  if (c.out.size() > kClientBufferLimit) {
    DropClient(c.fd.get());
    return;
  }
  if (c.out.empty()) std::string().swap(c.out);
  // Against what epoll was told, not the state on entry: Output() appends before it flushes,
  // and a remainder left by that flush must register EPOLLOUT.
  if (c.polling_out != !c.out.empty()) UpdateClient(c);
}

void Shim::OnClient(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = it->second;
  if (events & EPOLLOUT) {
    FlushClient(c);
    if (clients_.find(fd) == clients_.end()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      std::string_view data(buf, static_cast<size_t>(n));
      if (c.control) {
        c.line.append(data);
        size_t nl;
        while (clients_.count(fd) && (nl = c.line.find('\n')) != std::string::npos) {
          std::string line = c.line.substr(0, nl);
          c.line.erase(0, nl + 1);
          OnControlLine(c, line);
        }
        if (clients_.count(fd) && c.line.size() > 4096) DropClient(fd);
      } else {
        OnAttachInput(c, data);
      }
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      DropClient(fd);
      return;
    }
    // EOF: the client shut down its write side; it may still read.
    c.reading = false;
    if (!c.control && o_.stdin && o_.stdin_once) CloseStdin();
    if (c.control && c.out.empty()) {
      DropClient(fd);
      return;
    }
    UpdateClient(c);
  }
  if ((events & (EPOLLHUP | EPOLLERR)) && clients_.count(fd)) DropClient(fd);
}

void Shim::OnAttachInput(Client& c, std::string_view data) {
  if (!o_.stdin) return;  // nothing to feed: the bytes are dropped
  std::string out;
  const std::string& keys = detach_keys_;
  for (char ch : data) {
    if (!keys.empty() && ch == keys[c.detach_pos]) {
      if (++c.detach_pos == keys.size()) {
        // Detach: end this client's session; the container keeps running.
        WriteStdin(out);
        DropClient(c.fd.get());
        return;
      }
      continue;
    }
    if (c.detach_pos > 0) {
      out.append(keys, 0, c.detach_pos);
      c.detach_pos = 0;
      if (ch == keys[0]) {
        c.detach_pos = 1;
        continue;
      }
    }
    out += ch;
  }
  WriteStdin(out);
}

void Shim::OnControlLine(Client& c, std::string_view line) {
  auto words = base::SplitNonEmpty(base::Trim(line), ' ');
  std::string reply = "ok\n";
  if (words.empty()) {
    reply = "error empty request\n";
  } else if (words[0] == "resize" && words.size() == 3) {
    auto h = base::ParseUint(words[1]), w = base::ParseUint(words[2]);
    if (!o_.tty) {
      reply = "error the container has no tty\n";
    } else if (!h || !w || *h > 65535 || *w > 65535) {
      reply = "error bad size\n";
    } else if (pty_) {
      struct winsize ws = {};
      ws.ws_row = static_cast<unsigned short>(*h);
      ws.ws_col = static_cast<unsigned short>(*w);
      if (::ioctl(pty_.get(), TIOCSWINSZ, &ws) != 0)
        reply = fmt::format("error TIOCSWINSZ: {}\n", std::strerror(errno));
    }
  } else if (words[0] == "kill" && words.size() == 2) {
    auto sig = sys::ParseSignal(words[1]);
    if (!sig) {
      reply = "error " + sig.error().message() + "\n";
    } else if (exited_) {
      reply = "error container not running\n";
    } else if (::kill(init_pid_, *sig) != 0) {
      reply = fmt::format("error kill: {}\n", std::strerror(errno));
    }
  } else if (words[0] == "close-stdin" && words.size() == 1) {
    CloseStdin();
  } else {
    reply = "error unknown request \"" + std::string(base::Trim(line)) + "\"\n";
  }
  c.out += reply;
  FlushClient(c);
}

void Shim::WriteStdin(std::string_view data) {
  if (!stdin_open_ || data.empty()) return;
  stdin_buf_.append(data);
  FlushStdin();
}

void Shim::FlushStdin() {
  int fd = o_.tty ? pty_.get() : stdin_w_.get();
  while (!stdin_buf_.empty() && fd >= 0) {
    ssize_t n = ::write(fd, stdin_buf_.data(), stdin_buf_.size());
    if (n > 0) {
      stdin_buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // EPIPE: the container closed its stdin.
    stdin_buf_.clear();
    stdin_close_pending_ = true;
  }
  if (stdin_buf_.empty()) {
    std::string().swap(stdin_buf_);
    if (stdin_close_pending_) {
      stdin_close_pending_ = false;
      CloseStdin();
      return;
    }
  }
  UpdateStdinInterest();
}

void Shim::CloseStdin() {
  if (!stdin_buf_.empty()) {
    stdin_close_pending_ = true;  // after what clients already sent
    return;
  }
  stdin_open_ = false;
  // A pty has no half-close: closing the master would hang up the container's terminal.
  if (stdin_w_) {
    Remove(stdin_w_.get());
    stdin_w_.Reset();
  }
  UpdateStdinInterest();
}

void Shim::UpdateStdinInterest() {
  bool pending = !stdin_buf_.empty();
  if (o_.tty) {
    if (pty_) Modify(pty_.get(), Kind::kPty, OutputEvents() | (pending ? EPOLLOUT : 0u));
  } else if (stdin_w_) {
    Modify(stdin_w_.get(), Kind::kStdin, pending ? EPOLLOUT : 0u);
  }
  bool pause = stdin_buf_.size() > kStdinBufferLimit;
  if (pause != clients_paused_) {
    clients_paused_ = pause;
    for (auto& [fd, c] : clients_)
      if (!c.control) UpdateClient(c);
  }
}

base::Status Shim::Finish() {
  for (int s = 1; s <= 2; ++s)
    split_[s - 1].Flush([&](std::string_view line) { LogLine(s, line); });
  ::unlink(Path("attach.sock").c_str());
  ::unlink(Path("control.sock").c_str());

  int code = 0, signal = 0;
  if (exited_) {
    code = sys::ExitCodeFromWaitStatus(wait_status_);
    if (WIFSIGNALED(wait_status_)) signal = WTERMSIG(wait_status_);
  } else {
    code = 255;  // the loop failed; should not happen
  }
  bool oom = cgroup_ && cgroup_->OomKilled();
  cgroup_.reset();
  char tbuf[40];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string json =
      fmt::format("{{\"exit_code\":{},\"signal\":{},\"oom_killed\":{},\"finished_at\":\"{}\"}}\n",
                  code, signal, oom ? "true" : "false", FormatLogTime(ts, tbuf));
  // Not fsynced: the state dir lives in the exec root, runtime state that a reboot clears (the
  // containers are gone then too); a crash of berthd or of this shim keeps the page cache.
  auto written = sys::WriteFileReplace(Path("exit.json"), json, 0600);
  // Last output to attach clients, best effort (non-blocking); then they see EOF. After
  // exit.json: berthd records an exec's exit code when its stream ends, and a `run` waits for
  // the exit record as well as for the EOF, whose reader (woken on this CPU) would otherwise
  // hold up the record.
  for (auto it = clients_.begin(); it != clients_.end();) FlushClient((it++)->second);
  clients_.clear();
  // exit.json first, then the container's cgroups and runtime state: berthd sees the rename
  // (inotify) and handles the exit (unmount, --rm) while this runs, and waits for this process
  // to be gone (shim.pid, removed last) before it starts the container again or reports it
  // removed.
  // The namespace goes while berthd handles the exit. A container that may start again keeps
  // the rule above: its old mounts (and the overlay on its layer) are gone before shim.pid is;
  // a removed one is not mounted again, so its teardown need not hold up the removal.
  if (!o_.auto_remove) ReleaseNamespaces();
  base::Status deleted;
  if (!o_.keep && !o_.exec) deleted = runtime_.Delete(o_.id, true, poststop_);
  if (written) ::unlink(Path("shim.pid").c_str());
  // A removed container's: berthd answers `run --rm` as soon as shim.pid is gone, and the
  // teardown's expedited RCU grace periods (IPIs to every CPU) would land in the middle of
  // that answer. A few milliseconds later they are out of its way (paired A/B: ~0.4 ms).
  if (std::any_of(init_ns_.begin(), init_ns_.end(), [](const auto& fd) { return bool(fd); }))
    ::usleep(kRemovedNamespaceLingerUs);
  ReleaseNamespaces();
  if (!written) return written;
  if (!deleted) return Fail(std::move(deleted).error().Context("delete container"));
  return {};
}

}  // namespace

int Daemonize(const std::vector<int>& keep) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    std::perror("berth-shim: pipe");
    ::_exit(1);
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("berth-shim: fork");
    ::_exit(1);
  }
  if (child > 0) {
    ::close(p[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) != 0) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      msg.append(buf, static_cast<size_t>(n));
    }
    int status;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (msg == "ok\n") ::_exit(0);
    if (msg.empty()) msg = "the shim exited during setup\n";
    msg = "berth-shim: " + msg;
    (void)sys::WriteAll(2, msg);
    ::_exit(1);
  }
  ::close(p[0]);
  ::setsid();
  // The second fork: the daemon is not a session leader, so it never acquires a terminal.
  pid_t grandchild = ::fork();
  if (grandchild < 0) ::_exit(1);
  if (grandchild > 0) ::_exit(0);
  if (::chdir("/") != 0) ::_exit(1);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
  }
  // Nothing the spawner leaked may outlive it in us (or reach the container).
  int ready = p[1];
  std::vector<int> kept = keep;
  kept.push_back(ready);
  std::sort(kept.begin(), kept.end());
  unsigned next = 3;  // the lowest fd not yet dealt with
  for (int fd : kept) {
    if (fd < 3 || unsigned(fd) < next) continue;
    if (unsigned(fd) > next) ::syscall(SYS_close_range, next, unsigned(fd) - 1, 0);
    next = unsigned(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
  return ready;
}

int RunShim(ShimOptions options, int ready_fd) {
  auto known_seccomp = std::move(options.known_seccomp);
  Shim shim(options, std::move(known_seccomp));
  auto report = [&](const std::string& msg) {
    if (ready_fd < 0) {
      if (msg != "ok\n") (void)sys::WriteAll(2, "berth-shim: " + msg);
      return;
    }
    (void)sys::WriteAll(ready_fd, msg);
    ::close(ready_fd);
    ready_fd = -1;
  };
  if (auto st = shim.Setup(); !st) {
    shim.Abort();
    ::unlink((options.state_dir + "/attach.sock").c_str());
    ::unlink((options.state_dir + "/control.sock").c_str());
    ::unlink((options.state_dir + "/shim.pid").c_str());
    // Nobody waits for a report: berthd dropped the container, or will find the socket closed.
    if (shim.Cancelled()) return 0;
    report(st.error().message() + "\n");
    return 1;
  }
  report("ok\n");
  // The standby kept its warmed-up heap for the launch (standby.cc, WarmUp); from here on frees
  // hand memory back at glibc's usual threshold again, as in a shim spawned the plain way.
  ::mallopt(M_TRIM_THRESHOLD, 128 << 10);
  // Not at once: the first moments belong to the container (a `run --rm ... true` has exited
  // before the smaps text would have been read).
  shim.Loop(&TrimResidentPages);
  if (auto st = shim.Finish(); !st) return 1;
  return 0;
}

}  // namespace berth::shim
