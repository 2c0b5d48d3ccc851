// API socket creation, socket activation, sd_notify and the pid file.
#include "daemon/listener.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "base/strings.h"
#include "sys/file.h"
#include "sys/socket.h"

namespace berth::daemon {
namespace {

base::Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return base::Fail(base::Error::InvalidArgument("socket path too long: " + path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Removes a socket file that nobody listens on; refuses to touch a live one.
base::Status RemoveStaleSocket(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return base::Fail(base::Error::FromErrno(errno, "stat " + path));
  }
  if (!S_ISSOCK(st.st_mode))
    return base::Fail(base::Error::AlreadyExists(path + " exists and is not a socket"));
  auto conn = sys::ConnectUnix(path);
  if (conn) return base::Fail(base::Error::Conflict("another berthd is listening on " + path));
  if (conn.error().sys_errno() != ECONNREFUSED && conn.error().sys_errno() != ENOENT)
    return base::Fail(std::move(conn.error()).Context("probe existing socket"));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return base::Fail(base::Error::FromErrno(errno, "remove stale socket " + path));
  return {};
}

}  // namespace

base::Result<sys::UniqueFd> ListenUnix(const std::string& path, const std::string& group) {
  sockaddr_un addr = TRY(UnixAddress(path));
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(sys::MkdirAll(path.substr(0, slash), 0711));
  TRY(RemoveStaleSocket(path));
  sys::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::Fail(base::Error::FromErrno(errno, "socket"));
  // bind() creates the file with 0777 & ~umask: set the umask so that no other user can connect
  // in the window before chmod.
  mode_t old = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  umask(old);
  if (rc != 0) return base::Fail(base::Error::FromErrno(err, "bind " + path));
  if (chmod(path.c_str(), 0660) != 0)
    return base::Fail(base::Error::FromErrno(errno, "chmod " + path));
  if (struct group* g = getgrnam(group.c_str())) {
    if (chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      return base::Fail(base::Error::FromErrno(errno, "chown " + path + " to group " + group));
  }
  if (listen(fd.get(), SOMAXCONN) != 0)
    return base::Fail(base::Error::FromErrno(errno, "listen " + path));
  return fd;
}

std::vector<sys::UniqueFd> SystemdListenFds() {
  std::vector<sys::UniqueFd> fds;
  const char* pid = getenv("LISTEN_PID");
  const char* n = getenv("LISTEN_FDS");
  if (!pid || !n) return fds;
  auto p = base::ParseInt(pid);
  auto count = base::ParseInt(n);
  if (!p || *p != getpid() || !count || *count <= 0) return fds;
  constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START
  for (int fd = kFirstFd; fd < kFirstFd + *count; ++fd) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fds.emplace_back(fd);
  }
  // Children must not think the sockets are theirs.
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return fds;
}

base::Status NotifySystemd(std::string_view state) {
  const char* env = getenv("NOTIFY_SOCKET");
  if (!env || !*env) return {};
  std::string path = env;
  if (path[0] != '/' && path[0] != '@')
    return base::Fail(base::Error::InvalidArgument("NOTIFY_SOCKET is not a path: " + path));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return base::Fail(base::Error::InvalidArgument("NOTIFY_SOCKET too long"));
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  sys::UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::Fail(base::Error::FromErrno(errno, "socket"));
  if (sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&addr), len) < 0)
    return base::Fail(base::Error::FromErrno(errno, "notify " + path));
  return {};
}

base::Status WritePidFile(const std::string& path) {
  if (auto old = sys::ReadFile(path)) {
    auto pid = base::ParseInt(base::Trim(*old));
    if (pid && *pid > 0 && *pid != getpid() && kill(static_cast<pid_t>(*pid), 0) == 0)
      return base::Fail(base::Error::Conflict(
          fmt::format("pid file found, ensure berthd is not running or delete {}", path)));
  }
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(sys::MkdirAll(path.substr(0, slash), 0755));
  return sys::WriteFileAtomic(path, fmt::format("{}\n", getpid()), 0644);
}

}  // namespace berth::daemon
