// ContainerMonitor: notices when a container's shim exits and does what follows an exit: the
// "die" event, the rootfs unmount, AutoRemove, and the restart policy (no, always,
// unless-stopped, on-failure[:n]) with Docker's back-off. Shims are not berthd's children (they
// daemonize so that containers outlive berthd), so each is watched through a pidfd, all of
// them from one epoll thread. Recover() re-adopts the containers of an earlier berthd.
//
// Thread-safety: Watch() and Recover() may be called from any thread once Start() returned.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "daemon/container_routes.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

class ContainerMonitor {
 public:
  explicit ContainerMonitor(ContainerContext* ctx) : ctx_(ctx) {}
  ~ContainerMonitor() { Stop(); }
  ContainerMonitor(const ContainerMonitor&) = delete;
  ContainerMonitor& operator=(const ContainerMonitor&) = delete;

  base::Status Start();
  // Ends the thread; containers keep running (they belong to their shims).
  void Stop();

  // Watches the shim of a container that was just started (reads <state>/shim.pid). A shim
  // that is already gone is handled as an exit at once.
  void Watch(const std::string& id);
  // Whether a restart of `id` by its policy is queued (it waits out the back-off).
  bool RestartPending(const std::string& id);

  // At daemon start: watches the shims of running containers, handles the exits that happened
  // while no berthd was there, and starts the containers whose policy asks for it (always, and
  // unless-stopped unless stopped through the API).
  void Recover();

  // The restart policy decision for an exit (pure; unit-tested). `count` is the number of
  // restarts by the policy so far.
  static bool ShouldRestart(const std::string& policy, int max_retries, int exit_code,
                            bool manually_stopped, int count);
  // Docker's back-off before restart number `count`+1: 100 ms doubling, at most one minute.
  static std::chrono::milliseconds Backoff(int count);

 private:
  void Run();
  void Wake();
  void OnExit(const std::string& id);
  // at_boot: a start by Recover(), which "always" does even after an API stop.
  void StartByPolicy(const std::string& id, bool at_boot);

  ContainerContext* ctx_;
  sys::UniqueFd epoll_, wake_;
  std::thread thread_;
  std::mutex mu_;
  bool stopping_ = false;               // guarded by mu_
  std::vector<std::string> exited_;     // guarded by mu_: exits to handle on the thread
  std::map<int, std::string> watched_;  // guarded by mu_: pidfd -> container id
  struct Due {
    std::string id;
    bool at_boot = false;
  };
  std::multimap<std::chrono::steady_clock::time_point, Due> restarts_;  // guarded by mu_
};

}  // namespace berth::daemon
