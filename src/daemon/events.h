// EventBus: the daemon's event log (Docker's /events): every container and image action is
// published here with a sequence number, the last kRetained kept in memory so that `since`
// can replay them and waiters (the events route, wait?condition=) read from a cursor.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace berth::daemon {

struct Event {
  uint64_t seq = 0;    // set by Publish: 1, 2, ...
  std::string type;    // "container", "image", "network", "volume", "daemon"
  std::string action;  // "create", "start", "die", "destroy", "pull", "exec_start: sh", ...
  std::string id;      // container id, image reference or id
  std::map<std::string, std::string> attributes;  // name, image, exitCode, labels, ...
  int64_t time_nano = 0;                          // set by Publish (unix time)
};

class EventBus {
 public:
  static constexpr size_t kRetained = 1024;

  // Stamps seq and time, records the event and wakes every reader.
  void Publish(Event event);

  // The sequence number the next event will get: a cursor that sees only what comes after now.
  uint64_t Next() const;

  // The retained events with seq >= *cursor; when there are none, waits until one arrives or
  // `deadline` passes (then returns empty). Advances *cursor past what it returns. Events
  // already dropped from the ring are skipped silently.
  std::vector<Event> Read(uint64_t* cursor, std::chrono::steady_clock::time_point deadline) const;

  // Wakes every Read() and makes closed() true (the daemon stops: streams should end).
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Event> ring_;
  uint64_t next_seq_ = 1;
  bool closed_ = false;
};

}  // namespace berth::daemon
