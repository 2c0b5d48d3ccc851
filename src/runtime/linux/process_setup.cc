// Final process setup before execve.
#include "runtime/linux/process_setup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "base/strings.h"
#include "runtime/linux/capabilities.h"

namespace berth::runtime::linux {

using base::Error;
using base::Fail;

namespace {
const std::map<std::string, int>& RlimitTable() {
  static const std::map<std::string, int> t = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  return t;
}

std::string LimitText(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }
}  // namespace

base::Status ApplyRlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    auto it = RlimitTable().find(r.type);
    if (it == RlimitTable().end())
      return Fail(Error::InvalidArgument(fmt::format("unknown rlimit type \"{}\"", r.type)));
    struct rlimit want = {static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (::setrlimit(it->second, &want) == 0) continue;
    int e = errno;
    struct rlimit cur;
    ::getrlimit(it->second, &cur);
    if (e == EPERM && want.rlim_max > cur.rlim_max) {
      return Fail(Error::PermissionDenied(fmt::format(
          "setrlimit {} soft={} hard={}: the host's hard limit is {} and raising a hard limit "
          "needs CAP_SYS_RESOURCE, which this runtime does not hold (ask for at most {})",
          r.type, LimitText(want.rlim_cur), LimitText(want.rlim_max), LimitText(cur.rlim_max),
          LimitText(cur.rlim_max))));
    }
    return Fail(
        Error::FromErrno(e, fmt::format("setrlimit {} soft={} hard={}", r.type,
                                        LimitText(want.rlim_cur), LimitText(want.rlim_max))));
  }
  return {};
}

base::Status ApplyUserAndCapabilities(const oci::Process& process) {
  const auto& u = process.user;
  std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) {
    // setgroups is denied in a user namespace whose gid_map was written with setgroups=deny.
    if (!(errno == EPERM && groups.empty())) return Fail(Error::FromErrno(errno, "setgroups"));
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl PR_SET_KEEPCAPS"));
  if (::setresgid(u.gid, u.gid, u.gid) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("setresgid {}", u.gid)));
  if (::setresuid(u.uid, u.uid, u.uid) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("setresuid {}", u.uid)));
  // ApplyCapabilities restores the effective set from permitted (a switch away from uid 0
  // clears it even with KEEPCAPS) before dropping the bounding set.
  if (process.capabilities) {
    TRY(ApplyCapabilities(*process.capabilities));
  } else {
    TRY(ApplyCapabilities(oci::Capabilities{}));
  }
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl PR_SET_KEEPCAPS"));
  if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Fail(Error::FromErrno(errno, "prctl PR_SET_NO_NEW_PRIVS"));
  ::umask(process.user.umask.value_or(022));
  return {};
}

base::Status EnterCwd(const std::string& cwd) {
  if (::chdir(cwd.c_str()) != 0)
    return Fail(
        Error::FromErrno(errno, fmt::format("chdir to cwd (\"{}\") set in config.json", cwd)));
  char buf[4096];
  if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
    return Fail(Error::PermissionDenied(
        fmt::format("cwd \"{}\" is outside the container's root filesystem", cwd)));
  return {};
}

base::Status CloseFdsFrom(int first, const std::vector<int>& keep) {
  // close_range around the kept fds: no /proc walk, one syscall per gap.
  std::vector<int> sorted = keep;
  std::sort(sorted.begin(), sorted.end());
  unsigned int from = static_cast<unsigned int>(first);
  for (int k : sorted) {
    if (k < first) continue;
    if (static_cast<unsigned int>(k) > from &&
        ::syscall(SYS_close_range, from, static_cast<unsigned int>(k) - 1, 0) != 0)
      return Fail(Error::FromErrno(errno, "close_range"));
    from = static_cast<unsigned int>(k) + 1;
  }
  if (::syscall(SYS_close_range, from, ~0U, 0) != 0)
    return Fail(Error::FromErrno(errno, "close_range"));
  return {};
}

std::string HomeOf(std::string_view passwd, uint32_t uid) {
  for (const std::string& raw : base::SplitNonEmpty(passwd, '\n')) {
    std::string_view line = base::Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto f = base::Split(line, ':');
    if (f.size() < 7) continue;
    auto id = base::ParseUint(f[2]);
    if (id && *id == uid && !f[5].empty()) return f[5];
  }
  return "/";
}

namespace {

// At most 1 MiB of a regular file, "" for anything else.
std::string ReadSmallRegularFile(const char* path) {
  int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (1 << 20)) {
    text.resize(static_cast<size_t>(st.st_size));
    ssize_t n = ::read(fd, text.data(), text.size());
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  ::close(fd);
  return text;
}

}  // namespace

std::vector<std::string> EnvWithDefaults(std::vector<std::string> env, uint32_t uid,
                                         const char* passwd_path) {
  bool has_path = false, has_home = false;
  for (auto& e : env) {
    has_path |= base::StartsWith(e, "PATH=");
    has_home |= base::StartsWith(e, "HOME=");
  }
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has_home) env.push_back("HOME=" + HomeOf(ReadSmallRegularFile(passwd_path), uid));
  return env;
}

base::Result<std::string> LookPath(const std::string& file, const std::vector<std::string>& env) {
  // Messages follow Go's exec.LookPath as printed by runc ("stat X: no such file or directory",
  // "permission denied"): dockerd and the docker CLI match them case-sensitively to pick exit
  // codes 127 (not found) and 126 (not executable).
  if (file.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(file.c_str(), &st) != 0) {
      int err = errno;
      Error e = Error::FromErrno(err, "");
      std::string reason = std::strerror(err);
      if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
      return Fail(Error(e.code(), fmt::format("exec: \"{}\": stat {}: {}", file, file, reason)));
    }
    if (S_ISDIR(st.st_mode))
      return Fail(Error::PermissionDenied(fmt::format("exec: \"{}\": is a directory", file)));
    // Like runc: a file without any execute bit fails create, not the exec after start.
    if ((st.st_mode & 0111) == 0)
      return Fail(Error::PermissionDenied(fmt::format("exec: \"{}\": permission denied", file)));
    return file;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& e : env)
    if (base::StartsWith(e, "PATH=")) path = e.substr(5);
  for (auto& dir : base::Split(path, ':')) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + file;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return candidate;
  }
  return Fail(
      Error::NotFound(fmt::format("exec: \"{}\": executable file not found in $PATH", file)));
}

base::Status Exec(const std::string& path, const std::vector<std::string>& args,
                  const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  return Fail(Error::FromErrno(errno, fmt::format("exec \"{}\"", path)));
}

}  // namespace berth::runtime::linux
