#!/usr/bin/env python3
"""recvtty.py SOCKET [OUT]: the caller's end of the runtime's --console-socket, for tests.

Listens on a unix SOCK_STREAM socket at SOCKET (a path, as conmon and containerd's shim do),
accepts one connection and receives one message: payload = the pty name, SCM_RIGHTS = the pty
master (runc docs/terminals.md). Prints the name on stderr, then copies what the container writes
to its terminal into OUT (default: stdout) until the pty's last slave closes (EIO on the master).
Exits 1 if the message carries no fd. Like runc's contrib/cmd/recvtty, minus the interactivity.
"""
import errno
import os
import socket
import sys


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    out = open(sys.argv[2], "wb", buffering=0) if len(sys.argv) == 3 else sys.stdout.buffer

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path + ".tmp"
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, path)  # the path appears only once it accepts connections
    conn, _ = srv.accept()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
    conn.close()
    srv.close()
    os.unlink(path)
    if not fds:
        print("recvtty: message without a file descriptor", file=sys.stderr)
        return 1
    master = fds[0]
    print("recvtty: pty " + msg.decode(errors="replace"), file=sys.stderr, flush=True)

    while True:
        try:
            data = os.read(master, 4096)
        except OSError as e:
            if e.errno == errno.EIO:  # every slave fd closed: the container is gone
                break
            raise
        if not data:
            break
        out.write(data)
        out.flush()
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
