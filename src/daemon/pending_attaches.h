// PendingAttaches: hijacked attach connections of containers that are not running yet
// (`docker run` attaches before it starts the container; `start -a` likewise). They are handed
// to the container's shim when it is spawned (--attach-fd), so they see the output from the
// first byte and stay connected even if berthd goes away.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sys/unique_fd.h"

namespace berth::daemon {

class PendingAttaches {
 public:
  void Add(const std::string& id, sys::UniqueFd fd);
  // Takes the connections waiting for `id` (the caller passes them on or closes them).
  std::vector<sys::UniqueFd> Take(const std::string& id);
  // Closes the connections waiting for `id` (the container was removed).
  void Drop(const std::string& id) { (void)Take(id); }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<sys::UniqueFd>> by_id_;
};

}  // namespace berth::daemon
