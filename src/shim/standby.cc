// The standby shim: daemonize, wait for an assignment, run it.
#include "shim/standby.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "shim/options.h"
#include "shim/shim.h"
#include "sys/file.h"
#include "sys/socket.h"

namespace berth::shim {

std::string EncodeAssignment(const std::vector<std::string>& args) {
  std::string record;
  for (const auto& a : args) {
    record += a;
    record += '\0';
  }
  return record;
}

std::vector<std::string> DecodeAssignment(std::string_view record) {
  std::vector<std::string> args;
  while (!record.empty()) {
    size_t end = record.find('\0');
    if (end == std::string_view::npos) end = record.size();
    args.emplace_back(record.substr(0, end));
    record.remove_prefix(std::min(end + 1, record.size()));
  }
  return args;
}

int RunStandby() {
  int ready = Daemonize({kStandbyFd});
  // The spawner only waits for the daemon to exist: from here on, berthd talks to us on the
  // socket.
  (void)sys::WriteAll(ready, "ok\n");
  ::close(ready);
  auto message = sys::RecvFds(kStandbyFd, kMaxAssignmentBytes, kMaxAssignmentFds);
  if (!message) {
    (void)sys::WriteAll(kStandbyFd, message.error().message() + "\n");
    return 2;
  }
  if (message->payload.empty() && message->fds.empty()) return 0;  // dropped before any work
  auto options = ParseOptions(DecodeAssignment(message->payload));
  if (!options) {
    (void)sys::WriteAll(kStandbyFd, options.error().message() + "\n");
    return 2;
  }
  // berthd sends absolute paths (a relative one would resolve against the daemon's "/").
  if (auto abs = MakeAbsolute(*options); !abs) {
    (void)sys::WriteAll(kStandbyFd, abs.error().message() + "\n");
    return 2;
  }
  for (auto& fd : message->fds) options->attach_fds.push_back(fd.Release());
  return RunShim(*options, kStandbyFd);
}

}  // namespace berth::shim
