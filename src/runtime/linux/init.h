// The container init: the code a freshly cloned child runs, in the runtime's single-threaded
// process, between clone() and execve() of the container's command. No re-exec of the runtime
// binary happens in between. It talks to the parent over the sync socket (runtime/sync.h) and
// never returns: it execs or reports an error and exits.
#pragma once

#include <sched.h>

#include <string>

#include "oci/runtime_config.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/rootfs.h"
#include "runtime/linux/seccomp.h"

namespace berth::runtime::linux {

struct InitConfig {
  const oci::Spec* spec = nullptr;
  const oci::Process* process = nullptr;  // spec->process for create; the exec process otherwise
  NamespacePlan* namespaces = nullptr;
  RootfsContext rootfs;
  int sync_fd = -1;
  int fifo_fd = -1;  // create: block here until `start`; -1: wait for kStart on sync_fd
  bool wait_for_start = true;
  bool no_pivot = false;
  int preserve_fds = 0;
  bool exec_mode = false;  // join a running container: no rootfs work, namespaces already set
  const CompiledFilter* seccomp = nullptr;
  // The CPU affinity to give back before the container's execve: the runtime pins itself (and so
  // the init it clones) to one CPU while the two exchange their setup messages (see
  // PinToCurrentCpu). Null: leave the affinity alone.
  const cpu_set_t* restore_affinity = nullptr;
  // State passed to createContainer/startContainer hooks; the pid (as seen from the host) comes
  // with the Go message, since inside a new pid namespace the init only knows itself as 1.
  oci::State hook_state;
};

[[noreturn]] void RunInit(InitConfig& config);

}  // namespace berth::runtime::linux
