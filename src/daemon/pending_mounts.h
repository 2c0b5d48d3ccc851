// PendingMounts: container rootfs mounts begun at create, in the background, for the start
// that usually follows at once (`docker run` is create, attach, wait, start): the overlay mount
// (overlayfs probes its workdir with a tmpfile, a whiteout rename and xattrs on every mount)
// then runs on the other CPU while the client reads the create reply and sends its next three
// requests. A start takes the result and mounts again itself if there is none or it failed; a
// removal takes it before unmounting.
//
// The same task may go on to prelaunch the container (ShimPool::Prelaunch): a standby shim
// creates it up to its process's execve, and the start only lets it go. Whoever takes the result
// and does not start it drops the prelaunch, which removes that container again.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "daemon/shim_pool.h"
#include "daemon/worker_pool.h"

namespace berth::daemon {

// What a create's background task leaves for the container's first start.
struct Premount {
  base::Status mounted;         // the rootfs mount
  PrelaunchedShim prelaunched;  // set when a standby shim prelaunched the container
};

class PendingMounts {
 public:
  PendingMounts() = default;
  // Waits for every mount still running.
  ~PendingMounts();
  PendingMounts(const PendingMounts&) = delete;
  PendingMounts& operator=(const PendingMounts&) = delete;

  // Runs `task` on a worker of this object's own pool, its result kept for Take(id). A pending
  // task of the same id is waited for and dropped first. (Workers stay for the next create: a
  // thread made per create was a clone and the first touches of a new stack, ~0.2 ms in a
  // trace between the create's clone3 and the mount, and its stack went back with
  // MADV_DONTNEED when it ended.)
  void Begin(const std::string& id, std::function<Premount()> task);
  // The result of id's task, waiting for it to finish; nullopt when none was begun (or it was
  // taken already).
  std::optional<Premount> Take(const std::string& id);
  // Waits for id's task and drops its prelaunch (the container's config changed); the mount's
  // result stays for Take.
  void DropPrelaunch(const std::string& id);

 private:
  std::mutex mu_;
  std::map<std::string, std::future<Premount>> pending_;
  // Last: destroyed first, once the destructor has waited for every pending task.
  WorkerPool workers_{2};
};

}  // namespace berth::daemon
