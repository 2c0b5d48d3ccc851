// favordynmods on the host's cgroup2 superblock, through the new mount API so that only the
// superblock is reconfigured and the mount's own flags stay as they are.
#include "runtime/cgroup/tuning.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/strings.h"
#include "runtime/cgroup/layout.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::runtime::cgroup {

using base::Error;
using base::Fail;

bool FavorsDynmods(std::string_view super_options) {
  for (const std::string& opt : base::Split(super_options, ','))
    if (opt == kFavorDynmods) return true;
  return false;
}

std::vector<std::string> FavorDynmodsOptions(std::string_view super_options) {
  std::vector<std::string> out;
  for (std::string& opt : base::Split(super_options, ',')) {
    if (opt.empty() || opt == "rw" || opt == "ro" || opt == "seclabel") continue;
    if (std::find(out.begin(), out.end(), opt) == out.end()) out.push_back(std::move(opt));
  }
  if (std::find(out.begin(), out.end(), kFavorDynmods) == out.end())
    out.emplace_back(kFavorDynmods);
  return out;
}

base::Status ReconfigureCgroup2(const std::string& mount_point,
                                const std::vector<std::string>& options) {
  sys::UniqueFd fs(::fspick(AT_FDCWD, mount_point.c_str(), FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT));
  if (!fs) return Fail(Error::FromErrno(errno, fmt::format("fspick \"{}\"", mount_point)));
  for (const std::string& opt : options) {
    size_t eq = opt.find('=');
    int rc = eq == std::string::npos
                 ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, opt.c_str(), nullptr, 0)
                 : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, opt.substr(0, eq).c_str(),
                              opt.substr(eq + 1).c_str(), 0);
    if (rc != 0)
      return Fail(Error::FromErrno(
          errno, fmt::format("cgroup2 option \"{}\" on \"{}\"", opt, mount_point)));
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("reconfigure cgroup2 at \"{}\" with \"{}\"",
                                                    mount_point, base::Join(options, ","))));
  return {};
}

base::Result<FavorDynmodsOutcome> EnableFavorDynmods(std::string_view cgroup_root) {
  std::string text = TRY(sys::ReadFile("/proc/self/mountinfo"));
  CgroupLayout layout = TRY_CTX(DetectLayout(text, cgroup_root), "detect cgroup layout");
  if (layout.unified_mount.empty())
    return Fail(Error::NotFound(
        fmt::format("no cgroup2 mount under \"{}\" to set favordynmods on (pure cgroup v1 host)",
                    cgroup_root)));
  FavorDynmodsOutcome out{layout.unified_mount, layout.unified_super_options, false};
  if (FavorsDynmods(out.super_options)) return out;
  TRY(ReconfigureCgroup2(out.mount_point, FavorDynmodsOptions(out.super_options)));
  out.changed = true;
  return out;
}

}  // namespace berth::runtime::cgroup
