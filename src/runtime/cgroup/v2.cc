// The cgroup v2 manager: one directory in the unified hierarchy. Conversions from the v1-shaped
// OCI resources follow runc 1.1 (libcontainer/cgroups/fs2 and utils.go) so that `docker run -m`,
// `--cpu-shares` and `--blkio-weight` mean the same on either host.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "base/strings.h"
#include "runtime/cgroup/backends.h"
#include "runtime/cgroup/devices_bpf.h"
#include "runtime/cgroup/fs.h"

namespace berth::runtime::cgroup::internal {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr auto kStateTimeout = std::chrono::seconds(5);

// cpu.shares (2..262144, default 1024) -> cpu.weight (1..10000, default 100): the linear map
// runc 1.1 and crun use, so 1024 -> 39 on both runtimes.
uint64_t SharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

// blkio.weight (10..1000) -> io.weight (1..10000).
uint64_t BlkioToIoWeight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

// A byte limit: -1 is "max", 0 is "not set" (nullopt), other negatives are invalid.
Result<std::optional<std::string>> LimitValue(const char* field, std::optional<int64_t> v) {
  if (!v || *v == 0) return std::optional<std::string>();
  if (*v == -1) return std::optional<std::string>("max");
  if (*v < 0)
    return Fail(Error::InvalidArgument(fmt::format("memory.{}: invalid value {}", field, *v)));
  return std::optional<std::string>(std::to_string(*v));
}

// memory.swap.max from the OCI memory+swap total (runc ConvertMemorySwapToCgroupV2Value).
Result<std::optional<std::string>> SwapMax(int64_t memory, int64_t swap) {
  // v1 compatibility: unlimited memory without a swap value means unlimited swap too.
  if (memory == -1 && swap == 0) return std::optional<std::string>("max");
  if (swap == 0) return std::optional<std::string>();
  if (swap == -1) return std::optional<std::string>("max");
  if (memory == 0 || memory == -1)
    return Fail(
        Error::InvalidArgument("memory.swap: cannot set a swap limit without a memory "
                               "limit"));
  if (memory < 0)
    return Fail(Error::InvalidArgument(fmt::format("memory.limit: invalid {}", memory)));
  if (swap < memory)
    return Fail(Error::InvalidArgument(fmt::format(
        "memory.swap: memory+swap limit {} must be >= the memory limit {}", swap, memory)));
  return std::optional<std::string>(std::to_string(swap - memory));
}

std::set<std::string> ParseControllers(std::string_view text) {
  std::set<std::string> out;
  for (const std::string& c : base::SplitNonEmpty(base::Trim(text), ' '))
    out.insert(c.starts_with('+') ? c.substr(1) : c);
  return out;
}

// Enables in dir's cgroup.subtree_control the controllers it offers (those in `only`, if given)
// that are not enabled yet.
Status EnableControllers(const std::string& dir, const std::set<std::string>* only) {
  std::set<std::string> available = TRY(V2Controllers(dir));
  std::set<std::string> enabled = ParseControllers(TRY(ReadFile(dir, "cgroup.subtree_control")));
  std::vector<std::string> want;
  for (const std::string& c : available)
    if ((!only || only->count(c)) && !enabled.count(c)) want.push_back("+" + c);
  if (want.empty()) return {};
  if (WriteFile(dir, "cgroup.subtree_control", base::Join(want, " "))) return {};
  // One controller can refuse (a threaded subtree, processes in a non-root cgroup) while the
  // rest work; runc enables them one by one then, and so do we. A missing controller shows
  // up later as a missing interface file when a limit for it is set.
  for (const std::string& c : want) {
    auto st = WriteFile(dir, "cgroup.subtree_control", c);
    if (!st) base::LogDebug("enable controller: {}", st.error().message());
  }
  return {};
}

Result<std::optional<uint64_t>> ReadOptionalUint(const std::string& dir, const std::string& file) {
  auto v = ReadUint(dir, file);
  if (!v) {
    if (v.error().sys_errno() == ENOENT) return std::optional<uint64_t>();
    return Fail(std::move(v).error());
  }
  return std::optional<uint64_t>(*v);
}

Result<std::map<std::string, uint64_t>> ReadOptionalKeyValues(const std::string& dir,
                                                              const std::string& file) {
  auto kv = ReadKeyValues(dir, file);
  if (!kv) {
    if (kv.error().sys_errno() == ENOENT) return std::map<std::string, uint64_t>();
    return Fail(std::move(kv).error());
  }
  return std::move(*kv);
}

Result<std::pair<uint64_t, uint64_t>> ParseDevice(std::string_view s) {
  auto mm = base::Split(s, ':');
  std::optional<uint64_t> major, minor;
  if (mm.size() == 2) {
    major = base::ParseUint(mm[0]);
    minor = base::ParseUint(mm[1]);
  }
  if (!major || !minor)
    return Fail(Error::Internal(fmt::format("bad device \"{}\" in io.stat", s)));
  return std::make_pair(*major, *minor);
}

class V2Manager : public Manager {
 public:
  explicit V2Manager(CgroupDir dir) : dir_(std::move(dir)) {}

  Status Apply(pid_t pid) override {
    TRY_CTX(CreateV2(dir_), "create cgroup");
    if (pid >= 0)
      TRY_CTX(WriteFile(dir_.path, "cgroup.procs", std::to_string(pid)),
              fmt::format("move pid {} into cgroup", pid));
    return {};
  }

  Status Set(const oci::Resources& r) override {
    if (r.cpu) TRY(SetCpu(*r.cpu));
    if (r.memory) TRY(SetMemory(*r.memory));
    if (r.pids)
      TRY(Write("pids", "pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max"));
    if (r.block_io) TRY(SetIo(*r.block_io));
    if (!r.hugepage_limits.empty()) TRY(SetHugetlbV2(dir_.path, r.hugepage_limits));
    if (r.network && (r.network->class_id || !r.network->priorities.empty()))
      return Fail(Error::Unavailable(
          "network classID/priorities need the net_cls/net_prio controllers, which cgroup v2 "
          "does not have"));
    if (!r.devices.empty()) TRY(SetDeviceRules(dir_.path, r.devices));
    // Raw values last, so they override what the typed fields wrote (runc does the same).
    TRY(SetUnifiedV2(dir_.path, r.unified));
    return {};
  }

  Status Freeze() override { return SetFrozen(true); }
  Status Thaw() override { return SetFrozen(false); }

  Result<bool> IsFrozen() override {
    auto events = TRY(ReadKeyValues(dir_.path, "cgroup.events"));
    return events["frozen"] == 1;
  }

  Result<std::vector<pid_t>> Pids() override { return ReadPidsRecursive(dir_.path); }

  Status KillAll(int sig) override {
    // cgroup.kill (5.14+) kills the whole subtree atomically, forks included; SIGKILL only.
    if (sig == SIGKILL && FileExists(dir_.path, "cgroup.kill"))
      return WriteFile(dir_.path, "cgroup.kill", "1");
    // Freeze first so nothing forks between listing and signalling. A frozen cgroup still takes
    // the signal; it is delivered on thaw.
    auto frozen = Freeze();
    if (!frozen) base::LogDebug("kill without freezing: {}", frozen.error().message());
    auto pids = Pids();
    Status st = pids ? SignalPids(*pids, sig) : Fail(std::move(pids).error());
    if (frozen) {
      auto thawed = Thaw();
      if (st && !thawed) return thawed;
    }
    return st;
  }

  Result<Stats> GetStats() override {
    const std::string& d = dir_.path;
    Stats s;
    // cpu.stat exists without the cpu controller too (usage only).
    auto cpu = TRY(ReadOptionalKeyValues(d, "cpu.stat"));
    s.cpu.usage_total_ns = cpu["usage_usec"] * 1000;
    s.cpu.usage_user_ns = cpu["user_usec"] * 1000;
    s.cpu.usage_system_ns = cpu["system_usec"] * 1000;
    s.cpu.throttling_periods = cpu["nr_periods"];
    s.cpu.throttled_periods = cpu["nr_throttled"];
    s.cpu.throttled_time_ns = cpu["throttled_usec"] * 1000;

    if (auto usage = TRY(ReadOptionalUint(d, "memory.current"))) {
      s.memory.usage = *usage;
      s.memory.limit = TRY(ReadOptionalUint(d, "memory.max")).value_or(kUnlimited);
      s.memory.max_usage = TRY(ReadOptionalUint(d, "memory.peak")).value_or(0);
      s.memory.swap_usage = TRY(ReadOptionalUint(d, "memory.swap.current")).value_or(0);
      s.memory.swap_limit = TRY(ReadOptionalUint(d, "memory.swap.max")).value_or(kUnlimited);
      s.memory.raw = TRY(ReadOptionalKeyValues(d, "memory.stat"));
      s.memory.cache = s.memory.raw["file"];
      s.memory.rss = s.memory.raw["anon"];
      s.memory.oom_kill_count = TRY(ReadOptionalKeyValues(d, "memory.events"))["oom_kill"];
    }
    if (auto current = TRY(ReadOptionalUint(d, "pids.current"))) {
      s.pids.current = *current;
      s.pids.limit = TRY(ReadOptionalUint(d, "pids.max")).value_or(kUnlimited);
    }
    auto io = ReadFile(d, "io.stat");
    if (!io && io.error().sys_errno() != ENOENT) return Fail(std::move(io).error());
    if (io) {
      // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
      for (const std::string& line : base::SplitNonEmpty(*io, '\n')) {
        auto fields = base::SplitNonEmpty(line, ' ');
        if (fields.empty()) continue;
        auto [major, minor] = TRY(ParseDevice(fields[0]));
        BlkioDeviceStats dev{.major = major, .minor = minor};
        for (size_t i = 1; i < fields.size(); ++i) {
          auto kv = base::Split(fields[i], '=');
          if (kv.size() != 2) continue;
          uint64_t v = base::ParseUint(kv[1]).value_or(0);
          if (kv[0] == "rbytes") dev.read_bytes = v;
          if (kv[0] == "wbytes") dev.write_bytes = v;
          if (kv[0] == "rios") dev.read_ios = v;
          if (kv[0] == "wios") dev.write_ios = v;
        }
        s.blkio.push_back(dev);
      }
      std::sort(s.blkio.begin(), s.blkio.end(), [](const auto& a, const auto& b) {
        return std::tie(a.major, a.minor) < std::tie(b.major, b.minor);
      });
    }
    return s;
  }

  Status Destroy() override { return RemoveCgroupTree(dir_.path); }

  std::map<std::string, std::string> Paths() const override { return {{kUnifiedKey, dir_.path}}; }

  Result<uint64_t> OomKillCount() override {
    return TRY(ReadKeyValues(dir_.path, "memory.events"))["oom_kill"];
  }

 private:
  // Writes an interface file of `controller`; a missing file because the controller is not
  // enabled for this cgroup becomes an error that says so.
  Status Write(const char* controller, const std::string& file, std::string_view value) {
    auto st = WriteFile(dir_.path, file, value);
    if (st || st.error().sys_errno() != ENOENT) return st;
    auto available = V2Controllers(dir_.path);
    if (available && !available->count(controller))
      return Fail(Error::Unavailable(
          fmt::format("cannot write {}: cgroup v2 controller \"{}\" is not available in \"{}\"",
                      file, controller, dir_.path)));
    return st;
  }

  Status SetMemory(const oci::MemoryResources& m) {
    auto swap = TRY(SwapMax(m.limit.value_or(0), m.swap.value_or(0)));
    if (swap) {
      auto st = Write("memory", "memory.swap.max", *swap);
      // No swap accounting: "unlimited" and "none" are already true, anything else is not.
      if (!st && st.error().sys_errno() == ENOENT && *swap != "max" && *swap != "0")
        return Fail(std::move(st).error().Context("swap limit needs swap accounting"));
      if (!st && st.error().sys_errno() != ENOENT) return st;
    }
    if (auto v = TRY(LimitValue("limit", m.limit))) TRY(Write("memory", "memory.max", *v));
    if (auto v = TRY(LimitValue("reservation", m.reservation)))
      TRY(Write("memory", "memory.low", *v));
    if (m.swappiness) base::LogWarn("memory.swappiness has no cgroup v2 equivalent; ignored");
    if (m.disable_oom_killer.value_or(false))
      base::LogWarn("memory.disableOOMKiller has no cgroup v2 equivalent; ignored");
    if (m.kernel || m.kernel_tcp)
      base::LogWarn("kernel memory limits have no cgroup v2 equivalent; ignored");
    return {};
  }

  Status SetCpu(const oci::CpuResources& c) {
    if (c.shares.value_or(0) != 0)
      TRY(Write("cpu", "cpu.weight", std::to_string(SharesToWeight(*c.shares))));
    if (c.quota || c.period.value_or(0) != 0) {
      std::string quota;
      if (c.quota) {
        quota = *c.quota > 0 ? std::to_string(*c.quota) : "max";
      } else {
        // Only the period changes: keep the quota in force.
        auto cur = ReadFile(dir_.path, "cpu.max");
        auto parts = cur ? base::SplitNonEmpty(*cur, ' ') : std::vector<std::string>{};
        quota = parts.empty() ? "max" : parts[0];
      }
      std::string value = quota;
      if (c.period.value_or(0) != 0) value += " " + std::to_string(*c.period);
      TRY(Write("cpu", "cpu.max", value));
    }
    if (c.burst) TRY(Write("cpu", "cpu.max.burst", std::to_string(std::max<int64_t>(*c.burst, 0))));
    if (c.idle) TRY(Write("cpu", "cpu.idle", std::to_string(*c.idle)));
    if (c.realtime_runtime.value_or(0) != 0 || c.realtime_period.value_or(0) != 0)
      return Fail(Error::Unavailable("cpu realtime runtime/period are not supported on cgroup v2"));
    if (!c.cpus.empty()) TRY(Write("cpuset", "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) TRY(Write("cpuset", "cpuset.mems", c.mems));
    return {};
  }

  Status SetIo(const oci::BlockIoResources& b) {
    const std::string& d = dir_.path;
    // With the BFQ scheduler io.bfq.weight takes the v1 range as is (runc does the same).
    const bool bfq = FileExists(d, "io.bfq.weight");
    if (b.weight.value_or(0) != 0) {
      if (bfq) {
        TRY(Write("io", "io.bfq.weight", std::to_string(*b.weight)));
      } else {
        TRY(Write("io", "io.weight", std::to_string(BlkioToIoWeight(*b.weight))));
      }
    }
    if (b.leaf_weight) base::LogWarn("blockIO.leafWeight has no cgroup v2 equivalent; ignored");
    for (const oci::WeightDevice& wd : b.weight_device) {
      if (wd.weight.value_or(0) == 0) continue;
      std::string dev = fmt::format("{}:{}", wd.major, wd.minor);
      if (bfq) {
        TRY(Write("io", "io.bfq.weight", fmt::format("{} {}", dev, *wd.weight)));
      } else {
        TRY(Write("io", "io.weight", fmt::format("{} {}", dev, BlkioToIoWeight(*wd.weight))));
      }
    }
    // One io.max line per device with every limit given for it; 0 lifts a limit, as in v1.
    std::map<std::pair<int64_t, int64_t>, std::vector<std::string>> lines;
    auto add = [&](const std::vector<oci::ThrottleDevice>& devs, const char* key) {
      for (const oci::ThrottleDevice& t : devs)
        lines[{t.major, t.minor}].push_back(
            fmt::format("{}={}", key, t.rate == 0 ? "max" : std::to_string(t.rate)));
    };
    add(b.throttle_read_bps_device, "rbps");
    add(b.throttle_write_bps_device, "wbps");
    add(b.throttle_read_iops_device, "riops");
    add(b.throttle_write_iops_device, "wiops");
    for (const auto& [dev, limits] : lines)
      TRY(Write("io", "io.max",
                fmt::format("{}:{} {}", dev.first, dev.second, base::Join(limits, " "))));
    return {};
  }

  Status SetFrozen(bool frozen) {
    const std::string& d = dir_.path;
    TRY(WriteFile(d, "cgroup.freeze", frozen ? "1" : "0"));
    bool done = TRY(PollUntil(
        [&]() -> Result<bool> {
          auto events = TRY(ReadKeyValues(d, "cgroup.events"));
          return events["frozen"] == (frozen ? 1u : 0u);
        },
        kStateTimeout));
    if (done) return {};
    // Do not leave a half-frozen container behind.
    if (frozen) (void)WriteFile(d, "cgroup.freeze", "0");
    return Fail(Error::Unavailable(
        fmt::format("timed out waiting for \"{}\" to become {}", d, frozen ? "frozen" : "thawed")));
  }

  CgroupDir dir_;
};

}  // namespace

Result<std::set<std::string>> V2Controllers(const std::string& dir) {
  return ParseControllers(TRY(ReadFile(dir, "cgroup.controllers")));
}

Status CreateV2(const CgroupDir& dir, const std::set<std::string>* only) {
  if (dir.path == dir.mount)
    return Fail(Error::InvalidArgument("refusing to manage the cgroup v2 root"));
  return MkdirBelow(dir.mount, dir.path,
                    [&](const std::string& parent, const std::string&) -> Status {
                      return EnableControllers(parent, only);
                    });
}

Status SetHugetlbV2(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& l : limits) {
    if (l.page_size.empty() || l.page_size.find('/') != std::string::npos ||
        internal::HasDotDot(l.page_size))
      return Fail(Error::InvalidArgument(
          fmt::format("hugepageLimits: invalid pageSize \"{}\"", l.page_size)));
    TRY(WriteFile(dir, fmt::format("hugetlb.{}.max", l.page_size), std::to_string(l.limit)));
  }
  return {};
}

Status SetUnifiedV2(const std::string& dir, const std::map<std::string, std::string>& raw) {
  for (const auto& [key, value] : raw) {
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos)
      return Fail(
          Error::InvalidArgument(fmt::format("unified: invalid cgroup file name \"{}\"", key)));
  }
  for (const auto& [key, value] : raw) {
    auto st = WriteFile(dir, key, value);
    if (st) continue;
    if (st.error().sys_errno() == ENOENT) {
      std::string controller = key.substr(0, key.find('.'));
      auto available = V2Controllers(dir);
      if (controller != "cgroup" && available && !available->count(controller))
        return Fail(Error::Unavailable(
            fmt::format("unified resource \"{}\" cannot be set: controller \"{}\" is not available",
                        key, controller)));
    }
    return st;
  }
  return {};
}

std::unique_ptr<Manager> NewV2Manager(CgroupDir dir) {
  return std::make_unique<V2Manager>(std::move(dir));
}

}  // namespace berth::runtime::cgroup::internal
