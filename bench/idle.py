#!/usr/bin/env python3
"""Holds N idle connections open to a server, for bench/run.sh's memory figure.

    idle.py HOST PORT N h1|h2

h1: each connection completes one `GET /` (keep-alive) and then stays idle.
h2: each connection sends the preface and an empty SETTINGS, reads until the
server's SETTINGS, ACKs it, and then stays idle (no stream).

Prints `ready` once every connection is in that state, then waits for a line
(or EOF) on stdin and closes them all. Exits 1 with a message if a connection
fails or the server does not answer within the timeout.
"""

import socket
import sys
import time

TIMEOUT = 20.0
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


def read_until(sock, done):
    """Reads until done(buffer) is true; fails on EOF."""
    buf = b""
    while not done(buf):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return buf


def has_server_settings(buf):
    """True once buf holds a whole SETTINGS frame without ACK."""
    at = 0
    while len(buf) - at >= 9:
        length = int.from_bytes(buf[at:at + 3], "big")
        kind, flags = buf[at + 3], buf[at + 4]
        if len(buf) - at - 9 < length:
            return False
        if kind == 4 and not flags & 1:
            return True
        at += 9 + length
    return False


def open_one(host, port, proto):
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    if proto == "h1":
        sock.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
        read_until(sock, lambda b: b.endswith(b"Hello, World!"))
    else:
        sock.sendall(PREFACE + SETTINGS)
        read_until(sock, has_server_settings)
        sock.sendall(SETTINGS_ACK)
    return sock


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("h1", "h2"):
        sys.exit(__doc__)
    host, port, n, proto = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    socks = []
    start = time.monotonic()
    try:
        for _ in range(n):
            socks.append(open_one(host, port, proto))
    except OSError as e:
        sys.exit(f"idle.py: connection {len(socks) + 1} of {n}: {e}")
    print("ready", round(time.monotonic() - start, 2), flush=True)
    sys.stdin.readline()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
