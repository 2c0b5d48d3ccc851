// ContainerMonitor: notices when a container's shim exits and does what follows an exit: the
// "die" event, the rootfs unmount, AutoRemove, and the restart policy (no, always,
// unless-stopped, on-failure[:n]) with Docker's back-off. Shims are not berthd's children (they
// daemonize so that containers outlive berthd), so each is watched through a pidfd, all of
// them from one epoll thread. Recover() re-adopts the containers of an earlier berthd.
// The exit is handled as soon as the shim renames exit.json into its state dir (inotify), not
// only when the shim exits: the shim still removes the container's cgroups and runtime state
// after that, and berthd's unmount and --rm removal run meanwhile (RemoveContainer waits for
// that cleanup to be done, StartContainer for the shim to be gone).
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
  // that is already gone is handled as an exit at once, and so is an exit.json already renamed
  // into the state dir (a container that ended while its start was being recorded).
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
  // Ends the watch `key` (its pidfd and its state dir's inotify watch) and returns the
  // container id it watched, or "" when it had ended already.
  std::string Unwatch(uint64_t key);
  void ReadInotify();

  sys::UniqueFd epoll_, wake_, inotify_;
  std::thread thread_;
  std::mutex mu_;
  bool stopping_ = false;            // guarded by mu_
  std::vector<std::string> exited_;  // guarded by mu_: exits to handle on the thread
  // Each watched shim has a key of its own in the epoll data, never reused: an event still
  // queued for a pidfd that the inotify path closed (and whose number a new watch may have
  // taken since) then matches nothing. Keys 0 and 1 are the wake eventfd and inotify.
  struct Watched {
    int pidfd;
    std::string id;
  };
  std::map<uint64_t, Watched> watched_;  // guarded by mu_
  uint64_t next_key_ = 2;                // guarded by mu_
  std::map<int, uint64_t> dirs_;         // guarded by mu_: inotify watch of a state dir -> its key
  struct Due {
    std::string id;
    bool at_boot = false;
  };
  std::multimap<std::chrono::steady_clock::time_point, Due> restarts_;  // guarded by mu_
};

}  // namespace berth::daemon
