// PendingMounts: container rootfs mounts begun at create, in the background, for the start
// that usually follows at once (`docker run` is create, attach, wait, start): the overlay mount
// (overlayfs probes its workdir with a tmpfile, a whiteout rename and xattrs on every mount)
// then runs on the other CPU while the client reads the create reply and sends its next three
// requests. A start takes the result and mounts again itself if there is none or it failed; a
// removal takes it before unmounting.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"

namespace berth::daemon {

class PendingMounts {
 public:
  PendingMounts() = default;
  // Waits for every mount still running.
  ~PendingMounts();
  PendingMounts(const PendingMounts&) = delete;
  PendingMounts& operator=(const PendingMounts&) = delete;

  // Runs `mount` on a thread of its own, its result kept for Take(id). A pending mount of the
  // same id is waited for and dropped first.
  void Begin(const std::string& id, std::function<base::Status()> mount);
  // The result of id's mount, waiting for it to finish; nullopt when none was begun (or it was
  // taken already).
  std::optional<base::Status> Take(const std::string& id);

 private:
  std::mutex mu_;
  std::map<std::string, std::future<base::Status>> pending_;
};

}  // namespace berth::daemon
