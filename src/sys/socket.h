// Unix-socket helpers: connect by path, and passing one fd with SCM_RIGHTS (the console-socket
// protocol: payload = pty name, one fd = the pty master).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

base::Result<UniqueFd> ConnectUnix(const std::string& path);
base::Status SendFd(int sock, int fd, const std::string& payload);
// Receives one message; the fd is invalid if none came with it.
base::Result<std::pair<UniqueFd, std::string>> RecvFd(int sock);

// One message (a SOCK_SEQPACKET record) carrying `payload` and `fds` (SCM_RIGHTS; none is fine).
// Never raises SIGPIPE: a peer that is gone is an error (EPIPE).
base::Status SendFds(int sock, const std::string& payload, const std::vector<int>& fds);
struct FdMessage {
  std::string payload;
  std::vector<UniqueFd> fds;  // received close-on-exec
};
// Receives one message of at most `max_payload` bytes and `max_fds` fds; an empty payload with
// no fds is the peer's EOF. A longer message or more fds is InvalidArgument (the fds that did
// arrive are closed).
base::Result<FdMessage> RecvFds(int sock, size_t max_payload, size_t max_fds);

}  // namespace berth::sys
