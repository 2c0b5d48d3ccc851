// PendingAttaches: hijacked attach connections of containers that are not running yet
// (`docker run` attaches before it starts the container; `start -a` likewise). They are handed
// to the container's shim when it is spawned (--attach-fd), so they see the output from the
// first byte and stay connected even if berthd goes away.
//
// An attach answers 101 before its connection can be handed over (the hijack callback runs
// after the response is written), and a client may send `start` the moment it reads the 101.
// So the attach reserves its place first, and Take waits for outstanding reservations: the
// start cannot miss a connection whose 101 the client already has.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sys/unique_fd.h"

namespace berth::daemon {

class PendingAttaches {
 public:
  class Reservation;
  // Holds a place for a connection of `id` until the reservation is fulfilled, or destroyed
  // unfulfilled (the client went away before the 101, or asked for logs only).
  std::shared_ptr<Reservation> Reserve(const std::string& id);
  // Takes the connections waiting for `id` (the caller passes them on or closes them), first
  // waiting up to `wait` for the reservations of `id` to be fulfilled or released.
  std::vector<sys::UniqueFd> Take(const std::string& id,
                                  std::chrono::milliseconds wait = std::chrono::seconds(2));
  // Closes the connections waiting for `id` (the container was removed); does not wait.
  void Drop(const std::string& id) { (void)Take(id, std::chrono::milliseconds(0)); }

 private:
  struct Entry {
    std::vector<sys::UniqueFd> fds;
    int reserved = 0;
  };
  void Release(const std::string& id, sys::UniqueFd fd);

  std::mutex mu_;
  std::condition_variable released_;
  std::map<std::string, Entry> by_id_;
};

class PendingAttaches::Reservation {
 public:
  Reservation(PendingAttaches* owner, std::string id) : owner_(owner), id_(std::move(id)) {}
  ~Reservation() {
    if (!done_) owner_->Release(id_, sys::UniqueFd());
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  // Adds the connection and ends the reservation (once; later calls close `fd`).
  void Fulfill(sys::UniqueFd fd) {
    if (done_) return;
    done_ = true;
    owner_->Release(id_, std::move(fd));
  }

 private:
  PendingAttaches* owner_;
  std::string id_;
  bool done_ = false;
};

}  // namespace berth::daemon
