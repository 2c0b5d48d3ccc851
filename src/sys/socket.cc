// Unix sockets and SCM_RIGHTS.
#include "sys/socket.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::sys {

using base::Error;
using base::Fail;

base::Result<UniqueFd> ConnectUnix(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Fail(Error::InvalidArgument(fmt::format("socket path too long: \"{}\"", path)));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::FromErrno(errno, "socket"));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Fail(Error::FromErrno(errno, fmt::format("connect \"{}\"", path)));
  return fd;
}

base::Status SendFd(int sock, int fd, const std::string& payload) {
  // A message carries at least one byte: an empty payload is sent as one NUL.
  return SendFds(sock, payload.empty() ? std::string(1, '\0') : payload, {fd});
}

base::Result<std::pair<UniqueFd, std::string>> RecvFd(int sock) {
  char buf[4096];
  struct iovec iov = {buf, sizeof buf};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "recvmsg (SCM_RIGHTS)"));
  }
  UniqueFd fd;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int f;
      std::memcpy(&f, CMSG_DATA(c), sizeof f);
      fd.Reset(f);
    }
  }
  return std::make_pair(std::move(fd), std::string(buf, static_cast<size_t>(n)));
}

base::Status SendFds(int sock, const std::string& payload, const std::vector<int>& fds) {
  std::string data = payload;
  struct iovec iov = {data.data(), data.size()};
  std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "sendmsg"));
  }
  return {};
}

base::Result<FdMessage> RecvFds(int sock, size_t max_payload, size_t max_fds) {
  FdMessage out;
  out.payload.resize(max_payload);
  struct iovec iov = {out.payload.data(), out.payload.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(max_fds, 1)));
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "recvmsg"));
  }
  out.payload.resize(static_cast<size_t>(n));
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      out.fds.emplace_back(f);
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || out.fds.size() > max_fds)
    return Fail(Error::InvalidArgument(fmt::format(
        "message longer than {} bytes or with more than {} fds", max_payload, max_fds)));
  return out;
}

}  // namespace berth::sys
