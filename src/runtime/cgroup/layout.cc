// Cgroup layout detection from mountinfo text, plus the statfs cross-check for the host.
#include "runtime/cgroup/layout.h"

#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <cerrno>
#include <map>
#include <set>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "sys/file.h"

namespace berth::runtime::cgroup {

using base::Error;
using base::Fail;
using base::Result;

const char* CgroupModeName(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kV1:
      return "v1";
    case CgroupMode::kHybrid:
      return "hybrid";
    case CgroupMode::kV2:
      return "v2";
  }
  return "unknown";
}

namespace {

// Super options of a v1 cgroup mount mix controllers with flags ("rw,nosuid,cpu,cpuacct");
// these are the controllers the kernel can mount, anything else is a flag.
const std::set<std::string, std::less<>> kV1Controllers = {
    "blkio",   "cpu",      "cpuacct",    "cpuset", "devices", "freezer", "hugetlb", "memory",
    "net_cls", "net_prio", "perf_event", "pids",   "rdma",    "misc",    "debug"};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsAtOrBelow(std::string_view path, std::string_view root) {
  if (path == root) return true;
  if (root == "/") return path.starts_with('/');
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

}  // namespace

Result<CgroupLayout> DetectLayout(std::string_view mountinfo_text, std::string_view cgroup_root) {
  CgroupLayout layout;
  std::string unified_at_root, unified_below;
  std::map<std::string, std::string> unified_options;  // cgroup2 mount point -> super options
  for (std::string_view line : base::SplitNonEmpty(mountinfo_text, '\n')) {
    // id parent maj:min root mount_point options [optional...] - fstype source super_options
    std::vector<std::string> f = base::SplitNonEmpty(line, ' ');
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 2 >= f.size())
      return Fail(Error::InvalidArgument(fmt::format("malformed mountinfo line \"{}\"", line)));
    const std::string& fstype = f[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::string mount_point = Unescape(f[4]);
    if (!IsAtOrBelow(mount_point, cgroup_root)) continue;
    std::string super_options = dash + 3 < f.size() ? f[dash + 3] : "";
    if (fstype == "cgroup2") {
      std::string& slot = mount_point == cgroup_root ? unified_at_root : unified_below;
      if (slot.empty()) slot = mount_point;
      unified_options.try_emplace(mount_point, super_options);
      continue;
    }
    std::string root = Unescape(f[3]);
    for (const std::string& opt : base::Split(super_options, ',')) {
      if (kV1Controllers.count(opt) == 0 && !opt.starts_with("name=")) continue;
      // The first mount of a hierarchy wins; later ones are usually bind mounts of it.
      layout.v1_mounts.try_emplace(opt, V1Mount{mount_point, root});
    }
  }
  if (!unified_at_root.empty()) {
    layout.mode = CgroupMode::kV2;
    layout.unified_mount = unified_at_root;
    layout.v1_mounts.clear();
  } else if (!layout.v1_mounts.empty()) {
    layout.mode = unified_below.empty() ? CgroupMode::kV1 : CgroupMode::kHybrid;
    layout.unified_mount = unified_below;
  } else if (!unified_below.empty()) {
    layout.mode = CgroupMode::kV2;
    layout.unified_mount = unified_below;
  } else {
    return Fail(
        Error::NotFound(fmt::format("no cgroup filesystem mounted under \"{}\"", cgroup_root)));
  }
  if (!layout.unified_mount.empty())
    layout.unified_super_options = unified_options[layout.unified_mount];
  return layout;
}

namespace {
Result<CgroupLayout> DetectHostLayoutUncached() {
  constexpr const char* kRoot = "/sys/fs/cgroup";
  std::string text = TRY(sys::ReadFile("/proc/self/mountinfo"));
  CgroupLayout layout = TRY_CTX(DetectLayout(text, kRoot), "detect cgroup layout");
  auto is_cgroup2 = [](const std::string& path) -> Result<bool> {
    struct statfs st;
    if (::statfs(path.c_str(), &st) != 0)
      return Fail(Error::FromErrno(errno, fmt::format("statfs \"{}\"", path)));
    return st.f_type == CGROUP2_SUPER_MAGIC;
  };
  if (TRY(is_cgroup2(kRoot))) {
    if (layout.unified_mount != kRoot) layout.unified_super_options.clear();
    layout.mode = CgroupMode::kV2;
    layout.unified_mount = kRoot;
    layout.v1_mounts.clear();
    return layout;
  }
  if (layout.unified_mount == kRoot)
    return Fail(Error::Internal(
        fmt::format("mountinfo lists cgroup2 at \"{}\" but statfs disagrees", kRoot)));
  if (layout.mode == CgroupMode::kHybrid && !TRY(is_cgroup2(layout.unified_mount))) {
    base::LogWarn("\"{}\" is not a cgroup2 mount; using cgroup v1 only", layout.unified_mount);
    layout.mode = CgroupMode::kV1;
    layout.unified_mount.clear();
    layout.unified_super_options.clear();
  }
  return layout;
}

}  // namespace

// The host's cgroup mounts do not change under a running berth process; reading mountinfo once
// saves a parse per command (status checks, delete and exec each need the layout).
Result<CgroupLayout> DetectHostLayout() {
  static const Result<CgroupLayout> cached = DetectHostLayoutUncached();
  return cached;
}

}  // namespace berth::runtime::cgroup
