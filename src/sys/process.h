// Processes: fork-style clone with namespace flags, waiting, liveness checks that survive pid
// reuse (start time from /proc/<pid>/stat), and signal names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::sys {

// clone(2) with fork semantics (no new stack) and extra CLONE_* flags. Returns 0 in the child.
// The caller must be single-threaded: the child continues with a copy of this process.
base::Result<pid_t> CloneProcess(unsigned long flags);
// Like CloneProcess, but the child starts inside the cgroup v2 directory cgroup_fd
// (clone3 CLONE_INTO_CGROUP, Linux 5.7): no migration afterwards, so no write lock on
// cgroup_threadgroup_rwsem and its RCU grace period. Fails with the kernel's errno (ENOSYS,
// EINVAL on old kernels or v1 fds) so callers can fall back.
base::Result<pid_t> CloneProcessInto(unsigned long flags, int cgroup_fd);
// vfork-style clone with extra CLONE_* flags: the child runs fn(arg) on a stack of its own, in
// this process's memory (CLONE_VM), and the caller is suspended until the child execs or exits
// (CLONE_VFORK); then this returns the child's pid. Nothing is copied or torn down: on the
// reference VM, where every page touched in a fresh address space costs tens of microseconds,
// that is ~1 ms less than CloneProcess before the child even starts its work.
// The contract: the caller is single-threaded (nothing else can run on the shared memory); fn
// never returns into the caller's frames (it execs or _exits; returning ends the child with
// its result as exit status); what fn changes in memory the caller sees afterwards.
// The unshare/setns of a user namespace fails in such a child (the kernel wants a private mm).
base::Result<pid_t> CloneVfork(unsigned long flags, int (*fn)(void*), void* arg);
// Maps the stack CloneVfork's children run on and touches its top pages, ahead of the first
// CloneVfork, for a process that waits now and clones later (the standby shim).
void PrepareVforkStack();
// Waits for pid (retrying EINTR); returns the raw wait status.
base::Result<int> WaitPid(pid_t pid, int options = 0);
// Shell-style exit code: status for a normal exit, 128+signal for a kill.
int ExitCodeFromWaitStatus(int status);
// Field 22 of /proc/<pid>/stat (clock ticks since boot); NotFound if the process is gone (or
// has exited and awaits its reaper, unless even_if_exited).
base::Result<uint64_t> ProcessStartTime(pid_t pid, bool even_if_exited = false);
// True if pid exists, is not a zombie, and (when start_time != 0) started at start_time.
bool ProcessAlive(pid_t pid, uint64_t start_time);
// "TERM", "SIGTERM", "15", "sigkill" -> number. InvalidArgument for junk.
base::Result<int> ParseSignal(const std::string& s);
base::Result<UniqueFd> PidfdOpen(pid_t pid);

// Starts args[0] (a PATH lookup when `search_path` and it has no '/') with stdin from
// /dev/null, stdout on `out`, stderr on `err`, extra_fds[i] at fd 3+i, our environment and an
// empty signal mask (berthd blocks its stop signals for sigwait; children must not inherit
// that). extra_fds must not lie in 3..3+size (a dup2 target would overwrite a source not yet
// copied). Returns the child's pid; the caller reaps it.
base::Result<pid_t> SpawnProcess(const std::vector<std::string>& args, int out, int err,
                                 const std::vector<int>& extra_fds = {}, bool search_path = true);
// Same, executing the file at exec_path (e.g. FdPath of an OpenReadOnlyView) with args as argv.
base::Result<pid_t> SpawnProcessAt(const std::string& exec_path,
                                   const std::vector<std::string>& args, int out, int err,
                                   const std::vector<int>& extra_fds = {});

// What a command printed and how it ended (exit code, or 128+signal).
struct CommandOutput {
  int status = -1;
  std::string out, err;
};
// Runs argv (a PATH lookup when args[0] has no '/') with stdin from /dev/null, an empty signal
// mask and our environment, and collects stdout and stderr. For short commands that write
// little to stderr (stdout is read to its end first). Fails only when it cannot be started.
base::Result<CommandOutput> RunCapture(const std::vector<std::string>& args);

}  // namespace berth::sys
