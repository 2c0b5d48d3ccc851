// The parent <-> container-init protocol over a SOCK_SEQPACKET socketpair. Each message is one
// packet: a fixed header and an optional text payload; a pty master travels as SCM_RIGHTS.
// The init never blocks the parent for long: it reports an error and exits on any failure.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::runtime {

enum class SyncType : uint32_t {
  kGo = 1,            // parent -> init: ids mapped; continue (the cgroup join runs meanwhile)
  kRunHooks = 2,      // init -> parent: rootfs prepared; apply limits, run prestart/createRuntime
  kHooksDone = 3,     // parent -> init
  kPty = 4,           // init -> parent: the pty master (fd attached)
  kReady = 5,         // init -> parent: all set up; waiting for start
  kError = 6,         // init -> parent: payload is the error text; the init exits
  kStart = 7,         // parent -> init: exec now (used by `run`; `create` uses the exec fifo)
  kCgroupDone = 8,    // parent -> init: joined the cgroup and applied limits
  kSeccompFd = 9,     // init -> parent: the seccomp user-notification listener (fd attached)
  kSeccompDone = 10,  // parent -> init: the listener went to linux.seccomp.listenerPath
};

struct SyncMessage {
  SyncType type;
  std::string payload;
  sys::UniqueFd fd;
};

base::Status SendSync(int sock, SyncType type, const std::string& payload = "", int fd = -1);
// Blocks for the next message. EOF (the peer exited) is Unavailable.
base::Result<SyncMessage> RecvSync(int sock);
// Sends to the init; if it has already died, returns the error it reported before exiting.
base::Status SendToInit(int sock, SyncType type, const std::string& payload = "");
// Receives a message and checks its type; a kError from the peer becomes that error.
base::Result<SyncMessage> ExpectSync(int sock, SyncType type);

// Pins the calling process to the CPU it runs on, and gives the previous affinity back when
// destroyed. The runtime and the init it clones trade half a dozen setup messages; on a small VM
// each one that crosses CPUs has to wake a halted vCPU, while on one CPU it is a plain context
// switch (A/B on the reference VM: 1.2 ms less per `run`). The init inherits the pin and gives
// its process the saved mask back (InitConfig::restore_affinity) before the execve.
class CpuPin {
 public:
  CpuPin();
  ~CpuPin();
  CpuPin(const CpuPin&) = delete;
  CpuPin& operator=(const CpuPin&) = delete;
  // The affinity to restore, or null when nothing was pinned.
  const cpu_set_t* saved() const { return pinned_ ? &saved_ : nullptr; }

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
};

}  // namespace berth::runtime
