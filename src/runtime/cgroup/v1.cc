// The cgroup v1 manager, and hybrid: one directory per mounted v1 hierarchy, plus (hybrid) the
// same path joined in the cgroup2 hierarchy so v2-aware tools see the container and hugetlb,
// when only cgroup2 offers it, can still be limited. Write order and quirks follow runc 1.1
// (libcontainer/cgroups/fs).
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "base/log.h"
#include "base/strings.h"
#include "runtime/cgroup/backends.h"
#include "runtime/cgroup/fs.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::runtime::cgroup::internal {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr auto kStateTimeout = std::chrono::seconds(5);

// v1 reports "no limit" as LONG_MAX rounded down to a page.
uint64_t V1Limit(uint64_t v) { return v >= 0x7FFFFFFFFFFFF000ull ? kUnlimited : v; }

Result<std::optional<uint64_t>> ReadOptionalUint(const std::string& dir, const std::string& file) {
  auto v = ReadUint(dir, file);
  if (!v) {
    if (v.error().sys_errno() == ENOENT) return std::optional<uint64_t>();
    return Fail(std::move(v).error());
  }
  return std::optional<uint64_t>(*v);
}

// "c 1:3 rwm", "*" for an absent or negative number; "a" alone for everything.
Result<std::string> DeviceRuleString(const oci::DeviceRule& r) {
  std::string type = r.type.empty() ? "a" : r.type;
  if (type != "a" && type != "b" && type != "c")
    return Fail(Error::InvalidArgument(
        fmt::format("devices: invalid type \"{}\" (want a, b or c)", r.type)));
  if (r.access.find_first_not_of("rwm") != std::string::npos)
    return Fail(Error::InvalidArgument(
        fmt::format("devices: invalid access \"{}\" (want a subset of \"rwm\")", r.access)));
  if (type == "a") return type;
  auto num = [](const std::optional<int64_t>& v) {
    return v && *v >= 0 ? std::to_string(*v) : std::string("*");
  };
  return fmt::format("{} {}:{} {}", type, num(r.major), num(r.minor),
                     r.access.empty() ? "rwm" : r.access);
}

// "8:0 Read 1234" lines of blkio.*io_service{_bytes,d}_recursive, into per-device stats.
void ParseBlkio(std::string_view text, bool bytes,
                std::map<std::pair<uint64_t, uint64_t>, BlkioDeviceStats>& out) {
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    auto f = base::SplitNonEmpty(line, ' ');
    if (f.size() != 3) continue;  // "Total N"
    auto mm = base::Split(f[0], ':');
    if (mm.size() != 2) continue;
    auto major = base::ParseUint(mm[0]), minor = base::ParseUint(mm[1]);
    auto v = base::ParseUint(f[2]);
    if (!major || !minor || !v) continue;
    BlkioDeviceStats& d = out[{*major, *minor}];
    d.major = *major;
    d.minor = *minor;
    if (f[1] == "Read") (bytes ? d.read_bytes : d.read_ios) = *v;
    if (f[1] == "Write") (bytes ? d.write_bytes : d.write_ios) = *v;
  }
}

class V1Manager : public Manager {
 public:
  V1Manager(std::map<std::string, CgroupDir> dirs, std::optional<CgroupDir> unified,
            bool cpuset_on_demand)
      : dirs_(std::move(dirs)), unified_(std::move(unified)) {
    // Only a hierarchy of cpuset's own can be left out: a co-mounted one carries others too.
    if (const std::string* d = Dir("cpuset"); d && cpuset_on_demand) {
      int sharing = 0;
      for (const auto& [subsystem, dir] : dirs_) sharing += dir.path == *d;
      cpuset_on_demand_ = sharing == 1;
    }
  }

  Status Apply(pid_t pid) override {
    // Co-mounted subsystems share a directory: create and join each directory once.
    std::set<std::string> done;
    for (const auto& [subsystem, dir] : dirs_) {
      if (!done.insert(dir.path).second) continue;
      if (dir.path == dir.mount)
        return Fail(Error::InvalidArgument(
            fmt::format("refusing to manage the root of the {} hierarchy", subsystem)));
      const bool cpuset = SharesDir(dir.path, "cpuset");
      if (cpuset && cpuset_on_demand_) {
        // Join it only where a cpuset limit has created it (an `exec` into such a container).
        if (pid < 0) continue;
        Status st = WriteFile(dir.path, "cgroup.procs", std::to_string(pid));
        if (!st && st.error().sys_errno() == ENOENT) continue;
        TRY_CTX(std::move(st), fmt::format("move pid {} into {} cgroup", pid, subsystem));
        cpuset_present_ = true;
        continue;
      }
      // The runtime creates first (Apply(-1)) and moves the init in later: once is enough.
      if (!created_)
        TRY_CTX(MkdirBelow(dir.mount, dir.path,
                           [&](const std::string& parent, const std::string& child) -> Status {
                             return cpuset ? SeedCpuset(parent, child) : Status{};
                           }),
                fmt::format("create {} cgroup", subsystem));
      if (pid >= 0)
        TRY_CTX(WriteFile(dir.path, "cgroup.procs", std::to_string(pid)),
                fmt::format("move pid {} into {} cgroup", pid, subsystem));
    }
    if (unified_) {
      // Like runc: joining the unified hierarchy is best effort unless a limit needs it.
      Status st = created_
                      ? Status{}
                      : MkdirBelow(unified_->mount, unified_->path,
                                   [](const std::string&, const std::string&) { return Status{}; });
      if (st && pid >= 0) st = WriteFile(unified_->path, "cgroup.procs", std::to_string(pid));
      if (!st) {
        base::LogWarn("cannot join the unified cgroup hierarchy: {}", st.error().message());
        unified_error_ = st.error().message();
        // Paths() will not list it, so nothing would remove it later: an empty leaf goes now.
        (void)::rmdir(unified_->path.c_str());
        unified_.reset();
      }
    }
    created_ = true;
    return {};
  }

  Status Set(const oci::Resources& r) override {
    if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
      const std::string d = TRY(Require("cpuset", "cpu.cpus/cpu.mems"));
      const bool create = cpuset_on_demand_ && !FileExists(d, "cgroup.procs");
      if (create) TRY_CTX(MkdirBelow(Mount("cpuset"), d, SeedCpuset), "create cpuset cgroup");
      if (!r.cpu->cpus.empty()) TRY(WriteFile(d, "cpuset.cpus", r.cpu->cpus));
      if (!r.cpu->mems.empty()) TRY(WriteFile(d, "cpuset.mems", r.cpu->mems));
      if (create) TRY_CTX(MoveInto(d), "move the container's processes into its cpuset cgroup");
      if (cpuset_on_demand_) cpuset_present_ = true;
    }
    if (!r.devices.empty()) {
      const std::string d = TRY(Require("devices", "devices"));
      // Each write() is one rule, so each file is opened once for all of them (Docker's
      // defaults are some twenty rules: forty syscalls fewer on every container start).
      sys::UniqueFd allow, deny;
      for (const oci::DeviceRule& rule : r.devices) {
        sys::UniqueFd& fd = rule.allow ? allow : deny;
        const char* file = rule.allow ? "devices.allow" : "devices.deny";
        if (!fd) fd = TRY(sys::Open(JoinPath(d, file), O_WRONLY | O_CLOEXEC));
        std::string line = TRY(DeviceRuleString(rule)) + "\n";
        if (::write(fd.get(), line.data(), line.size()) < 0)
          return Fail(Error::FromErrno(
              errno, fmt::format("write \"{}\" to \"{}\"", base::Trim(line), JoinPath(d, file))));
      }
    }
    if (r.memory) TRY(SetMemory(*r.memory));
    if (r.cpu) TRY(SetCpu(*r.cpu));
    if (r.pids) {
      const std::string d = TRY(Require("pids", "pids.limit"));
      TRY(WriteFile(d, "pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max"));
    }
    if (r.block_io) TRY(SetBlkio(*r.block_io));
    if (!r.hugepage_limits.empty()) TRY(SetHugetlb(r.hugepage_limits));
    if (r.network && r.network->class_id) {
      const std::string d = TRY(Require("net_cls", "network.classID"));
      TRY(WriteFile(d, "net_cls.classid", std::to_string(*r.network->class_id)));
    }
    if (r.network && !r.network->priorities.empty()) {
      const std::string d = TRY(Require("net_prio", "network.priorities"));
      for (const auto& [ifname, prio] : r.network->priorities)
        TRY(WriteFile(d, "net_prio.ifpriomap", fmt::format("{} {}", ifname, prio)));
    }
    if (!r.unified.empty()) {
      if (!unified_)
        return Fail(Error::Unavailable(
            "linux.resources.unified needs cgroup v2; this host mounts cgroup v1"));
      TRY(SetUnifiedV2(unified_->path, r.unified));
    }
    return {};
  }

  Status Freeze() override { return SetFreezerState("FROZEN"); }
  Status Thaw() override { return SetFreezerState("THAWED"); }

  Result<bool> IsFrozen() override {
    const std::string d = TRY(Require("freezer", "freezing"));
    return TRY(ReadFile(d, "freezer.state")) == "FROZEN";
  }

  Result<std::vector<pid_t>> Pids() override {
    // Every process joined every hierarchy; prefer ones a container cannot leave by itself.
    for (const char* s : {"pids", "freezer", "memory", "cpu", "devices"})
      if (auto it = dirs_.find(s); it != dirs_.end()) return ReadPidsRecursive(it->second.path);
    if (!dirs_.empty()) return ReadPidsRecursive(dirs_.begin()->second.path);
    if (unified_) return ReadPidsRecursive(unified_->path);
    return Fail(Error::Unavailable("no cgroup hierarchy to list processes from"));
  }

  Status KillAll(int sig) override {
    // Frozen, nothing can fork between listing and signalling. v1 delivers even SIGKILL to a
    // frozen task only once thawed, so thaw right after.
    Status frozen = dirs_.count("freezer") ? Freeze() : Fail(Error::Unavailable("no freezer"));
    if (!frozen) base::LogDebug("kill without freezing: {}", frozen.error().message());
    auto pids = Pids();
    Status st = pids ? SignalPids(*pids, sig) : Fail(std::move(pids).error());
    if (frozen) {
      Status thawed = Thaw();
      if (st && !thawed) return thawed;
    }
    return st;
  }

  Result<Stats> GetStats() override {
    Stats s;
    if (const std::string* d = Dir("cpuacct")) {
      s.cpu.usage_total_ns = TRY(ReadUint(*d, "cpuacct.usage"));
      if (auto user = TRY(ReadOptionalUint(*d, "cpuacct.usage_user"))) {
        s.cpu.usage_user_ns = *user;
        s.cpu.usage_system_ns = TRY(ReadUint(*d, "cpuacct.usage_sys"));
      } else {
        // Older kernels: cpuacct.stat in USER_HZ ticks.
        auto ticks = TRY(ReadKeyValues(*d, "cpuacct.stat"));
        uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
        s.cpu.usage_user_ns = ticks["user"] * ns_per_tick;
        s.cpu.usage_system_ns = ticks["system"] * ns_per_tick;
      }
      for (const std::string& v :
           base::SplitNonEmpty(TRY(ReadFile(*d, "cpuacct.usage_percpu")), ' '))
        s.cpu.usage_per_cpu_ns.push_back(base::ParseUint(v).value_or(0));
    }
    if (const std::string* d = Dir("cpu")) {
      auto cpu = TRY(ReadKeyValues(*d, "cpu.stat"));
      s.cpu.throttling_periods = cpu["nr_periods"];
      s.cpu.throttled_periods = cpu["nr_throttled"];
      s.cpu.throttled_time_ns = cpu["throttled_time"];
    }
    if (const std::string* d = Dir("memory")) {
      s.memory.usage = TRY(ReadUint(*d, "memory.usage_in_bytes"));
      s.memory.max_usage = TRY(ReadUint(*d, "memory.max_usage_in_bytes"));
      s.memory.limit = V1Limit(TRY(ReadUint(*d, "memory.limit_in_bytes")));
      s.memory.raw = TRY(ReadKeyValues(*d, "memory.stat"));
      s.memory.cache =
          s.memory.raw.count("total_cache") ? s.memory.raw["total_cache"] : s.memory.raw["cache"];
      s.memory.rss =
          s.memory.raw.count("total_rss") ? s.memory.raw["total_rss"] : s.memory.raw["rss"];
      if (auto memsw = TRY(ReadOptionalUint(*d, "memory.memsw.usage_in_bytes"))) {
        s.memory.swap_usage = *memsw > s.memory.usage ? *memsw - s.memory.usage : 0;
        s.memory.swap_limit = V1Limit(TRY(ReadUint(*d, "memory.memsw.limit_in_bytes")));
      }
      s.memory.oom_kill_count = TRY(ReadKeyValues(*d, "memory.oom_control"))["oom_kill"];
    }
    if (const std::string* d = Dir("pids")) {
      s.pids.current = TRY(ReadUint(*d, "pids.current"));
      s.pids.limit = TRY(ReadUint(*d, "pids.max"));
    }
    if (const std::string* d = Dir("blkio")) {
      // CFQ files are gone from new kernels; BFQ's exist only with BFQ; throttle always.
      std::map<std::pair<uint64_t, uint64_t>, BlkioDeviceStats> devs;
      for (const char* prefix : {"blkio.", "blkio.bfq.", "blkio.throttle."}) {
        auto bytes = ReadFile(*d, std::string(prefix) + "io_service_bytes_recursive");
        if (!bytes) continue;
        ParseBlkio(*bytes, true, devs);
        if (devs.empty()) continue;
        if (auto ios = ReadFile(*d, std::string(prefix) + "io_serviced_recursive"))
          ParseBlkio(*ios, false, devs);
        break;
      }
      for (auto& [key, dev] : devs) s.blkio.push_back(dev);
    }
    return s;
  }

  Status Destroy() override {
    std::set<std::string> paths;
    for (const auto& [subsystem, dir] : dirs_) paths.insert(dir.path);
    if (unified_) paths.insert(unified_->path);
    Status first;
    for (const std::string& p : paths) {
      Status st = RemoveCgroupTree(p);
      if (!st && first) first = std::move(st);
    }
    return first;
  }

  std::map<std::string, std::string> Paths() const override {
    std::map<std::string, std::string> out;
    for (const auto& [subsystem, dir] : dirs_) out[subsystem] = dir.path;
    if (unified_) out[kUnifiedKey] = unified_->path;
    return out;
  }

  std::map<std::string, std::string> JoinedPaths() const override {
    auto out = Paths();
    if (cpuset_on_demand_ && !cpuset_present_) out.erase("cpuset");
    return out;
  }

  Result<uint64_t> OomKillCount() override {
    const std::string d = TRY(Require("memory", "OOM kill counting"));
    return TRY(ReadKeyValues(d, "memory.oom_control"))["oom_kill"];
  }

 private:
  const std::string* Dir(const std::string& subsystem) const {
    auto it = dirs_.find(subsystem);
    return it == dirs_.end() ? nullptr : &it->second.path;
  }

  // The directory of a subsystem a requested limit needs; a clear error when it is not mounted.
  Result<std::string> Require(const std::string& subsystem, std::string_view what) const {
    if (const std::string* d = Dir(subsystem)) return *d;
    return Fail(Error::Unavailable(fmt::format(
        "cannot apply {}: cgroup v1 controller \"{}\" is not mounted", what, subsystem)));
  }

  std::string Mount(const std::string& subsystem) const {
    auto it = dirs_.find(subsystem);
    return it == dirs_.end() ? std::string() : it->second.mount;
  }

  // Moves every process of the container (listed from another hierarchy) into dir. Two passes,
  // so that a process forked while the first pass ran is moved too.
  Status MoveInto(const std::string& dir) {
    for (int pass = 0; pass < 2; ++pass) {
      for (pid_t pid : TRY(Pids())) {
        Status st = WriteFile(dir, "cgroup.procs", std::to_string(pid));
        if (!st && st.error().sys_errno() != ESRCH) return st;
      }
    }
    return {};
  }

  bool SharesDir(const std::string& path, const std::string& subsystem) const {
    const std::string* d = Dir(subsystem);
    return d && *d == path;
  }

  // A new cpuset starts with no cpus and mems, and attaching a task to it fails with ENOSPC:
  // inherit the parent's (runc cpuset.go ensureParent/copyIfNeeded).
  static Status SeedCpuset(const std::string& parent, const std::string& child) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      if (!TRY(ReadFile(child, file)).empty()) continue;
      TRY(WriteFile(child, file, TRY(ReadFile(parent, file))));
    }
    return {};
  }

  Status SetMemory(const oci::MemoryResources& m) {
    const bool any =
        m.limit || m.reservation || m.swap || m.swappiness || m.kernel_tcp || m.disable_oom_killer;
    if (!any) {
      if (m.kernel) base::LogWarn("kernel memory limits are not supported; ignored");
      return {};
    }
    const std::string d = TRY(Require("memory", "memory limits"));
    int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
    const bool has_memsw = FileExists(d, "memory.memsw.limit_in_bytes");
    // Unlimited memory without a swap value means unlimited swap too (runc, docker).
    if (limit == -1 && swap == 0 && has_memsw) swap = -1;
    if (swap != 0 && !has_memsw) {
      base::LogWarn(
          "swap limit ignored: no swap accounting (memory.memsw.limit_in_bytes is "
          "missing in \"{}\")",
          d);
      swap = 0;
    }
    auto set_limit = [&]() -> Status {
      if (limit == 0) return {};
      Status st = WriteFile(d, "memory.limit_in_bytes", std::to_string(limit));
      if (!st && st.error().sys_errno() == EBUSY) {
        auto usage = ReadUint(d, "memory.usage_in_bytes");
        auto peak = ReadUint(d, "memory.max_usage_in_bytes");
        return Fail(std::move(st).error().Context(
            fmt::format("unable to set memory limit to {} (current usage: {}, peak usage: {})",
                        limit, usage ? *usage : 0, peak ? *peak : 0)));
      }
      return st;
    };
    auto set_swap = [&]() -> Status {
      if (swap == 0) return {};
      return WriteFile(d, "memory.memsw.limit_in_bytes", std::to_string(swap));
    };
    // The kernel keeps memsw >= memory at every step: when raising, swap goes first; when
    // lowering (or on a fresh cgroup, where both are unlimited), memory goes first.
    bool swap_first = false;
    if (limit != 0 && swap != 0) {
      uint64_t current = TRY(ReadUint(d, "memory.limit_in_bytes"));
      swap_first = swap == -1 || current < static_cast<uint64_t>(swap);
    }
    if (swap_first) {
      TRY(set_swap());
      TRY(set_limit());
    } else {
      TRY(set_limit());
      TRY(set_swap());
    }
    if (m.reservation)
      TRY(WriteFile(d, "memory.soft_limit_in_bytes", std::to_string(*m.reservation)));
    if (m.kernel) base::LogWarn("kernel memory limits are not supported; ignored");
    if (m.kernel_tcp)
      TRY(WriteFile(d, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp)));
    if (m.swappiness) {
      if (*m.swappiness > 100)
        return Fail(Error::InvalidArgument(
            fmt::format("memory.swappiness: invalid value {} (want 0..100)", *m.swappiness)));
      TRY(WriteFile(d, "memory.swappiness", std::to_string(*m.swappiness)));
    }
    if (m.disable_oom_killer)
      TRY(WriteFile(d, "memory.oom_control", *m.disable_oom_killer ? "1" : "0"));
    return {};
  }

  Status SetCpu(const oci::CpuResources& c) {
    const bool any = c.shares.value_or(0) || c.quota.value_or(0) || c.period.value_or(0) ||
                     c.burst || c.realtime_runtime.value_or(0) || c.realtime_period.value_or(0) ||
                     c.idle;
    if (!any) return {};
    const std::string d = TRY(Require("cpu", "cpu limits"));
    if (c.shares.value_or(0) != 0) {
      TRY(WriteFile(d, "cpu.shares", std::to_string(*c.shares)));
      // The kernel clamps silently; tell the user their value did not stick.
      uint64_t got = TRY(ReadUint(d, "cpu.shares"));
      if (got != *c.shares)
        return Fail(Error::InvalidArgument(fmt::format(
            "cpu.shares: the kernel set {} for the requested {} (allowed range 2..262144)", got,
            *c.shares)));
    }
    if (c.realtime_period.value_or(0) != 0)
      TRY(WriteFile(d, "cpu.rt_period_us", std::to_string(*c.realtime_period)));
    if (c.realtime_runtime.value_or(0) != 0)
      TRY(WriteFile(d, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)));
    const int64_t quota = c.quota.value_or(0);
    std::string pending_period;
    if (c.period.value_or(0) != 0) {
      pending_period = std::to_string(*c.period);
      Status st = WriteFile(d, "cpu.cfs_period_us", pending_period);
      if (st) {
        pending_period.clear();
      } else if (st.error().sys_errno() != EINVAL || quota == 0) {
        return st;
      }
      // EINVAL: old quota / new period can exceed the parent's bandwidth; retry after the
      // quota has changed (runc does the same).
    }
    if (quota != 0) {
      TRY(WriteFile(d, "cpu.cfs_quota_us", std::to_string(quota)));
      if (!pending_period.empty()) TRY(WriteFile(d, "cpu.cfs_period_us", pending_period));
    }
    if (c.burst) TRY(WriteFile(d, "cpu.cfs_burst_us", std::to_string(*c.burst)));
    if (c.idle) TRY(WriteFile(d, "cpu.idle", std::to_string(*c.idle)));
    return {};
  }

  Status SetBlkio(const oci::BlockIoResources& b) {
    const bool any = b.weight.value_or(0) || b.leaf_weight.value_or(0) ||
                     !b.weight_device.empty() || !b.throttle_read_bps_device.empty() ||
                     !b.throttle_write_bps_device.empty() || !b.throttle_read_iops_device.empty() ||
                     !b.throttle_write_iops_device.empty();
    if (!any) return {};
    const std::string d = TRY(Require("blkio", "blockIO limits"));
    // CFQ had blkio.weight; with BFQ (kernel 5.0+) it is blkio.bfq.weight.
    std::string prefix = FileExists(d, "blkio.weight")       ? "blkio."
                         : FileExists(d, "blkio.bfq.weight") ? "blkio.bfq."
                                                             : "";
    auto weight_file = [&](const char* name) -> Result<std::string> {
      if (prefix.empty() || !FileExists(d, prefix + name))
        return Fail(Error::Unavailable(fmt::format(
            "cannot apply blockIO {}: no blkio.{} or blkio.bfq.{} in \"{}\" (no CFQ or BFQ I/O "
            "scheduler?)",
            name, name, name, d)));
      return prefix + name;
    };
    if (b.weight.value_or(0) != 0)
      TRY(WriteFile(d, TRY(weight_file("weight")), std::to_string(*b.weight)));
    if (b.leaf_weight.value_or(0) != 0)
      TRY(WriteFile(d, TRY(weight_file("leaf_weight")), std::to_string(*b.leaf_weight)));
    for (const oci::WeightDevice& wd : b.weight_device) {
      if (wd.weight.value_or(0) != 0)
        TRY(WriteFile(d, TRY(weight_file("weight_device")),
                      fmt::format("{}:{} {}", wd.major, wd.minor, *wd.weight)));
      if (wd.leaf_weight.value_or(0) != 0)
        TRY(WriteFile(d, TRY(weight_file("leaf_weight_device")),
                      fmt::format("{}:{} {}", wd.major, wd.minor, *wd.leaf_weight)));
    }
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& devs, const char* file) -> Status {
      for (const oci::ThrottleDevice& t : devs)
        TRY(WriteFile(d, file, fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
      return {};
    };
    TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device"));
    TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device"));
    TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device"));
    TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device"));
    return {};
  }

  Status SetHugetlb(const std::vector<oci::HugepageLimit>& limits) {
    if (const std::string* d = Dir("hugetlb")) {
      for (const oci::HugepageLimit& l : limits) {
        if (l.page_size.empty() || l.page_size.find('/') != std::string::npos)
          return Fail(Error::InvalidArgument(
              fmt::format("hugepageLimits: invalid pageSize \"{}\"", l.page_size)));
        TRY(WriteFile(*d, fmt::format("hugetlb.{}.limit_in_bytes", l.page_size),
                      std::to_string(l.limit)));
      }
      return {};
    }
    // Hybrid hosts may offer hugetlb only in the unified hierarchy.
    if (!unified_)
      return Fail(Error::Unavailable(
          fmt::format("cannot set hugetlb limit: {}",
                      unified_error_.empty()
                          ? "the hugetlb controller is not mounted"
                          : "container could not join the unified cgroup: " + unified_error_)));
    static const std::set<std::string> kHugetlb = {"hugetlb"};
    Status st = CreateV2(*unified_, &kHugetlb);
    if (st) {
      auto available = V2Controllers(unified_->path);
      if (available && !available->count("hugetlb"))
        st = Fail(Error::Unavailable(
            fmt::format("the hugetlb controller is neither mounted in v1 nor available in \"{}\"",
                        unified_->path)));
      else if (!available)
        st = Fail(std::move(available).error());
    }
    if (st) st = SetHugetlbV2(unified_->path, limits);
    if (!st) return Fail(std::move(st).error().Context("cannot set hugetlb limit"));
    return {};
  }

  Status SetFreezerState(const std::string& state) {
    const std::string d = TRY(Require("freezer", "freezing"));
    int round = 0;
    bool done = TRY(PollUntil(
        [&]() -> Result<bool> {
          // A task in vfork() or stuck in an uninterruptible sleep can keep the cgroup in
          // FREEZING; a short thaw now and then lets it get out of the way (runc freezer.go).
          if (state == "FROZEN" && ++round % 50 == 0) TRY(WriteFile(d, "freezer.state", "THAWED"));
          TRY(WriteFile(d, "freezer.state", state));
          return TRY(ReadFile(d, "freezer.state")) == state;
        },
        kStateTimeout));
    if (done) return {};
    if (state == "FROZEN") (void)WriteFile(d, "freezer.state", "THAWED");
    return Fail(
        Error::Unavailable(fmt::format("timed out waiting for \"{}\" to become {}", d, state)));
  }

  // See ManagerOptions::cpuset_on_demand; present once created (Set) or joined (Apply).
  bool cpuset_on_demand_ = false;
  bool cpuset_present_ = false;
  std::map<std::string, CgroupDir> dirs_;
  std::optional<CgroupDir> unified_;
  std::string unified_error_;  // why joining the unified hierarchy failed, for hugetlb errors
  bool created_ = false;       // Apply made the directories: later calls only move pids in
};

}  // namespace

std::unique_ptr<Manager> NewV1Manager(std::map<std::string, CgroupDir> dirs,
                                      std::optional<CgroupDir> unified, bool cpuset_on_demand) {
  return std::make_unique<V1Manager>(std::move(dirs), std::move(unified), cpuset_on_demand);
}

}  // namespace berth::runtime::cgroup::internal
