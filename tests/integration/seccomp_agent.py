#!/usr/bin/env python3
"""seccomp_agent.py SOCKET OUT: a minimal seccomp user-notification agent, for tests.

Listens on SOCKET (unix SOCK_STREAM) for the runtime's one message (runtime-spec config-linux.md:
payload = ContainerProcessState JSON, SCM_RIGHTS = the listener fd), writes the JSON to OUT and
"fd" or "nofd" to OUT.fd, then closes the listener: notified syscalls then fail with ENOSYS,
which the test observes from inside the container.
"""
import os
import socket
import sys


def main() -> int:
    path, out = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + ".tmp")
    srv.listen(1)
    os.rename(path + ".tmp", path)
    conn, _ = srv.accept()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 4)
    conn.close()
    with open(out, "wb") as f:
        f.write(msg)
    with open(out + ".fd", "w") as f:
        f.write("fd" if fds else "nofd")
    for fd in fds:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
