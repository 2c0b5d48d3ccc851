// GET /containers/{id}/stats: one sample of a container's resource usage (its cgroup through
// the runtime library's cgroup manager, the host's CPU time, the container's interfaces) and
// Docker's StatsJSON built from two samples (precpu_stats is the earlier one).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "runtime/cgroup/stats.h"

namespace berth::daemon {

struct NetDevStats {
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

struct StatsSample {
  int64_t read_nano = 0;  // when it was taken (unix time)
  runtime::cgroup::Stats cgroup;
  uint64_t system_cpu_ns = 0;  // the host's CPU time (/proc/stat), as dockerd computes it
  uint32_t online_cpus = 0;
  std::map<std::string, NetDevStats> networks;  // without lo
};

// Samples the container `id` whose runtime state lives under `runtime_root`; `pid` (its init)
// for the network counters, 0 to skip them.
base::Result<StatsSample> SampleStats(const std::string& runtime_root, const std::string& id,
                                      int pid);

// /proc/net/dev text -> interface -> counters (lo dropped).
std::map<std::string, NetDevStats> ParseNetDev(std::string_view text);
// /proc/stat text -> (total CPU time in ns, number of cpuN lines).
std::pair<uint64_t, uint32_t> ParseProcStat(std::string_view text);

// Docker's StatsJSON. `cur` null: the zeroed object dockerd sends for a stopped container.
// `pre` null: precpu_stats zeroed (the first sample of a stream, one-shot). `machine_memory`
// caps memory_stats.limit when the cgroup has none, as dockerd does.
nlohmann::json StatsJson(const StatsSample* cur, const StatsSample* pre, const std::string& name,
                         const std::string& id, uint64_t machine_memory);

}  // namespace berth::daemon
