// The per-container monitor. One shim per container, single-threaded, one epoll loop: it
// launches the container with the runtime library in-process (so it is the init's parent),
// owns its stdio, writes the json-file log, serves attach and control clients, reaps the init,
// records exit.json and removes the container.
//
// State dir protocol (what berthd reads, also after a restart of its own):
//   shim.pid      the shim's pid, written before the container is created, removed on exit
//   attach.sock   SOCK_STREAM; each client gets the output from the moment it connects:
//                 without a tty as Docker's multiplexed frames ([1|2, 0, 0, 0, size be32] +
//                 payload), with a tty as raw bytes. Bytes a client sends go to the container's
//                 stdin (--stdin); a client's EOF (shutdown SHUT_WR) closes that stdin with
//                 --stdin-once; the detach keys end that client's session.
//   control.sock  SOCK_STREAM, text lines, one reply line each ("ok" or "error <text>"):
//                 "resize H W" (tty), "kill SIG" (number or name; to the init),
//                 "close-stdin".
//   exit.json     {"exit_code":N,"signal":S,"oom_killed":B,"finished_at":"RFC3339Nano"},
//                 written atomically once the container is gone and removed (unless --keep).
// So: exit.json present = finished; else a live shim.pid = running.
//
// Exec mode (--exec --process p.json): the same protocol for one more process run in the
// running container (`docker exec`); the container is neither created nor removed. Also
//   exec.pid      the process's host pid, written before the shim reports ready
// exit.json is written before the attach clients are closed (after everything they were sent
// has been flushed), so a client that reads EOF finds the exit code; output is not read while
// a client has more than a few hundred KiB unsent, so a slow reader loses nothing.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "shim/options.h"

namespace berth::shim {

// Detaches from the caller the way a daemon should (fork, setsid, fork, cwd /, stdio on
// /dev/null, other fds closed). Returns only in the daemon, with the write end of a pipe the
// original process is blocked on: RunShim reports "ok" or the setup error on it, and the
// original process exits 0 or prints the error and exits 1. Errors before the fork: exits 1.
// `keep` are inherited fds (--attach-fd) that survive the closing.
int Daemonize(const std::vector<int>& keep = {});

// Runs the shim to the end; returns the process exit status (0 once exit.json is written).
// ready_fd (closed here; -1 for none) receives "ok\n" once the container runs, or the error.
int RunShim(ShimOptions options, int ready_fd);

}  // namespace berth::shim
