// Cgroup path resolution (runc's cgroupsPath rules, systemd slice mapping) and the factories
// that pick the v1/hybrid or v2 manager for a layout.
#include "runtime/cgroup/manager.h"

#include <fmt/format.h>

#include "base/log.h"
#include "base/strings.h"
#include "runtime/cgroup/backends.h"
#include "runtime/cgroup/fs.h"
#include "sys/file.h"

namespace berth::runtime::cgroup {

using base::Error;
using base::Fail;
using base::Result;
using internal::CgroupDir;
using internal::IsInside;
using internal::JoinPath;

namespace {

// "/a//b/./c/" -> "/a/b/c"; keeps a relative path relative.
std::string CleanPath(std::string_view path) {
  std::vector<std::string> parts;
  for (std::string& p : base::SplitNonEmpty(path, '/'))
    if (p != ".") parts.push_back(std::move(p));
  std::string out = base::Join(parts, "/");
  return path.starts_with('/') ? "/" + out : out;
}

// systemd's slice naming: "a-b.slice" lives in "a.slice" ("-.slice" is the root slice).
Result<std::string> ExpandSlice(const std::string& slice) {
  constexpr std::string_view kSuffix = ".slice";
  auto bad = [&] {
    return Fail(Error::InvalidArgument(fmt::format("invalid systemd slice name \"{}\"", slice)));
  };
  if (!slice.ends_with(kSuffix) || slice.find('/') != std::string::npos) return bad();
  if (slice == "-.slice") return std::string("/");
  std::string_view name = std::string_view(slice).substr(0, slice.size() - kSuffix.size());
  if (name.empty() || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string_view::npos)
    return bad();
  std::string path, prefix;
  for (const std::string& part : base::Split(name, '-')) {
    if (!prefix.empty()) prefix += '-';
    prefix += part;
    path.append("/").append(prefix).append(kSuffix);
  }
  return path;
}

}  // namespace

Result<std::string> SystemdCgroupPath(const std::string& spec, const std::string& container_id) {
  std::vector<std::string> parts = base::Split(spec, ':');
  if (parts.size() != 3)
    return Fail(Error::InvalidArgument(fmt::format(
        "expected cgroupsPath of the form \"slice:prefix:name\" for systemd cgroups, got \"{}\"",
        spec)));
  const std::string slice = parts[0].empty() ? "system.slice" : parts[0];
  const std::string& prefix = parts[1];
  const std::string name = parts[2].empty() ? container_id : parts[2];
  if (name.empty() || name.find('/') != std::string::npos || prefix.find('/') != std::string::npos)
    return Fail(Error::InvalidArgument(fmt::format("invalid systemd unit name in \"{}\"", spec)));
  std::string unit;
  if (name.ends_with(".slice")) {
    unit = name;  // the container gets a slice of its own
  } else {
    unit = prefix.empty() ? name + ".scope" : prefix + "-" + name + ".scope";
  }
  return JoinPath(TRY(ExpandSlice(slice)), unit);
}

Result<std::string> ContainerCgroupPath(const std::string& cgroups_path,
                                        const std::string& container_id,
                                        const ManagerOptions& options) {
  std::string path;
  if (options.systemd_path) {
    path = TRY(SystemdCgroupPath(
        cgroups_path.empty()
            ? fmt::format("system.slice:{}:{}", options.default_parent, container_id)
            : cgroups_path,
        container_id));
  } else if (cgroups_path.empty()) {
    if (container_id.empty() || container_id.find('/') != std::string::npos)
      return Fail(Error::InvalidArgument(
          fmt::format("container id \"{}\" cannot name a cgroup", container_id)));
    // One level, no shared parent: nothing to create before or to clean up after the last
    // container (each level costs a mkdir and an rmdir per hierarchy).
    path = fmt::format("/{}-{}", options.default_parent, container_id);
  } else {
    path = cgroups_path;
  }
  // ".." could walk out of the hierarchy (or of the runtime's own cgroup); nobody needs it.
  if (internal::HasDotDot(path))
    return Fail(Error::InvalidArgument(fmt::format("cgroup path \"{}\" contains \"..\"", path)));
  path = CleanPath(path);
  if (path.empty() || path == "/")
    return Fail(Error::InvalidArgument(
        fmt::format("cgroup path \"{}\" names the hierarchy root", cgroups_path)));
  return path;
}

Result<std::map<std::string, std::string>> ParseProcCgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos)
      return Fail(
          Error::InvalidArgument(fmt::format("malformed /proc/<pid>/cgroup line \"{}\"", line)));
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controllers.empty()) {
      out[kUnifiedKey] = path;
      continue;
    }
    for (const std::string& c : base::SplitNonEmpty(controllers, ',')) out[c] = path;
  }
  return out;
}

Result<std::unique_ptr<Manager>> NewManager(const CgroupLayout& layout,
                                            const std::string& cgroups_path,
                                            const std::string& container_id,
                                            const ManagerOptions& options) {
  const std::string path = TRY(ContainerCgroupPath(cgroups_path, container_id, options));
  std::map<std::string, std::string> own;
  if (!path.starts_with('/')) {
    own = TRY_CTX(ParseProcCgroup(TRY(sys::ReadFile("/proc/self/cgroup"))),
                  "read the runtime's own cgroup");
  }
  // The directory for `path` in one hierarchy.
  auto resolve = [&](const std::string& key, const std::string& mount_point,
                     const std::string& root) -> Result<std::string> {
    if (path.starts_with('/')) return JoinPath(mount_point, path);
    auto it = own.find(key);
    if (it == own.end())
      return Fail(Error::NotFound(fmt::format(
          "relative cgroup path \"{}\": no \"{}\" entry in /proc/self/cgroup", path, key)));
    std::string base = it->second;
    // Inside a container the mount shows only our subtree: strip what lies above it.
    if (root != "/" && IsInside(base, root)) base = base.substr(root.size());
    return JoinPath(JoinPath(mount_point, base), path);
  };

  if (layout.mode == CgroupMode::kV2) {
    std::string dir = TRY(resolve(kUnifiedKey, layout.unified_mount, "/"));
    return internal::NewV2Manager(CgroupDir{layout.unified_mount, dir});
  }
  std::map<std::string, CgroupDir> dirs;
  for (const auto& [subsystem, mount] : layout.v1_mounts) {
    std::string dir = TRY(resolve(subsystem, mount.mount_point, mount.root));
    dirs[subsystem] = CgroupDir{mount.mount_point, dir};
  }
  std::optional<CgroupDir> unified;
  if (layout.mode == CgroupMode::kHybrid) {
    auto dir = resolve(kUnifiedKey, layout.unified_mount, "/");
    if (dir) {
      unified = CgroupDir{layout.unified_mount, *dir};
    } else {
      base::LogWarn("not joining the unified hierarchy: {}", dir.error().message());
    }
  }
  return internal::NewV1Manager(std::move(dirs), std::move(unified), options.cpuset_on_demand);
}

Result<std::unique_ptr<Manager>> LoadManager(const CgroupLayout& layout,
                                             const std::map<std::string, std::string>& saved) {
  auto check = [](const std::string& key, const std::string& path,
                  const std::string& mount) -> base::Status {
    if (mount.empty() || !IsInside(path, mount) || internal::HasDotDot(path) || path == mount)
      return Fail(Error::InvalidArgument(
          fmt::format("saved cgroup path \"{}\" for \"{}\" is not inside its hierarchy \"{}\"",
                      path, key, mount.empty() ? "(not mounted)" : mount)));
    return {};
  };
  if (saved.empty()) return Fail(Error::InvalidArgument("no saved cgroup paths"));
  if (layout.mode == CgroupMode::kV2) {
    auto it = saved.find(kUnifiedKey);
    if (it == saved.end() || saved.size() != 1)
      return Fail(Error::InvalidArgument(
          "saved cgroup paths are not for cgroup v2 (the host's cgroup mode changed?)"));
    TRY(check(it->first, it->second, layout.unified_mount));
    return internal::NewV2Manager(CgroupDir{layout.unified_mount, it->second});
  }
  std::map<std::string, CgroupDir> dirs;
  std::optional<CgroupDir> unified;
  for (const auto& [key, path] : saved) {
    if (key == kUnifiedKey) {
      TRY(check(key, path, layout.unified_mount));
      unified = CgroupDir{layout.unified_mount, path};
      continue;
    }
    auto it = layout.v1_mounts.find(key);
    TRY(check(key, path, it == layout.v1_mounts.end() ? "" : it->second.mount_point));
    dirs[key] = CgroupDir{it->second.mount_point, path};
  }
  // A saved cpuset directory may not exist (created on demand): join it only if it does.
  return internal::NewV1Manager(std::move(dirs), std::move(unified), /*cpuset_on_demand=*/true);
}

}  // namespace berth::runtime::cgroup
