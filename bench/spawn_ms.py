#!/usr/bin/env python3
"""spawn_ms.py [--out FILE] CMD [ARG...]: run CMD once and print its wall time in ms.

The benchmarks time one process per run. Timing it from bash costs bash a fork (a copy of
bash's page tables) for the command, and `$(...)` around the clock reads costs two more; on this
VM (PVM guest, ~10 us per page fault) that added ~4.5 ms to every measured run, whatever the
command, which hides differences between fast commands. This helper starts CMD with
posix_spawn (glibc uses clone(CLONE_VM|CLONE_VFORK): no page-table copy) and reads a monotonic
clock right before the spawn and right after the reap, so what is measured is CMD's own
start, run and exit (plus ~0.2 ms of spawn floor, see runtime_run.sh's floor line).

stdin is /dev/null; stdout and stderr go to FILE (default /dev/null). The exit status is CMD's
(128 + signal number when a signal ended it); the time is printed either way.
"""
import os
import sys
import time


def main(argv):
    out = os.devnull
    if len(argv) >= 2 and argv[0] == "--out":
        out, argv = argv[1], argv[2:]
    if not argv:
        sys.stderr.write("usage: spawn_ms.py [--out FILE] CMD [ARG...]\n")
        return 2
    null_in = os.open(os.devnull, os.O_RDONLY)
    sink = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    actions = [
        (os.POSIX_SPAWN_DUP2, null_in, 0),
        (os.POSIX_SPAWN_DUP2, sink, 1),
        (os.POSIX_SPAWN_DUP2, sink, 2),
    ]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    print("%.3f" % ((t1 - t0) / 1e6))
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
