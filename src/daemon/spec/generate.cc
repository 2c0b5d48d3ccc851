// ContainerCreate -> OCI runtime config, following dockerd's daemon/oci_linux.go defaults and
// precedence rules, but taking "all capabilities" and rlimits from the host that will run it.
#include "daemon/spec/generate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

#include "daemon/spec/internal.h"
#include "oci/capability_names.h"

namespace berth::daemon::spec {
namespace {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;
using internal::CleanPath;

int CapabilityNumber(std::string_view name) {
  for (size_t i = 0; i < oci::kCapabilityNames.size(); ++i)
    if (name == oci::kCapabilityNames[i]) return static_cast<int>(i);
  return -1;
}

bool HostHas(const HostFacts& host, int cap) {
  return cap >= 0 && cap <= host.last_cap && cap < 64 && (host.bounding_caps >> cap) & 1;
}

std::vector<std::string> HostCapabilities(const HostFacts& host) {
  std::vector<std::string> out;
  for (size_t i = 0; i < oci::kCapabilityNames.size(); ++i)
    if (HostHas(host, static_cast<int>(i))) out.emplace_back(oci::kCapabilityNames[i]);
  return out;
}

// "net_admin" / "CAP_NET_ADMIN" / "all" -> "CAP_NET_ADMIN" / "ALL".
Result<std::vector<std::string>> NormalizeCaps(const std::vector<std::string>& names,
                                               const HostFacts& host) {
  std::vector<std::string> out;
  for (const auto& raw : names) {
    std::string n = raw;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
    if (n != "ALL" && n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
    if (n != "ALL") {
      int num = CapabilityNumber(n);
      if (num < 0 || num > host.last_cap)
        return Fail(Error::InvalidArgument(fmt::format("unknown capability: \"{}\"", n)));
    }
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string_view EnvKey(std::string_view e) { return e.substr(0, e.find('=')); }

// dockerd's ReplaceOrAppendEnvValues: overrides replace same-key defaults, "K" (no '=') unsets.
std::vector<std::string> ReplaceOrAppendEnv(std::vector<std::string> defaults,
                                            const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    auto it = std::find_if(defaults.begin(), defaults.end(),
                           [&](const std::string& d) { return EnvKey(d) == EnvKey(o); });
    if (o.find('=') == std::string::npos) {
      if (it != defaults.end()) defaults.erase(it);
    } else if (it != defaults.end()) {
      *it = o;
    } else {
      defaults.push_back(o);
    }
  }
  return defaults;
}

// dockerd's merge of the image's Env under the request's: image entries whose key the request
// does not set are appended.
std::vector<std::string> MergeImageEnv(const std::vector<std::string>& request,
                                       const std::vector<std::string>& image) {
  if (request.empty()) return image;
  std::vector<std::string> out = request;
  for (const auto& ie : image) {
    bool found = std::any_of(request.begin(), request.end(),
                             [&](const std::string& re) { return EnvKey(re) == EnvKey(ie); });
    if (!found) out.push_back(ie);
  }
  return out;
}

std::optional<uint32_t> ParseU32(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Result<oci::User> ResolveUser(const std::string& user, const std::vector<std::string>& group_add,
                              const ContainerPaths& paths) {
  oci::User u;
  if (!user.empty()) {
    if (paths.resolve_user) {
      u = TRY(paths.resolve_user(user, false));
    } else {
      std::string_view name = user, group;
      if (size_t colon = user.find(':'); colon != std::string::npos) {
        name = std::string_view(user).substr(0, colon);
        group = std::string_view(user).substr(colon + 1);
      }
      auto uid = ParseU32(name);
      if (!uid)
        return Fail(Error::InvalidArgument(
            fmt::format("unable to find user {}: no matching entries in passwd file", name)));
      u.uid = *uid;
      if (!group.empty()) {
        auto gid = ParseU32(group);
        if (!gid)
          return Fail(Error::InvalidArgument(
              fmt::format("unable to find group {}: no matching entries in group file", group)));
        u.gid = *gid;
      }
    }
  }
  for (const auto& g : group_add) {
    uint32_t gid = 0;
    if (auto n = ParseU32(g)) {
      gid = *n;
    } else if (paths.resolve_user) {
      gid = TRY(paths.resolve_user(g, true)).gid;
    } else {
      return Fail(Error::InvalidArgument(
          fmt::format("unable to find group {}: no matching entries in group file", g)));
    }
    if (std::find(u.additional_gids.begin(), u.additional_gids.end(), gid) ==
        u.additional_gids.end())
      u.additional_gids.push_back(gid);
  }
  // dockerd lists the primary group among the supplementary ones (`id` in a Docker container
  // prints "groups=0(root)"; runc alone would set none).
  if (std::find(u.additional_gids.begin(), u.additional_gids.end(), u.gid) ==
      u.additional_gids.end())
    u.additional_gids.insert(u.additional_gids.begin(), u.gid);
  return u;
}

Result<std::vector<std::string>> ProcessArgs(const CreateRequest& req,
                                             const oci::ImageConfig& image) {
  std::optional<std::vector<std::string>> entrypoint = req.config.entrypoint;
  std::vector<std::string> cmd = req.config.cmd.value_or(std::vector<std::string>{});
  // dockerd's merge(): an entrypoint given in the request, even [""], stops the image's Cmd
  // from being used; an absent or empty one inherits the image's Cmd when the request has none.
  if (!entrypoint || entrypoint->empty()) {
    if (cmd.empty()) cmd = image.config.cmd;
    if (!entrypoint) entrypoint = image.config.entrypoint;
  }
  std::vector<std::string> args;
  // The CLI sends [""] for `--entrypoint ""`: reset, not an empty program name.
  if (!(entrypoint->size() == 1 && (*entrypoint)[0].empty())) args = *entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) return Fail(Error::InvalidArgument("No command specified"));
  return args;
}

struct SecurityOptions {
  bool no_new_privileges = false;
  bool seccomp_unconfined = false;
  std::string seccomp_profile;  // JSON, empty: the default
  bool systempaths_unconfined = false;
};

Result<bool> ParseBoolOpt(std::string_view v) {
  if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True") return true;
  if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False")
    return false;
  return Fail(Error::InvalidArgument("not a boolean"));
}

Result<SecurityOptions> ParseSecurityOptions(const std::vector<std::string>& opts) {
  SecurityOptions out;
  for (const auto& opt : opts) {
    if (opt == "no-new-privileges") {
      out.no_new_privileges = true;
      continue;
    }
    if (opt == "disable") continue;  // legacy "label:disable"; no SELinux here
    // "key=value", or the legacy "key:value" (but a seccomp JSON value holds ':' itself).
    size_t eq = opt.find('=');
    size_t colon = opt.find(':');
    size_t sep = std::min(eq, colon);
    if (sep == std::string::npos)
      return Fail(Error::InvalidArgument(fmt::format("invalid --security-opt 1: \"{}\"", opt)));
    std::string key = opt.substr(0, sep), value = opt.substr(sep + 1);
    if (key == "no-new-privileges") {
      auto b = ParseBoolOpt(value);
      if (!b)
        return Fail(Error::InvalidArgument(fmt::format("invalid --security-opt 2: \"{}\"", opt)));
      out.no_new_privileges = *b;
    } else if (key == "seccomp") {
      if (value == "unconfined") {
        out.seccomp_unconfined = true;
      } else if (value == "builtin" || value.empty()) {
        out.seccomp_profile.clear();
      } else {
        out.seccomp_profile = value;
      }
    } else if (key == "systempaths") {
      if (value != "unconfined")
        return Fail(Error::InvalidArgument(fmt::format("invalid --security-opt 2: \"{}\"", opt)));
      out.systempaths_unconfined = true;
    } else if (key == "label" || key == "apparmor") {
      // Neither SELinux nor AppArmor is managed by berth; accepted like dockerd does on hosts
      // without them.
    } else {
      return Fail(Error::InvalidArgument(fmt::format("invalid --security-opt 2: \"{}\"", opt)));
    }
  }
  return out;
}

// tmpfs options merged the way mount.MergeTmpfsOptions does: a later flag replaces its
// opposite, a later key=value replaces the same key.
std::vector<std::string> MergeTmpfsOptions(const std::vector<std::string>& options) {
  static const std::map<std::string, std::string> kOpposite = {{"ro", "rw"},
                                                               {"rw", "ro"},
                                                               {"exec", "noexec"},
                                                               {"noexec", "exec"},
                                                               {"suid", "nosuid"},
                                                               {"nosuid", "suid"},
                                                               {"dev", "nodev"},
                                                               {"nodev", "dev"},
                                                               {"atime", "noatime"},
                                                               {"noatime", "atime"},
                                                               {"diratime", "nodiratime"},
                                                               {"nodiratime", "diratime"}};
  std::vector<std::string> out;
  for (const auto& o : options) {
    if (o.empty()) continue;
    std::string_view key = std::string_view(o).substr(0, o.find('='));
    auto opp = kOpposite.find(o);
    auto same = [&](const std::string& e) {
      if (o.find('=') != std::string::npos)
        return std::string_view(e).substr(0, e.find('=')) == key;
      return e == o || (opp != kOpposite.end() && e == opp->second);
    };
    out.erase(std::remove_if(out.begin(), out.end(), same), out.end());
    out.push_back(o);
  }
  return out;
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size() && !s.empty()) {
    size_t c = s.find(',', i);
    if (c == std::string_view::npos) c = s.size();
    if (c > i) out.emplace_back(s.substr(i, c - i));
    i = c + 1;
  }
  return out;
}

std::string TmpfsSize(int64_t size) {
  for (auto [suffix, div] : {std::pair{"g", int64_t{1} << 30}, std::pair{"m", int64_t{1} << 20},
                             std::pair{"k", int64_t{1} << 10}})
    if (size % div == 0) return fmt::format("size={}{}", size / div, suffix);
  return fmt::format("size={}", size);
}

size_t PathDepth(const std::string& p) { return std::count(p.begin(), p.end(), '/'); }

oci::Mount BindMount(const std::string& source, const std::string& destination, bool read_only,
                     const std::string& propagation, bool recursive = true) {
  oci::Mount m{.destination = destination, .type = "bind", .source = source};
  m.options.push_back(recursive ? "rbind" : "bind");
  if (read_only) m.options.push_back("ro");
  m.options.push_back(propagation.empty() ? "rprivate" : propagation);
  return m;
}

struct MountPlan {
  std::vector<oci::Mount> user;  // sorted by depth later
  std::set<std::string> destinations;
  std::string rootfs_propagation;
};

Status AddUserMount(MountPlan& plan, oci::Mount m) {
  m.destination = CleanPath(m.destination);
  if (!plan.destinations.insert(m.destination).second)
    return Fail(Error::InvalidArgument(fmt::format("Duplicate mount point: {}", m.destination)));
  plan.user.push_back(std::move(m));
  return {};
}

// Shared or slave bind propagation only works when the container's root is too.
void NotePropagation(MountPlan& plan, const std::string& propagation) {
  if (propagation == "shared" || propagation == "rshared")
    plan.rootfs_propagation = "rshared";
  else if ((propagation == "slave" || propagation == "rslave") &&
           plan.rootfs_propagation != "rshared")
    plan.rootfs_propagation = "rslave";
}

Result<std::string> VolumeSource(const ContainerPaths& paths, const std::string& key) {
  auto it = paths.volumes.find(key);
  if (it == paths.volumes.end())
    return Fail(Error::NotFound(fmt::format("volume {} was not resolved by the daemon", key)));
  return it->second;
}

Status PlanUserMounts(const CreateRequest& req, const oci::ImageConfig& image,
                      const HostFacts& host, const ContainerPaths& paths, MountPlan& plan,
                      std::vector<std::string>& warnings) {
  const HostConfig& h = req.host_config;
  for (const auto& bind : h.binds) {
    BindSpec b = TRY(ParseBind(bind));
    std::string source = b.named_volume ? TRY(VolumeSource(paths, b.source)) : CleanPath(b.source);
    NotePropagation(plan, b.propagation);
    TRY(AddUserMount(plan, BindMount(source, b.destination, b.read_only, b.propagation)));
  }
  for (const auto& m : h.mounts) {
    TRY(internal::ValidateMountRequest(m));
    if (m.type == "bind") {
      if (host.path_exists && !host.path_exists(m.source))
        return Fail(Error::InvalidArgument(fmt::format(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            m.source)));
      NotePropagation(plan, m.bind_propagation);
      TRY(AddUserMount(plan, BindMount(CleanPath(m.source), m.target, m.read_only,
                                       m.bind_propagation, !m.bind_nonrecursive)));
    } else if (m.type == "volume") {
      std::string key = m.source.empty() ? CleanPath(m.target) : m.source;
      std::string source = TRY(VolumeSource(paths, key));
      TRY(AddUserMount(plan, BindMount(source, m.target, m.read_only, "")));
    } else {  // tmpfs
      std::vector<std::string> opts = {"noexec", "nosuid", "nodev", "rprivate"};
      if (m.tmpfs_size_bytes && *m.tmpfs_size_bytes > 0)
        opts.push_back(TmpfsSize(*m.tmpfs_size_bytes));
      if (m.tmpfs_mode && *m.tmpfs_mode != 0)
        opts.push_back(fmt::format("mode={:o}", *m.tmpfs_mode));
      if (m.read_only) opts.push_back("ro");
      TRY(AddUserMount(plan, oci::Mount{.destination = m.target,
                                        .type = "tmpfs",
                                        .source = "tmpfs",
                                        .options = MergeTmpfsOptions(opts)}));
    }
  }
  for (const auto& [dst, data] : h.tmpfs) {
    std::vector<std::string> opts = {"noexec", "nosuid", "nodev", "rprivate"};
    for (auto& o : SplitComma(data)) opts.push_back(std::move(o));
    TRY(AddUserMount(plan, oci::Mount{.destination = dst,
                                      .type = "tmpfs",
                                      .source = "tmpfs",
                                      .options = MergeTmpfsOptions(opts)}));
  }
  // Anonymous volumes for declared VOLUMEs not covered by an explicit mount.
  std::vector<std::string> declared = image.config.volumes;
  declared.insert(declared.end(), req.config.volumes.begin(), req.config.volumes.end());
  for (const auto& v : declared) {
    std::string dst = CleanPath(v);
    if (plan.destinations.count(dst)) continue;
    auto it = paths.volumes.find(dst);
    if (it == paths.volumes.end()) {
      warnings.push_back(fmt::format(
          "no volume was provided for {}; its data stays in the container's filesystem", dst));
      plan.destinations.insert(dst);
      continue;
    }
    TRY(AddUserMount(plan, BindMount(it->second, dst, false, "")));
  }
  return {};
}

std::vector<oci::Mount> DefaultMounts(bool privileged) {
  std::vector<std::string> sys_opts = {"nosuid", "noexec", "nodev"};
  std::vector<std::string> cgroup_opts = {"nosuid", "noexec", "nodev"};
  if (!privileged) {
    sys_opts.push_back("ro");
    cgroup_opts.insert(cgroup_opts.begin(), "ro");
  }
  return {
      {.destination = "/proc",
       .type = "proc",
       .source = "proc",
       .options = {"nosuid", "noexec", "nodev"}},
      {.destination = "/dev",
       .type = "tmpfs",
       .source = "tmpfs",
       .options = {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {.destination = "/dev/pts",
       .type = "devpts",
       .source = "devpts",
       .options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {.destination = "/sys", .type = "sysfs", .source = "sysfs", .options = sys_opts},
      {.destination = "/sys/fs/cgroup",
       .type = "cgroup",
       .source = "cgroup",
       .options = cgroup_opts},
      {.destination = "/dev/mqueue",
       .type = "mqueue",
       .source = "mqueue",
       .options = {"nosuid", "noexec", "nodev"}},
  };
}

Result<oci::DeviceRule> ParseDeviceRule(const std::string& rule) {
  // Syntax was checked by ValidateCreateRequest: "<t> <maj|*>:<min|*> <access>".
  oci::DeviceRule r{.allow = true};
  size_t sp1 = rule.find(' '), colon = rule.find(':'), sp2 = rule.rfind(' ');
  r.type = rule.substr(0, sp1);
  std::string major = rule.substr(sp1 + 1, colon - sp1 - 1);
  std::string minor = rule.substr(colon + 1, sp2 - colon - 1);
  if (major != "*") r.major = std::stoll(major);
  if (minor != "*") r.minor = std::stoll(minor);
  r.access = rule.substr(sp2 + 1);
  return r;
}

std::vector<oci::DeviceRule> DefaultDeviceRules() {
  auto allow = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                  const char* access) {
    return oci::DeviceRule{
        .allow = true, .type = type, .major = major, .minor = minor, .access = access};
  };
  return {
      {.allow = false, .access = "rwm"},
      allow("c", std::nullopt, std::nullopt, "m"),  // mknod of any char device
      allow("b", std::nullopt, std::nullopt, "m"),  // and any block device
      allow("c", 1, 3, "rwm"),                      // null
      allow("c", 1, 5, "rwm"),                      // zero
      allow("c", 1, 7, "rwm"),                      // full
      allow("c", 1, 8, "rwm"),                      // random
      allow("c", 1, 9, "rwm"),                      // urandom
      allow("c", 5, 0, "rwm"),                      // tty
      allow("c", 5, 1, "rwm"),                      // console
      allow("c", 5, 2, "rwm"),                      // ptmx
      allow("c", 136, std::nullopt, "rwm"),         // pts/*
      allow("c", 10, 200, "rwm"),                   // tun, kept for compatibility
      {.allow = false, .type = "c", .major = 10, .minor = 229, .access = "rwm"},  // fuse
  };
}

Result<DeviceNumber> BlockDevice(const HostFacts& host, const std::string& path) {
  std::optional<oci::Device> d;
  if (host.lookup_device) d = host.lookup_device(path);
  if (!d || d->type != "b")
    return Fail(Error::InvalidArgument(fmt::format("{} is not a block device", path)));
  return DeviceNumber{d->major, d->minor};
}

Status AddResources(const CreateRequest& req, const HostFacts& host, oci::Resources& r,
                    std::vector<std::string>& warnings) {
  const HostConfig& h = req.host_config;
  oci::MemoryResources mem;
  bool has_mem = false;
  if (h.memory > 0) {
    mem.limit = h.memory;
    has_mem = true;
    int64_t swap = h.memory_swap == 0 ? 2 * h.memory : h.memory_swap;  // dockerd's default
    if (host.swap_limit_supported) {
      mem.swap = swap;
    } else if (h.memory_swap != 0 && h.memory_swap != -1) {
      warnings.push_back(
          "Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
          "Memory limited without swap.");
    }
  }
  if (h.memory_reservation > 0) {
    mem.reservation = h.memory_reservation;
    has_mem = true;
  }
  if (h.memory_swappiness && *h.memory_swappiness != -1) {
    if (host.cgroup_mode == CgroupMode::kV2) {
      warnings.push_back("Setting MemorySwappiness is not supported on cgroup v2; discarded.");
    } else {
      mem.swappiness = static_cast<uint64_t>(*h.memory_swappiness);
      has_mem = true;
    }
  }
  if (h.oom_kill_disable.value_or(false)) {
    if (host.cgroup_mode == CgroupMode::kV2) {
      warnings.push_back("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
    } else {
      mem.disable_oom_killer = true;
      has_mem = true;
      if (h.memory == 0)
        warnings.push_back(
            "OOM killer is disabled for the container, but no memory limit is set, this can "
            "result in the system running out of resources.");
    }
  }
  if (has_mem) r.memory = mem;

  oci::CpuResources cpu;
  bool has_cpu = false;
  if (h.nano_cpus > 0) {
    if (host.ncpu > 0 && h.nano_cpus > int64_t{host.ncpu} * 1000000000)
      return Fail(Error::InvalidArgument(
          fmt::format("Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                      host.ncpu, host.ncpu)));
    cpu.period = 100000;
    cpu.quota = h.nano_cpus * 100000 / 1000000000;
    has_cpu = true;
  }
  if (h.cpu_period > 0) {
    cpu.period = static_cast<uint64_t>(h.cpu_period);
    has_cpu = true;
  }
  if (h.cpu_quota != 0) {
    cpu.quota = h.cpu_quota;
    has_cpu = true;
  }
  if (h.cpu_shares > 0) {
    uint64_t shares = static_cast<uint64_t>(h.cpu_shares);
    // The kernel clamps cpu.shares to [2, 262144]; say so instead of silently differing.
    if (shares < 2 || shares > 262144) {
      uint64_t clamped = std::clamp<uint64_t>(shares, 2, 262144);
      warnings.push_back(
          fmt::format("CPU shares {} out of range [2, 262144]; using {}", shares, clamped));
      shares = clamped;
    }
    cpu.shares = shares;
    has_cpu = true;
  }
  if (h.cpu_realtime_period > 0) {
    cpu.realtime_period = static_cast<uint64_t>(h.cpu_realtime_period);
    has_cpu = true;
  }
  if (h.cpu_realtime_runtime != 0) {
    cpu.realtime_runtime = h.cpu_realtime_runtime;
    has_cpu = true;
  }
  if (!h.cpuset_cpus.empty() || !h.cpuset_mems.empty()) {
    cpu.cpus = h.cpuset_cpus;
    cpu.mems = h.cpuset_mems;
    has_cpu = true;
  }
  if (has_cpu) r.cpu = cpu;

  if (h.pids_limit && *h.pids_limit > 0) r.pids = oci::PidsResources{.limit = *h.pids_limit};

  oci::BlockIoResources bio;
  bool has_bio = false;
  if (h.blkio_weight > 0) {
    bio.weight = h.blkio_weight;
    has_bio = true;
  }
  for (const auto& wd : h.blkio_weight_device) {
    DeviceNumber n = TRY(BlockDevice(host, wd.path));
    bio.weight_device.push_back({.major = n.major, .minor = n.minor, .weight = wd.weight});
    has_bio = true;
  }
  auto throttles = [&](const std::vector<ThrottleDevice>& in,
                       std::vector<oci::ThrottleDevice>& out) -> Status {
    for (const auto& td : in) {
      DeviceNumber n = TRY(BlockDevice(host, td.path));
      out.push_back({.major = n.major, .minor = n.minor, .rate = td.rate});
      has_bio = true;
    }
    return {};
  };
  TRY(throttles(h.blkio_device_read_bps, bio.throttle_read_bps_device));
  TRY(throttles(h.blkio_device_write_bps, bio.throttle_write_bps_device));
  TRY(throttles(h.blkio_device_read_iops, bio.throttle_read_iops_device));
  TRY(throttles(h.blkio_device_write_iops, bio.throttle_write_iops_device));
  if (has_bio) r.block_io = bio;
  return {};
}

std::vector<oci::Rlimit> Rlimits(const HostConfig& h, const HostFacts& host,
                                 std::vector<std::string>& warnings) {
  constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();
  std::vector<oci::Rlimit> out;
  for (const auto& u : h.ulimits) {
    std::string type = "RLIMIT_" + u.name;
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    uint64_t soft = u.soft < 0 ? kInfinity : static_cast<uint64_t>(u.soft);
    uint64_t hard = u.hard < 0 ? kInfinity : static_cast<uint64_t>(u.hard);
    // Without CAP_SYS_RESOURCE the runtime cannot raise a hard limit above the one it holds,
    // and the OCI spec makes that a failed start; ask for what the host can give and say so.
    if (auto it = host.rlimit_hard.find(type); it != host.rlimit_hard.end() && hard > it->second) {
      warnings.push_back(
          fmt::format("ulimit {}: hard limit {} exceeds the daemon's hard limit {}; clamped to {}",
                      u.name, u.hard, it->second, it->second));
      hard = it->second;
      soft = std::min(soft, hard);
    }
    auto existing =
        std::find_if(out.begin(), out.end(), [&](const oci::Rlimit& r) { return r.type == type; });
    if (existing != out.end())
      *existing = {.type = type, .hard = hard, .soft = soft};
    else
      out.push_back({.type = type, .hard = hard, .soft = soft});
  }
  return out;
}

Status CheckSysctls(const std::map<std::string, std::string>& sysctls, bool host_net, bool host_ipc,
                    bool host_uts) {
  static const std::set<std::string> kIpc = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : sysctls) {
    if (kIpc.count(key) || key.rfind("fs.mqueue.", 0) == 0) {
      if (host_ipc)
        return Fail(Error::InvalidArgument(
            fmt::format("sysctl \"{}\" is not allowed in the host's IPC namespace", key)));
    } else if (key.rfind("net.", 0) == 0) {
      if (host_net)
        return Fail(Error::InvalidArgument(
            fmt::format("sysctl \"{}\" not allowed in host network namespace", key)));
    } else if (key == "kernel.domainname" || key == "kernel.hostname") {
      if (host_uts)
        return Fail(Error::InvalidArgument(
            fmt::format("sysctl \"{}\" is not allowed in the host's UTS namespace", key)));
    } else {
      return Fail(Error::InvalidArgument(
          fmt::format("sysctl \"{}\" is not in a separate kernel namespace", key)));
    }
  }
  return {};
}

const std::vector<std::string>& DefaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/asound",     "/proc/acpi",        "/proc/interrupts",
      "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap"};
  return kPaths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return kCaps;
}

std::string CapabilityName(int cap) {
  if (cap < 0 || cap >= static_cast<int>(oci::kCapabilityNames.size())) return "";
  return oci::kCapabilityNames[cap];
}

Result<std::vector<std::string>> ResolveCapabilities(const HostConfig& h, const HostFacts& host) {
  if (h.privileged) return HostCapabilities(host);
  std::vector<std::string> adds = TRY(NormalizeCaps(h.cap_add, host));
  std::vector<std::string> drops = TRY(NormalizeCaps(h.cap_drop, host));
  std::vector<std::string> caps;
  auto add = [&](const std::string& c) {
    if (!Contains(caps, c)) caps.push_back(c);
  };
  if (Contains(adds, "ALL")) {
    for (const auto& c : HostCapabilities(host))
      if (!Contains(drops, c)) add(c);
    return caps;
  }
  if (!Contains(drops, "ALL")) {
    // Defaults the host itself lacks are left out rather than failing every container.
    for (const auto& c : DefaultCapabilities())
      if (!Contains(drops, c) && HostHas(host, CapabilityNumber(c))) add(c);
  }
  for (const auto& c : adds) {
    if (!HostHas(host, CapabilityNumber(c)))
      return Fail(Error::InvalidArgument(fmt::format(
          "capability {} is not in the daemon's bounding set; the host cannot grant it", c)));
    add(c);
  }
  return caps;
}

std::string DefaultCgroupsPath(const HostConfig& h, const std::string& id) {
  return h.cgroup_parent.empty() ? "/berth-" + id : h.cgroup_parent + "/" + id;
}

bool UsesInit(const HostConfig& h, bool daemon_default) {
  bool private_pid = h.pid_mode != "host" && h.pid_mode.rfind("container:", 0) != 0;
  return private_pid && h.init.value_or(daemon_default);
}

Result<oci::Spec> GenerateSpec(const CreateRequest& req, const oci::ImageConfig& image,
                               const HostFacts& host, const ContainerPaths& paths,
                               std::vector<std::string>* warnings_out) {
  TRY(ValidateCreateRequest(req));
  std::vector<std::string> warnings;
  const HostConfig& h = req.host_config;
  const Config& c = req.config;

  for (const auto& mode : {h.ipc_mode, h.pid_mode, h.network_mode})
    if (mode.rfind("container:", 0) == 0)
      return Fail(
          Error::InvalidArgument(fmt::format("namespace mode \"{}\" is not supported yet", mode)));

  SecurityOptions sec = TRY(ParseSecurityOptions(h.security_opt));
  std::vector<std::string> caps = TRY(ResolveCapabilities(h, host));

  bool host_net = h.network_mode == "host";
  bool host_ipc = h.ipc_mode == "host";
  bool host_pid = h.pid_mode == "host";
  bool host_uts = h.uts_mode == "host";
  if (host_uts && !c.hostname.empty())
    return Fail(Error::InvalidArgument("Conflicting options: hostname and the UTS mode"));
  if (host_net && !c.hostname.empty())
    return Fail(Error::InvalidArgument("Conflicting options: hostname and the network mode"));

  oci::Spec spec;
  spec.oci_version = oci::kOciVersion;
  spec.root = {.path = paths.rootfs, .readonly = h.readonly_rootfs};

  std::string hostname = c.hostname;
  if (hostname.empty()) hostname = host_net ? host.hostname : paths.id.substr(0, 12);
  if (!host_uts) {
    spec.hostname = hostname;
    spec.domainname = c.domainname;
  }

  // Process.
  oci::Process p;
  p.terminal = c.tty;
  p.args = TRY(ProcessArgs(req, image));
  bool init = UsesInit(h, paths.default_init);
  if (init) {
    if (paths.init_binary.empty())
      return Fail(
          Error::InvalidArgument("--init requested but the daemon has no init binary configured"));
    p.args.insert(p.args.begin(), {kInitPath, "--"});
  }
  std::vector<std::string> base_env = {kDefaultPathEnv, "HOSTNAME=" + hostname};
  if (c.tty) base_env.push_back("TERM=xterm");
  p.env = ReplaceOrAppendEnv(base_env, MergeImageEnv(c.env, image.config.env));
  p.cwd = CleanPath(!c.working_dir.empty()              ? c.working_dir
                    : !image.config.working_dir.empty() ? image.config.working_dir
                                                        : "/");
  p.user = TRY(ResolveUser(!c.user.empty() ? c.user : image.config.user, h.group_add, paths));
  p.capabilities = oci::Capabilities{.bounding = caps, .effective = caps, .permitted = caps};
  p.rlimits = Rlimits(h, host, warnings);
  p.no_new_privileges = sec.no_new_privileges;
  p.oom_score_adj = h.oom_score_adj;
  spec.process = std::move(p);

  // Mounts: the defaults, minus what the user mounts over, then user mounts parents first.
  MountPlan plan;
  TRY(PlanUserMounts(req, image, host, paths, plan, warnings));
  auto user_has = [&](const std::string& d) { return plan.destinations.count(d) > 0; };
  bool user_dev = user_has("/dev");
  for (auto& m : DefaultMounts(h.privileged)) {
    if (user_has(m.destination)) continue;
    if (user_dev && m.destination.rfind("/dev/", 0) == 0) continue;
    spec.mounts.push_back(std::move(m));
  }
  bool no_ipc = h.ipc_mode == "none";
  if (!no_ipc && !user_has("/dev/shm") && !user_dev) {
    if (host_ipc) {
      plan.user.push_back(BindMount("/dev/shm", "/dev/shm", false, ""));
    } else if (!paths.shm.empty()) {
      plan.user.push_back(BindMount(paths.shm, "/dev/shm", false, ""));
    } else {
      int64_t size = h.shm_size > 0 ? h.shm_size : kDefaultShmSize;
      spec.mounts.push_back(
          {.destination = "/dev/shm",
           .type = "tmpfs",
           .source = "shm",
           .options = {"nosuid", "noexec", "nodev", "mode=1777", fmt::format("size={}", size)}});
    }
  }
  for (const auto& [file, dst] :
       {std::pair{paths.hostname_file, "/etc/hostname"}, std::pair{paths.hosts_file, "/etc/hosts"},
        std::pair{paths.resolv_conf_file, "/etc/resolv.conf"}}) {
    if (file.empty() || user_has(dst)) continue;
    plan.user.push_back(BindMount(file, dst, h.readonly_rootfs, ""));
  }
  if (init)
    plan.user.push_back(oci::Mount{.destination = kInitPath,
                                   .type = "bind",
                                   .source = paths.init_binary,
                                   .options = {"bind", "ro", "nosuid", "rprivate"}});
  std::stable_sort(plan.user.begin(), plan.user.end(),
                   [](const oci::Mount& a, const oci::Mount& b) {
                     return PathDepth(a.destination) < PathDepth(b.destination);
                   });
  for (auto& m : plan.user) spec.mounts.push_back(std::move(m));

  // Linux.
  oci::Linux lx;
  lx.namespaces.push_back({.type = "mount"});
  if (!host_net) lx.namespaces.push_back({.type = "network", .path = paths.network_namespace});
  if (!host_uts) lx.namespaces.push_back({.type = "uts"});
  if (!host_pid) lx.namespaces.push_back({.type = "pid"});
  if (!host_ipc) lx.namespaces.push_back({.type = "ipc"});
  bool cgroupns = h.cgroupns_mode == "private" ||
                  (h.cgroupns_mode.empty() && host.cgroup_mode == CgroupMode::kV2);
  if (cgroupns) lx.namespaces.push_back({.type = "cgroup"});

  lx.cgroups_path =
      !paths.cgroups_path.empty() ? paths.cgroups_path : DefaultCgroupsPath(h, paths.id);
  lx.rootfs_propagation = plan.rootfs_propagation;

  TRY(CheckSysctls(h.sysctls, host_net, host_ipc, host_uts));
  lx.sysctl = h.sysctls;

  if (!h.privileged && !sec.systempaths_unconfined) {
    lx.masked_paths = DefaultMaskedPaths();
    for (const auto& t : host.thermal_throttle_paths) lx.masked_paths.push_back(t);
    lx.readonly_paths = DefaultReadonlyPaths();
  }

  oci::Resources res;
  if (h.privileged) {
    lx.devices = host.devices;
    res.devices.push_back({.allow = true, .type = "a", .access = "rwm"});
  } else {
    res.devices = DefaultDeviceRules();
  }
  for (const auto& d : h.devices) {
    std::optional<oci::Device> node;
    if (host.lookup_device) node = host.lookup_device(d.path_on_host);
    if (!node)
      return Fail(Error::InvalidArgument(fmt::format(
          "error gathering device information while adding custom device \"{}\": no such file "
          "or directory",
          d.path_on_host)));
    std::string perms = d.cgroup_permissions.empty() ? "rwm" : d.cgroup_permissions;
    if (perms.find_first_not_of("rwm") != std::string::npos || perms.size() > 3)
      return Fail(Error::InvalidArgument(fmt::format("invalid device mode: {}", perms)));
    node->path = d.path_in_container.empty() ? d.path_on_host : d.path_in_container;
    lx.devices.push_back(*node);
    res.devices.push_back({.allow = true,
                           .type = node->type,
                           .major = node->major,
                           .minor = node->minor,
                           .access = perms});
  }
  for (const auto& rule : h.device_cgroup_rules) res.devices.push_back(TRY(ParseDeviceRule(rule)));
  TRY(AddResources(req, host, res, warnings));
  lx.resources = std::move(res);

  if (!h.privileged && !sec.seccomp_unconfined) {
    if (!host.seccomp_available) {
      if (!sec.seccomp_profile.empty())
        return Fail(Error::InvalidArgument(
            "seccomp is not enabled in your kernel, cannot run a custom seccomp profile."));
    } else {
      SeccompProfile profile = sec.seccomp_profile.empty()
                                   ? DefaultSeccompProfile()
                                   : TRY(ParseSeccompProfile(sec.seccomp_profile));
      lx.seccomp = TRY(ResolveSeccompProfile(profile, caps, host.machine, host.kernel));
    }
  }
  spec.linux = std::move(lx);

  if (warnings_out) warnings_out->insert(warnings_out->end(), warnings.begin(), warnings.end());
  return spec;
}

}  // namespace berth::daemon::spec
