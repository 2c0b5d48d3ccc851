// GET /events, the pure parts: which events a `filters=` selects (dockerd's events.Filter) and
// how one event looks on the wire (events.Message, with the deprecated status/id/from fields
// that compose still reads).
#pragma once

#include <string>

#include "base/result.h"
#include "daemon/events.h"
#include "daemon/query.h"

namespace berth::daemon {

class EventFilter {
 public:
  EventFilter() = default;
  explicit EventFilter(Filters filters) : filters_(std::move(filters)) {}

  // Keys: type, event (alias action), container, image, label, network, volume, daemon,
  // scope. Different keys are ANDed, values of one key ORed, every label must match.
  bool Match(const Event& event) const;

 private:
  Filters filters_;
};

// {"status","id","from","Type","Action","Actor":{"ID","Attributes"},"scope":"local","time",
// "timeNano"} without the trailing newline.
std::string EventJson(const Event& event);

}  // namespace berth::daemon
