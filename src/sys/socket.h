// Unix-socket helpers: connect by path, and passing one fd with SCM_RIGHTS (the console-socket
// protocol: payload = pty name, one fd = the pty master).
#pragma once

#include <string>
#include <utility>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

base::Result<UniqueFd> ConnectUnix(const std::string& path);
base::Status SendFd(int sock, int fd, const std::string& payload);
// Receives one message; the fd is invalid if none came with it.
base::Result<std::pair<UniqueFd, std::string>> RecvFd(int sock);

}  // namespace berth::sys
