// The daemon's OS-facing start-up pieces: the API sockets (unix, TCP, or inherited from
// systemd), the pid file and readiness notification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "daemon/config.h"
#include "daemon/server.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

// Creates a listening unix stream socket at `path` with mode 0660, owned by `group` when that
// group exists. The parent directory is created (0711) when missing. A socket file left by a
// dead daemon (connect() refused) is replaced; one that accepts connections is kConflict
// ("another berthd is listening on PATH"), and a non-socket file at `path` is kAlreadyExists.
// Not thread-safe: changes the process umask briefly, so call it before starting threads.
base::Result<sys::UniqueFd> ListenUnix(const std::string& path, const std::string& group);

// Creates a listening TCP socket (SO_REUSEADDR, close-on-exec) on `host`: an IP literal, a name
// (its first address), or "" for every address (IPv6 and IPv4 when the kernel allows). The
// errno of bind (EADDRINUSE, EADDRNOTAVAIL) stays in the error.
base::Result<sys::UniqueFd> ListenTcp(const std::string& host, uint16_t port);

// Opens every listener that `config.hosts` names into `options`: unix sockets (their paths are
// appended to `created`, for removal at exit, even when a later one fails), systemd's (fd://;
// TCP ones among them count as tcp:// hosts) and tcp:// ones, which are served over TLS with the
// config's files and need tls_verify (kInvalidArgument otherwise).
base::Status OpenApiListeners(const DaemonConfig& config, ServerOptions& options,
                              std::vector<std::string>& created);

// The listening sockets systemd passed (LISTEN_PID/LISTEN_FDS, starting at fd 3), marked
// close-on-exec. Empty when none were passed to this process.
std::vector<sys::UniqueFd> SystemdListenFds();

// Sends `state` ("READY=1") to $NOTIFY_SOCKET as sd_notify(3) does; a no-op when unset.
base::Status NotifySystemd(std::string_view state);

// Writes our pid to `path`. kConflict when it names a live process other than us (a daemon
// already running); a stale file is replaced.
base::Status WritePidFile(const std::string& path);

}  // namespace berth::daemon
