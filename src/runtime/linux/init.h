// The container init: the code a freshly cloned child runs, in the runtime's single-threaded
// process, between clone() and execve() of the container's command. No re-exec of the runtime
// binary happens in between. It talks to the parent over the sync socket (runtime/sync.h), or,
// when the parent is suspended until it execs (InitConfig::parent_suspended), does the parent's
// part itself; either way it never returns: it execs or reports an error and exits.
#pragma once

#include <sched.h>

#include <functional>
#include <string>
#include <string_view>

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
  // The parent is suspended until this init execs or exits (sys::CloneVfork: the init runs in
  // the parent's memory): no message can be answered, so the init does the parent's part of
  // the setup itself with the two steps below, skips Go/Ready/Start, and leaves what it has to
  // say (a pty master, an error) queued on sync_fd. Only for `run`/launch without user
  // namespaces, hooks that need the init to wait, or a seccomp listener.
  bool parent_suspended = false;
  std::function<base::Status()> join_cgroup;      // moves this process into its cgroup(s)
  std::function<base::Status()> apply_resources;  // writes linux.resources
  // Set just before the container's execve and cleared if it fails: how the resumed parent
  // tells an exec from an exit (both close sync_fd).
  bool exec_started = false;
  // Prelaunch (CreateOptions::prelaunch_fd), suspended parent only: "ready" goes there once
  // all that can fail before the execve has run, then a record is waited for (not read);
  // kNoStart is the error when none comes.
  int prelaunch_fd = -1;
  int prelaunch_wait_ms = 0;
  // State passed to createContainer/startContainer hooks; the pid (as seen from the host) comes
  // with the Go message, since inside a new pid namespace the init only knows itself as 1.
  oci::State hook_state;
};

// The init's error when a prelaunched container got no start record (EOF or time out).
inline constexpr std::string_view kNoStart = "the prelaunched container got no start";

[[noreturn]] void RunInit(InitConfig& config);

}  // namespace berth::runtime::linux
