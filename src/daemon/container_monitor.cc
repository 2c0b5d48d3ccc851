// ContainerMonitor: pidfds in an epoll set, an eventfd to wake the loop, and a timer queue of
// restarts; see container_monitor.h.
#include "daemon/container_monitor.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "daemon/container_internal.h"
#include "daemon/spec/create_request.h"

namespace berth::daemon {

using base::Error;
using base::Fail;

namespace {

constexpr uint64_t kWakeKey = 0;
constexpr uint64_t kInotifyKey = 1;

spec::RestartPolicy PolicyOf(const ContainerRecord& rec, bool* auto_remove) {
  // AutoRemove excludes a restart policy (the create refuses both), and the record has it: no
  // parse of the request between a --rm container's exit and its removal.
  if (rec.auto_remove) {
    if (auto_remove) *auto_remove = true;
    return {};
  }
  auto cr = spec::ParseCreateRequest(rec.request);
  if (!cr) return {};
  if (auto_remove) *auto_remove = cr->host_config.auto_remove;
  return cr->host_config.restart_policy;
}

}  // namespace

bool ContainerMonitor::ShouldRestart(const std::string& policy, int max_retries, int exit_code,
                                     bool manually_stopped, int count) {
  if (manually_stopped) return false;
  if (policy == "always" || policy == "unless-stopped") return true;
  if (policy == "on-failure") return exit_code != 0 && (max_retries <= 0 || count < max_retries);
  return false;
}

std::chrono::milliseconds ContainerMonitor::Backoff(int count) {
  int shift = std::clamp(count, 0, 10);
  return std::min(std::chrono::milliseconds(100 << shift), std::chrono::milliseconds(60000));
}

base::Status ContainerMonitor::Start() {
  epoll_.Reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Fail(Error::FromErrno(errno, "epoll_create1"));
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return Fail(Error::FromErrno(errno, "eventfd"));
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeKey;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
    return Fail(Error::FromErrno(errno, "epoll_ctl"));
  // Without inotify the pidfds alone report exits (later: after the shim's cleanup).
  inotify_.Reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (inotify_) {
    ev.data.u64 = kInotifyKey;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, inotify_.get(), &ev) != 0) inotify_.Reset();
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void ContainerMonitor::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [key, w] : watched_) close(w.pidfd);
  watched_.clear();
  dirs_.clear();
}

void ContainerMonitor::Wake() {
  if (!wake_) return;
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
}

void ContainerMonitor::Watch(const std::string& id) {
  const Paths p = PathsOf(ctx_, id);
  int pid = ReadShimPid(p);
  int fd = pid > 0 ? int(syscall(SYS_pidfd_open, pid, 0)) : -1;
  uint64_t key = 0;
  bool dir_watched = false;
  {
    std::lock_guard lock(mu_);
    if (fd >= 0) {
      struct epoll_event ev = {};
      ev.events = EPOLLIN;
      key = next_key_++;
      ev.data.u64 = key;
      if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0) {
        watched_[key] = Watched{fd, id};
        if (inotify_) {
          int wd = inotify_add_watch(inotify_.get(), p.state.c_str(), IN_MOVED_TO | IN_ONLYDIR);
          if (wd >= 0) dirs_[wd] = key;
          dir_watched = wd >= 0;
        }
      } else {
        close(fd);
        fd = -1;
      }
    }
    if (fd < 0) {
      // No shim (it finished already, or shim.pid was never written): an exit to handle now.
      exited_.push_back(id);
      Wake();
      return;
    }
  }
  // A short-lived container may have exited while its start was being recorded: exit.json was
  // renamed before the watch above, and only the shim's own exit, after its cleanup, would
  // tell. Handle such an exit now (Unwatch makes the later pidfd and inotify events non-events).
  if (dir_watched && access((p.state + "/exit.json").c_str(), F_OK) == 0) {
    if (std::string watched = Unwatch(key); !watched.empty()) {
      std::lock_guard lock(mu_);
      exited_.push_back(std::move(watched));
      Wake();
    }
  }
}

std::string ContainerMonitor::Unwatch(uint64_t key) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(key);
  if (it == watched_.end()) return "";
  std::string id = std::move(it->second.id);
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.pidfd, nullptr);
  close(it->second.pidfd);
  watched_.erase(it);
  for (auto d = dirs_.begin(); d != dirs_.end();) {
    if (d->second != key) {
      ++d;
      continue;
    }
    inotify_rm_watch(inotify_.get(), d->first);
    d = dirs_.erase(d);
  }
  return id;
}

// exit.json renamed into a watched state dir: the container exited; its shim is finishing.
void ContainerMonitor::ReadInotify() {
  alignas(struct inotify_event) char buf[4096];
  std::vector<uint64_t> exited;
  for (;;) {
    ssize_t n = read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof *e + e->len);
      std::lock_guard lock(mu_);
      auto it = dirs_.find(e->wd);
      if (it == dirs_.end()) continue;
      if (e->mask & IN_IGNORED) {
        dirs_.erase(it);
      } else if ((e->mask & IN_MOVED_TO) && e->len > 0 && std::string(e->name) == "exit.json") {
        exited.push_back(it->second);
      }
    }
  }
  // Unwatch makes a later pidfd event (the shim's own exit) a non-event.
  for (uint64_t key : exited)
    if (std::string id = Unwatch(key); !id.empty()) OnExit(id);
}

void ContainerMonitor::Recover() {
  for (ContainerRecord rec : ctx_->containers->List()) {
    bool was_running = rec.state.status == "running" || rec.state.status == "paused";
    if (was_running) {
      Watch(rec.id);  // a dead shim is handled as an exit (die, AutoRemove, policy)
      continue;
    }
    spec::RestartPolicy policy = PolicyOf(rec, nullptr);
    if (policy.name == "always" || (policy.name == "unless-stopped" && !rec.manually_stopped)) {
      std::lock_guard lock(mu_);
      restarts_.emplace(std::chrono::steady_clock::now(), Due{rec.id, true});
      Wake();
    }
  }
}

void ContainerMonitor::Run() {
  struct epoll_event evs[16];
  for (;;) {
    int timeout = -1;
    std::vector<std::string> exited;
    std::vector<Due> due;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      exited.swap(exited_);
      auto now = std::chrono::steady_clock::now();
      while (!restarts_.empty() && restarts_.begin()->first <= now) {
        due.push_back(restarts_.begin()->second);
        restarts_.erase(restarts_.begin());
      }
      if (!restarts_.empty()) {
        auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(restarts_.begin()->first - now);
        timeout = int(std::max<int64_t>(1, wait.count()));
      }
    }
    for (const std::string& id : exited) OnExit(id);
    for (const Due& d : due) StartByPolicy(d.id, d.at_boot);
    if (!exited.empty() || !due.empty()) continue;
    int n = epoll_wait(epoll_.get(), evs, 16, timeout);
    for (int i = 0; i < n; ++i) {
      uint64_t key = evs[i].data.u64;
      if (key == kWakeKey) {
        uint64_t v;
        (void)!read(wake_.get(), &v, sizeof v);
        continue;
      }
      if (key == kInotifyKey) {
        ReadInotify();
        continue;
      }
      if (std::string id = Unwatch(key); !id.empty()) OnExit(id);
    }
  }
}

void ContainerMonitor::OnExit(const std::string& id) {
  auto lock = ctx_->containers->OpLock(id);
  bool auto_remove = false, restart = false;
  int count = 0;
  {
    std::lock_guard guard(*lock);
    auto found = ctx_->containers->Find(id);
    if (!found || found->id != id) return;  // removed meanwhile
    ContainerRecord rec = *found;
    // One write of the record for the exit and its "die" below, none when AutoRemove deletes
    // it: each is an fsync on the way from a container's exit to `run --rm` returning. A crash
    // before the write finds the shim's exit.json again at the next start.
    bool was_running = rec.state.status == "running";
    Refresh(ctx_, rec, /*persist=*/false);
    if (rec.state.status == "running" || rec.state.status == "paused") {
      // The shim we watched is gone yet the state says running: a newer run (restart) owns it.
      return;
    }
    UnmountRootfs(PathsOf(ctx_, id).rootfs);
    spec::RestartPolicy policy = PolicyOf(rec, &auto_remove);
    if (!auto_remove && rec.state.exit_reported && was_running) {
      if (auto st = ctx_->containers->Update(rec); !st)
        base::LogWarn("container {}: {}", id, st.error().message());
    }
    ReportExit(ctx_, rec, /*persist=*/!auto_remove);
    if (auto_remove) {
      if (auto st = RemoveContainer(ctx_, rec); !st)
        base::LogWarn("auto-remove {}: {}", id, st.error().message());
      return;
    }
    restart = ShouldRestart(policy.name, policy.maximum_retry_count, rec.state.exit_code,
                            rec.manually_stopped, rec.restart_count);
    if (restart) {
      count = rec.restart_count;
      ++rec.restart_count;
      (void)ctx_->containers->Update(rec);
    }
  }
  if (restart) {
    std::lock_guard guard(mu_);
    restarts_.emplace(std::chrono::steady_clock::now() + Backoff(count), Due{id, false});
  }
}

bool ContainerMonitor::RestartPending(const std::string& id) {
  std::lock_guard lock(mu_);
  for (const auto& [when, due] : restarts_)
    if (due.id == id) return true;
  return false;
}

void ContainerMonitor::StartByPolicy(const std::string& id, bool at_boot) {
  auto rec = ctx_->containers->Find(id);
  if (!rec || rec->id != id) return;
  if (rec->manually_stopped && !at_boot) return;  // stopped through the API while we waited
  Response r = StartContainer(ctx_, id, /*by_policy=*/!at_boot);
  if (r.status >= 400) base::LogWarn("restart {} by its policy: {}", id, r.body);
}

}  // namespace berth::daemon
