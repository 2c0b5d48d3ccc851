// Sync protocol framing.
#include "runtime/sync.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "sys/socket.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

base::Status SendSync(int sock, SyncType type, const std::string& payload, int fd) {
  std::string packet(sizeof(uint32_t), '\0');
  uint32_t t = static_cast<uint32_t>(type);
  std::memcpy(packet.data(), &t, sizeof t);
  packet += payload;
  if (fd >= 0) return sys::SendFd(sock, fd, packet);
  while (::send(sock, packet.data(), packet.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return Fail(Error::FromErrno(errno, "send to container init"));
  }
  return {};
}

base::Result<SyncMessage> RecvSync(int sock) {
  auto [fd, data] = TRY(sys::RecvFd(sock));
  if (data.size() < sizeof(uint32_t))
    return Fail(Error::Unavailable("container init exited unexpectedly"));
  uint32_t t;
  std::memcpy(&t, data.data(), sizeof t);
  return SyncMessage{static_cast<SyncType>(t), data.substr(sizeof t), std::move(fd)};
}

base::Status SendToInit(int sock, SyncType type, const std::string& payload) {
  auto st = SendSync(sock, type, payload);
  if (st) return st;
  // The peer is gone: its last words (a kError) are still queued on our end.
  auto msg = RecvSync(sock);
  if (msg && msg->type == SyncType::kError) return Fail(Error::Internal(msg->payload));
  return st;
}

base::Result<SyncMessage> ExpectSync(int sock, SyncType type) {
  auto msg = TRY(RecvSync(sock));
  if (msg.type == SyncType::kError) return Fail(Error::Internal(msg.payload));
  if (msg.type != type)
    return Fail(
        Error::Internal(fmt::format("sync: expected message {}, got {}",
                                    static_cast<uint32_t>(type), static_cast<uint32_t>(msg.type))));
  return msg;
}

CpuPin::CpuPin() {
  CPU_ZERO(&saved_);
  if (::sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
  int cpu = ::sched_getcpu();
  if (cpu < 0 || cpu >= CPU_SETSIZE || CPU_COUNT(&saved_) <= 1) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  pinned_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
}

CpuPin::~CpuPin() {
  if (pinned_) (void)::sched_setaffinity(0, sizeof saved_, &saved_);
}

}  // namespace berth::runtime
