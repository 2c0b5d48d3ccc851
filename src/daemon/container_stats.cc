// See container_stats.h; field shapes follow moby's api/types/stats.go and the v1 collector in
// daemon/daemon_unix.go (statsV1).
#include "daemon/container_stats.h"

#include <time.h>
#include <unistd.h>

#include "base/strings.h"
#include "base/time.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/state_store.h"
#include "sys/file.h"

namespace berth::daemon {

using nlohmann::json;
using runtime::cgroup::kUnlimited;

namespace {

std::string TimeText(int64_t nanos) {
  if (nanos == 0) return "0001-01-01T00:00:00Z";
  struct timespec ts = {time_t(nanos / 1000000000), long(nanos % 1000000000)};
  return base::FormatRfc3339Nano(ts);
}

json CpuJson(const StatsSample* s) {
  json usage = {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}};
  json throttling = {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}};
  json out = {{"cpu_usage", usage}, {"throttling_data", throttling}};
  if (!s) return out;
  const auto& c = s->cgroup.cpu;
  out["cpu_usage"]["total_usage"] = c.usage_total_ns;
  out["cpu_usage"]["usage_in_kernelmode"] = c.usage_system_ns;
  out["cpu_usage"]["usage_in_usermode"] = c.usage_user_ns;
  if (!c.usage_per_cpu_ns.empty()) out["cpu_usage"]["percpu_usage"] = c.usage_per_cpu_ns;
  out["system_cpu_usage"] = s->system_cpu_ns;
  out["online_cpus"] = s->online_cpus;
  out["throttling_data"] = {{"periods", c.throttling_periods},
                            {"throttled_periods", c.throttled_periods},
                            {"throttled_time", c.throttled_time_ns}};
  return out;
}

json BlkioJson(const StatsSample* s) {
  json bytes = json::array(), ios = json::array();
  if (s) {
    for (const auto& d : s->cgroup.blkio) {
      auto add = [&](json& list, const char* op, uint64_t v) {
        list.push_back({{"major", d.major}, {"minor", d.minor}, {"op", op}, {"value", v}});
      };
      add(bytes, "Read", d.read_bytes);
      add(bytes, "Write", d.write_bytes);
      add(bytes, "Total", d.read_bytes + d.write_bytes);
      add(ios, "Read", d.read_ios);
      add(ios, "Write", d.write_ios);
      add(ios, "Total", d.read_ios + d.write_ios);
    }
  }
  json empty = s ? json::array() : json(nullptr);
  return {{"io_service_bytes_recursive", s ? bytes : json(nullptr)},
          {"io_serviced_recursive", s ? ios : json(nullptr)},
          {"io_queue_recursive", empty},
          {"io_service_time_recursive", empty},
          {"io_wait_time_recursive", empty},
          {"io_merged_recursive", empty},
          {"io_time_recursive", empty},
          {"sectors_recursive", empty}};
}

}  // namespace

std::map<std::string, NetDevStats> ParseNetDev(std::string_view text) {
  std::map<std::string, NetDevStats> out;
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name(base::Trim(std::string_view(line).substr(0, colon)));
    if (name.empty() || name == "lo") continue;
    std::vector<uint64_t> v;
    for (const std::string& f : base::SplitNonEmpty(line.substr(colon + 1), ' '))
      v.push_back(base::ParseUint(f).value_or(0));
    if (v.size() < 12) continue;
    NetDevStats n;
    n.rx_bytes = v[0];
    n.rx_packets = v[1];
    n.rx_errors = v[2];
    n.rx_dropped = v[3];
    n.tx_bytes = v[8];
    n.tx_packets = v[9];
    n.tx_errors = v[10];
    n.tx_dropped = v[11];
    out[name] = n;
  }
  return out;
}

std::pair<uint64_t, uint32_t> ParseProcStat(std::string_view text) {
  uint64_t ticks = 0;
  uint32_t cpus = 0;
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    std::vector<std::string> f = base::SplitNonEmpty(line, ' ');
    if (f.empty()) continue;
    if (f[0] == "cpu") {
      // user nice system idle iowait irq softirq, as dockerd's getSystemCPUUsage.
      for (size_t i = 1; i < f.size() && i <= 7; ++i) ticks += base::ParseUint(f[i]).value_or(0);
    } else if (base::StartsWith(f[0], "cpu")) {
      ++cpus;
    }
  }
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return {ticks * (1000000000 / uint64_t(hz)), cpus};
}

base::Result<StatsSample> SampleStats(const std::string& runtime_root, const std::string& id,
                                      int pid) {
  StatsSample s;
  runtime::StateStore store(runtime_root);
  runtime::ContainerRecord state = TRY(store.Load(id));
  if (state.cgroup_paths.empty())
    return base::Fail(base::Error::NotFound("container " + id + " has no cgroup"));
  auto layout = TRY(runtime::cgroup::DetectHostLayout());
  auto manager = TRY(runtime::cgroup::LoadManager(layout, state.cgroup_paths));
  s.cgroup = TRY(manager->GetStats());
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s.read_nano = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  if (auto stat = sys::ReadFile("/proc/stat")) {
    auto [ns, cpus] = ParseProcStat(*stat);
    s.system_cpu_ns = ns;
    s.online_cpus = cpus;
  }
  if (pid > 0) {
    if (auto dev = sys::ReadFile("/proc/" + std::to_string(pid) + "/net/dev"))
      s.networks = ParseNetDev(*dev);
  }
  return s;
}

json StatsJson(const StatsSample* cur, const StatsSample* pre, const std::string& name,
               const std::string& id, uint64_t machine_memory) {
  json out = {{"read", TimeText(cur ? cur->read_nano : 0)},
              {"preread", TimeText(pre ? pre->read_nano : 0)},
              {"pids_stats", json::object()},
              {"blkio_stats", BlkioJson(cur)},
              {"num_procs", 0},
              {"storage_stats", json::object()},
              {"cpu_stats", CpuJson(cur)},
              {"precpu_stats", CpuJson(pre)},
              {"memory_stats", json::object()},
              {"name", "/" + name},
              {"id", id}};
  if (!cur) return out;
  const auto& cg = cur->cgroup;
  out["pids_stats"]["current"] = cg.pids.current;
  if (cg.pids.limit != kUnlimited) out["pids_stats"]["limit"] = cg.pids.limit;
  json raw = json::object();
  for (const auto& [k, v] : cg.memory.raw) raw[k] = v;
  uint64_t limit = cg.memory.limit;
  // "if the container does not set memory limit, use the machineMemory" (dockerd)
  if (machine_memory > 0 && limit > machine_memory) limit = machine_memory;
  out["memory_stats"] = {{"usage", cg.memory.usage},
                         {"max_usage", cg.memory.max_usage},
                         {"stats", raw},
                         {"limit", limit}};
  if (!cur->networks.empty()) {
    json nets = json::object();
    for (const auto& [ifname, n] : cur->networks)
      nets[ifname] = {{"rx_bytes", n.rx_bytes},   {"rx_packets", n.rx_packets},
                      {"rx_errors", n.rx_errors}, {"rx_dropped", n.rx_dropped},
                      {"tx_bytes", n.tx_bytes},   {"tx_packets", n.tx_packets},
                      {"tx_errors", n.tx_errors}, {"tx_dropped", n.tx_dropped}};
    out["networks"] = nets;
  }
  return out;
}

}  // namespace berth::daemon
