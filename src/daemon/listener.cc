// API socket creation, socket activation, sd_notify and the pid file.
#include "daemon/listener.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
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

base::Result<sys::UniqueFd> ListenTcp(const std::string& host, uint16_t port) {
  std::string where = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                          : fmt::format("{}:{}", host, port);
  auto listen_on = [&](const sockaddr* addr, socklen_t len) -> base::Result<sys::UniqueFd> {
    sys::UniqueFd fd(socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return base::Fail(base::Error::FromErrno(errno, "socket"));
    int one = 1, zero = 0;
    // A restarted daemon must not wait out TIME_WAIT connections of the previous one.
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (host.empty() && addr->sa_family == AF_INET6)
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd.get(), addr, len) != 0)
      return base::Fail(base::Error::FromErrno(errno, "bind tcp " + where));
    if (listen(fd.get(), SOMAXCONN) != 0)
      return base::Fail(base::Error::FromErrno(errno, "listen tcp " + where));
    return fd;
  };
  if (host.empty()) {
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_port = htons(port);
    any6.sin6_addr = in6addr_any;
    auto fd = listen_on(reinterpret_cast<sockaddr*>(&any6), sizeof(any6));
    if (fd || fd.error().sys_errno() != EAFNOSUPPORT) return fd;
    sockaddr_in any4{};  // a kernel without IPv6
    any4.sin_family = AF_INET;
    any4.sin_port = htons(port);
    any4.sin_addr.s_addr = htonl(INADDR_ANY);
    return listen_on(reinterpret_cast<sockaddr*>(&any4), sizeof(any4));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0 || !res) {
    return base::Fail(base::Error::InvalidArgument(
        fmt::format("resolve {}: {}", host, rc != 0 ? gai_strerror(rc) : "no address")));
  }
  auto fd = listen_on(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return fd;
}

base::Status OpenApiListeners(const DaemonConfig& config, ServerOptions& options,
                              std::vector<std::string>& created) {
  options.tls = {config.tls_ca_cert, config.tls_cert, config.tls_key};
  auto require_verify = [&](std::string_view what) -> base::Status {
    if (config.tls_verify) return {};
    return base::Fail(base::Error::InvalidArgument(fmt::format(
        "refusing to serve {} without TLS client-certificate verification: add --tlsverify",
        what)));
  };
  std::string tls_note = fmt::format("TLS, client certificates signed by {}", config.tls_ca_cert);
  // Bad TLS files fail the start before any socket exists.
  if (config.tls_verify && std::any_of(config.hosts.begin(), config.hosts.end(),
                                       [](const std::string& h) { return IsTcpHost(h); }))
    TRY(ValidateTlsFiles(options.tls));
  for (const std::string& host : config.hosts) {
    if (host == "fd://") {
      auto fds = SystemdListenFds();
      if (fds.empty())
        return base::Fail(base::Error::InvalidArgument("-H fd:// but systemd passed no sockets"));
      for (auto& fd : fds) {
        sockaddr_storage addr{};
        socklen_t len = sizeof(addr);
        if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
          return base::Fail(base::Error::InvalidArgument(
              fmt::format("fd {} passed by systemd is not a socket", fd.get())));
        if (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) {
          TRY(require_verify(fmt::format("the TCP socket fd {} passed by systemd", fd.get())));
          base::LogInfo("API listen on TCP socket fd {} from systemd ({})", fd.get(), tls_note);
          options.tls_listeners.push_back(std::move(fd));
        } else {
          options.listeners.push_back(std::move(fd));
        }
      }
      base::LogInfo("API listen on {} socket(s) from systemd", fds.size());
      continue;
    }
    if (IsTcpHost(host)) {
      TRY(require_verify(host));
      TcpHost tcp = TRY(ParseTcpHost(host));
      options.tls_listeners.push_back(TRY(ListenTcp(tcp.host, tcp.port)));
      base::LogInfo("API listen on {} ({})", host, tls_note);
      continue;
    }
    std::string path = TRY(UnixSocketPath(host));
    options.listeners.push_back(TRY(ListenUnix(path, config.group)));
    created.push_back(path);
    base::LogInfo("API listen on {}", path);
  }
  return {};
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
