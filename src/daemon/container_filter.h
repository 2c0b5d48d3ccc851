// The `filters=` of GET /containers/json, with dockerd's meaning: id and name are unanchored
// regular expressions over the id and "/name", status/exited/label/ancestor/network compare
// exactly, before/since are relative to another container's creation. Pure (unit-tested).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "base/result.h"
#include "daemon/container_store.h"
#include "daemon/query.h"

namespace berth::daemon {

// What the filters look at besides the record.
struct ContainerFacts {
  std::map<std::string, std::string> labels;
  std::string network_mode = "default";
};

class ContainerFilter {
 public:
  // InvalidArgument for unknown keys (dockerd's "invalid filter 'x'") and bad values.
  // `find` resolves before/since references (NotFound passes through).
  static base::Result<ContainerFilter> Make(
      const Filters& filters,
      const std::function<base::Result<ContainerRecord>(const std::string&)>& find);

  // Whether filtering by state means "all" containers, not only running ones (status, exited).
  bool ImpliesAll() const { return implies_all_; }
  bool Matches(const ContainerRecord& rec, const ContainerFacts& facts) const;

 private:
  Filters filters_;
  std::string before_created_, since_created_;  // RFC 3339, "" = no bound
  bool implies_all_ = false;
};

// dockerd's container status words: created, running, paused, exited.
std::string StatusWord(const ContainerState& s);

}  // namespace berth::daemon
