// The foreground side of `run` and `exec`: forward signals to the container process, proxy a
// pty between the caller's terminal and the container (raw mode, window size), and return the
// process's exit code (128+signal when killed).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::runtime {

// Blocks the signals the foreground loop forwards; call before clone so none is lost. The child
// unblocks them. Returns the set for WaitForeground.
sigset_t BlockForwardedSignals();
void RestoreSignals();
base::Result<int> WaitForeground(pid_t pid, const sigset_t& signals, sys::UniqueFd pty_master);

}  // namespace berth::runtime
