// ShimPool: one berth-shim kept ready in standby mode (src/shim/standby.h), so that a container
// start hands its arguments to a running shim instead of paying the shim's exec, start-up and
// daemonizing forks (on this 2-CPU VM about a fifth of `docker run`'s time to the container).
//
// A background thread spawns the standby whenever there is none, once starts have left the
// host alone for kRefillDelay; Take() hands the current one over. A standby is an idle daemonized
// process holding only its socket: when berthd stops, or dies, the socket closes and the standby
// exits having created nothing. Concurrent starts beyond the one standby spawn their shims the
// usual way.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "shim/standby.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

// A container that a standby shim created ahead of its start (standby.h, "Prelaunch"): its init
// waits at the execve, and the shim waits for the start record. Dropping one unstarted removes
// the container: Cancel tells the shim and waits for it to be done (cgroups and runtime state
// gone), up to kCancelWait.
class PrelaunchedShim {
 public:
  PrelaunchedShim() = default;
  explicit PrelaunchedShim(sys::UniqueFd sock) : sock_(std::move(sock)) {}
  ~PrelaunchedShim() { Cancel(); }
  PrelaunchedShim(PrelaunchedShim&&) = default;
  PrelaunchedShim& operator=(PrelaunchedShim&& other) noexcept {
    if (this != &other) {
      Cancel();
      sock_ = std::move(other.sock_);
    }
    return *this;
  }

  explicit operator bool() const { return bool(sock_); }

  // Tells the shim the bundle's config.json is written, and that the rootfs is mounted. An
  // error: the shim is gone (this one is empty then).
  base::Status Configured() { return Send(shim::kConfigRecord); }
  base::Status Mounted() { return Send(shim::kMountedRecord); }

  // Sends the start record with the attach fds (the caller keeps its copies), whether or not
  // the container is ready yet, and waits for the shim's "ready" and then its report, as
  // ShimPool::HandOver. Unavailable: the shim failed before the container was ready, or had
  // given up waiting, and removed what it had made (nothing runs: start it the usual way).
  base::Status Start(const std::vector<int>& attach_fds);
  // Removes the container, waiting for the shim; a no-op once started or cancelled.
  void Cancel();

  static constexpr std::chrono::seconds kCancelWait{5};

 private:
  base::Status Send(std::string_view record);

  sys::UniqueFd sock_;
};

class ShimPool {
 public:
  // `exec_path`: the file to execute (the read-only view's FdPath, or the binary itself);
  // `argv0`: the shim's argv[0] (its real path, for ps and logs); `seccomp_hint`: where
  // NoteSeccompProfile keeps its text for the standbys (empty: no hints).
  ShimPool(std::string exec_path, std::string argv0, std::string seccomp_hint = "");
  // Stops the thread and closes the standby's socket (the standby exits).
  ~ShimPool();
  ShimPool(const ShimPool&) = delete;
  ShimPool& operator=(const ShimPool&) = delete;

  // Starts the thread, which spawns the first standby.
  void Start();

  // The seccomp profile of the container just created, as its config holds it
  // (oci::SeccompValueText): standbys spawned from now on parse it while they wait
  // (berth-shim --seccomp-hint), and a config with the same profile then parses ~3x faster on
  // the way to the container's start. Written to the hint file when it changed; call it off
  // any request's path. Thread-safe.
  void NoteSeccompProfile(const std::string& text);

  // The standby's socket (kStandbyFd's peer), invalid when none is ready; the thread starts the
  // next one. Thread-safe.
  sys::UniqueFd Take();

  // Hands `args` (a shim command line, argv[0] included, without --attach-fd) and the attach
  // fds to the standby behind `sock` and waits for its report: success once the container (or
  // exec process) runs, else the shim's error. Unavailable when the standby was already gone
  // before it got the assignment (nothing was started: spawn a shim instead).
  static base::Status HandOver(int sock, const std::vector<std::string>& args,
                               const std::vector<int>& attach_fds);
  // Prelaunch: hands `args` (a shim command line with --prelaunch, argv[0] included) to the
  // standby behind `sock`, which sets up what it can until PrelaunchedShim::Configured and
  // then until PrelaunchedShim::Mounted.
  // Unavailable when the standby was gone.
  static base::Result<PrelaunchedShim> Prelaunch(sys::UniqueFd sock,
                                                 const std::vector<std::string>& args);

 private:
  void Run();
  base::Result<sys::UniqueFd> Spawn();

  // A new standby is started once no start took one for this long.
  static constexpr std::chrono::milliseconds kRefillDelay{100};

  std::string exec_path_, argv0_;
  const std::string seccomp_hint_;
  std::mutex hint_mu_;
  std::string hint_text_;    // guarded by hint_mu_: what the hint file holds
  bool hint_ready_ = false;  // guarded by mu_: the hint file exists
  std::mutex mu_;
  std::condition_variable wake_;
  sys::UniqueFd standby_;
  bool stop_ = false;
  std::chrono::steady_clock::time_point last_take_;  // epoch: the first one starts at once
  std::thread thread_;
};

}  // namespace berth::daemon
