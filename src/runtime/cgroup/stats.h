// Resource usage of one container's cgroup, in one shape for v1 and v2 (what `docker stats`
// and `runc events --stats` need). Fields a hierarchy does not provide stay zero.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace berth::runtime::cgroup {

// A limit that is not set ("max" in v2, the huge page-rounded LONG_MAX in v1).
inline constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

struct CpuStats {
  uint64_t usage_total_ns = 0;
  uint64_t usage_user_ns = 0;
  uint64_t usage_system_ns = 0;
  std::vector<uint64_t> usage_per_cpu_ns;  // v1 cpuacct only; empty on v2
  uint64_t throttling_periods = 0;         // nr_periods
  uint64_t throttled_periods = 0;          // nr_throttled
  uint64_t throttled_time_ns = 0;
};

struct MemoryStats {
  uint64_t usage = 0;      // bytes, page cache included
  uint64_t max_usage = 0;  // peak (v1 max_usage_in_bytes, v2 memory.peak where present)
  uint64_t limit = kUnlimited;
  uint64_t cache = 0;  // v1 "total_cache", v2 "file"
  uint64_t rss = 0;    // v1 "total_rss", v2 "anon"
  uint64_t swap_usage = 0;
  uint64_t swap_limit = kUnlimited;  // v1: memory+swap; v2: swap alone (memory.swap.max)
  uint64_t oom_kill_count = 0;
  std::map<std::string, uint64_t> raw;  // memory.stat as the kernel wrote it
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = kUnlimited;
};

struct BlkioDeviceStats {
  uint64_t major = 0, minor = 0;
  uint64_t read_bytes = 0, write_bytes = 0;
  uint64_t read_ios = 0, write_ios = 0;
};

struct Stats {
  CpuStats cpu;
  MemoryStats memory;
  PidsStats pids;
  std::vector<BlkioDeviceStats> blkio;  // sorted by major:minor
};

}  // namespace berth::runtime::cgroup
