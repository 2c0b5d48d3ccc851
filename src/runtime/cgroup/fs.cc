// Cgroupfs file access shared by the v1 and v2 managers.
#include "runtime/cgroup/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "base/strings.h"
#include "runtime/cgroup/stats.h"
#include "sys/file.h"

namespace berth::runtime::cgroup::internal {

using base::Error;
using base::Fail;
using base::Result;
using base::Status;

std::string JoinPath(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a.back() == '/') a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  while (!b.empty() && b.back() == '/') b.remove_suffix(1);
  if (b.empty()) return std::string(a);
  if (a == "/") return "/" + std::string(b);
  return std::string(a) + "/" + std::string(b);
}

bool IsInside(std::string_view path, std::string_view mount) {
  while (mount.size() > 1 && mount.back() == '/') mount.remove_suffix(1);
  if (path == mount) return true;
  return path.size() > mount.size() && path.starts_with(mount) &&
         (path[mount.size()] == '/' || mount == "/");
}

bool HasDotDot(std::string_view path) {
  for (const std::string& part : base::Split(path, '/'))
    if (part == "..") return true;
  return false;
}

bool FileExists(const std::string& dir, const std::string& file) {
  return sys::Exists(JoinPath(dir, file));
}

Status WriteFile(const std::string& dir, const std::string& file, std::string_view value) {
  return sys::WriteExisting(JoinPath(dir, file), value);
}

Result<std::string> ReadFile(const std::string& dir, const std::string& file) {
  std::string text = TRY(sys::ReadFile(JoinPath(dir, file)));
  return std::string(base::Trim(text));
}

Result<uint64_t> ReadUint(const std::string& dir, const std::string& file) {
  std::string text = TRY(ReadFile(dir, file));
  if (text == "max") return kUnlimited;
  auto v = base::ParseUint(text);
  if (!v)
    return Fail(Error::Internal(
        fmt::format("parse \"{}\": not a number: \"{}\"", JoinPath(dir, file), text)));
  return *v;
}

std::map<std::string, uint64_t> ParseKeyValues(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    auto f = base::SplitNonEmpty(line, ' ');
    if (f.size() != 2) continue;
    if (auto v = base::ParseUint(f[1])) out[f[0]] = *v;
  }
  return out;
}

Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir,
                                                      const std::string& file) {
  return ParseKeyValues(TRY(ReadFile(dir, file)));
}

Status MkdirBelow(
    const std::string& mount, const std::string& dir,
    const std::function<Status(const std::string& parent, const std::string& child)>& each_level) {
  if (!IsInside(dir, mount) || HasDotDot(dir))
    return Fail(Error::InvalidArgument(
        fmt::format("cgroup \"{}\" is not inside its hierarchy \"{}\"", dir, mount)));
  const std::string top = JoinPath(mount, "");
  const auto parts = base::SplitNonEmpty(std::string_view(dir).substr(top.size()), '/');
  // A concurrent delete may remove an empty shared parent (the default "berth" cgroup) between
  // our mkdir of it and of its child: start over from the top when a level vanishes.
  for (int attempt = 0;; ++attempt) {
    std::string parent = top;
    bool vanished = false;
    for (const std::string& part : parts) {
      std::string child = JoinPath(parent, part);
      if (::mkdir(child.c_str(), 0755) != 0 && errno != EEXIST) {
        if (errno == ENOENT && attempt < 5) {
          vanished = true;
          break;
        }
        return Fail(Error::FromErrno(errno, fmt::format("mkdir \"{}\"", child)));
      }
      TRY(each_level(parent, child));
      parent = std::move(child);
    }
    if (!vanished) return {};
  }
}

namespace {

// The names of dir's subdirectories: the child cgroups (interface files are regular files).
Result<std::vector<std::string>> ChildCgroups(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Fail(Error::FromErrno(errno, fmt::format("opendir \"{}\"", dir)));
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir =
          ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status CollectPids(const std::string& dir, std::vector<pid_t>& out) {
  std::string text = TRY(sys::ReadFile(JoinPath(dir, "cgroup.procs")));
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    auto pid = base::ParseInt(base::Trim(line));
    if (!pid || *pid <= 0)
      return Fail(Error::Internal(
          fmt::format("parse \"{}\": bad pid \"{}\"", JoinPath(dir, "cgroup.procs"), line)));
    out.push_back(static_cast<pid_t>(*pid));
  }
  auto children = ChildCgroups(dir);
  if (!children) return Fail(std::move(children).error());
  for (const std::string& child : *children) {
    auto st = CollectPids(JoinPath(dir, child), out);
    // A child cgroup removed while we walk is not an error.
    if (!st && st.error().code() != base::ErrorCode::kNotFound) return st;
  }
  return {};
}

// One pass of rmdir, deepest first. Returns the first error (with its errno).
Status RemoveOnce(const std::string& dir) {
  // A container's cgroup rarely has children: try the rmdir first and list only if it is busy
  // (four syscalls fewer per hierarchy, nine hierarchies on a v1 host).
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
  if (errno != EBUSY && errno != ENOTEMPTY)
    return Fail(Error::FromErrno(errno, fmt::format("rmdir \"{}\"", dir)));
  auto children = ChildCgroups(dir);
  if (!children) {
    if (children.error().sys_errno() == ENOENT) return {};
    return Fail(std::move(children).error());
  }
  for (const std::string& child : *children) TRY(RemoveOnce(JoinPath(dir, child)));
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
    return Fail(Error::FromErrno(errno, fmt::format("rmdir \"{}\"", dir)));
  return {};
}

}  // namespace

Result<std::vector<pid_t>> ReadPidsRecursive(const std::string& dir) {
  std::vector<pid_t> pids;
  TRY(CollectPids(dir, pids));
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

Status SignalPids(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids) {
    if (::kill(pid, sig) != 0 && errno != ESRCH)
      return Fail(Error::FromErrno(errno, fmt::format("kill {} with signal {}", pid, sig)));
  }
  return {};
}

Status RemoveCgroupTree(const std::string& dir) {
  // A killed process leaves its cgroup only once it has finished exiting; until then rmdir
  // says EBUSY. 10ms doubling for 7 tries waits about 1.3s in all.
  auto delay = std::chrono::milliseconds(10);
  for (int attempt = 0;; ++attempt) {
    Status st = RemoveOnce(dir);
    if (st || st.error().sys_errno() != EBUSY || attempt == 7) return st;
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

Result<bool> PollUntil(const std::function<Result<bool>()>& done,
                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::microseconds(500);
  while (true) {
    if (TRY(done())) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min<std::chrono::microseconds>(delay * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace berth::runtime::cgroup::internal
