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
#include "sys/unique_fd.h"

namespace berth::daemon {

class ShimPool {
 public:
  // `exec_path`: the file to execute (the read-only view's FdPath, or the binary itself);
  // `argv0`: the shim's argv[0] (its real path, for ps and logs).
  ShimPool(std::string exec_path, std::string argv0);
  // Stops the thread and closes the standby's socket (the standby exits).
  ~ShimPool();
  ShimPool(const ShimPool&) = delete;
  ShimPool& operator=(const ShimPool&) = delete;

  // Starts the thread, which spawns the first standby.
  void Start();

  // The standby's socket (kStandbyFd's peer), invalid when none is ready; the thread starts the
  // next one. Thread-safe.
  sys::UniqueFd Take();

  // Hands `args` (a shim command line, argv[0] included, without --attach-fd) and the attach
  // fds to the standby behind `sock` and waits for its report: success once the container (or
  // exec process) runs, else the shim's error. Unavailable when the standby was already gone
  // before it got the assignment (nothing was started: spawn a shim instead).
  static base::Status HandOver(int sock, const std::vector<std::string>& args,
                               const std::vector<int>& attach_fds);

 private:
  void Run();
  base::Result<sys::UniqueFd> Spawn();

  // A new standby is started once no start took one for this long.
  static constexpr std::chrono::milliseconds kRefillDelay{100};

  std::string exec_path_, argv0_;
  std::mutex mu_;
  std::condition_variable wake_;
  sys::UniqueFd standby_;
  bool stop_ = false;
  std::chrono::steady_clock::time_point last_take_;  // epoch: the first one starts at once
  std::thread thread_;
};

}  // namespace berth::daemon
