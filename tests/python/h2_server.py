#!/usr/bin/env python3
"""HTTP/2 prior-knowledge echo server (python-hyper `h2`) for interop tests
of our client.

    python3 h2_server.py [CONNECTIONS]

Listens on 127.0.0.1 on a free port, prints `PORT <n>` on stdout, serves
CONNECTIONS (default 1) connections one after another, then prints a
summary line and exits: 0 if every stream was answered and no protocol
error happened, 1 otherwise.

Routes:
- `POST|PUT /echo`: the request body, collected, sent back with
  `content-length`;
- `POST|PUT /stream`: the request body streamed back as it arrives;
- `GET /big?n=N`: N bytes (default 4 MiB) of a pattern:
  bytes([i % 251 for i in range(N)]);
- anything else: its own path as the body.

The server keeps a small receive window (INITIAL_WINDOW_SIZE 16 384, the
connection window left at 65 535) and opens it (WINDOW_UPDATE) only as it
consumes the data, so a large upload only gets through if the client waits
for our WINDOW_UPDATEs; `h2` fails the connection (FLOW_CONTROL_ERROR) if
the client overruns a window. Responses are sent only within the client's
windows, so a large download only completes if the client sends
WINDOW_UPDATEs as it consumes.
"""

import select
import socket
import sys
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:
    print("FAIL: python module `h2` is missing; install it: pip install h2", flush=True)
    sys.exit(2)

DEFAULT_BIG = 4 << 20
RECV_WINDOW = 16384
IDLE_GUARD_S = 60  # a guard against hangs, not a synchronisation device


def big_body(n):
    block = bytes(i % 251 for i in range(251))
    return (block * (n // 251 + 1))[:n]


class Stream:
    def __init__(self, headers):
        h = dict(headers)
        self.method = h.get(":method")
        self.path = h.get(":path", "")
        self.route = self.path.split("?", 1)[0]
        self.query = self.path.split("?", 1)[1] if "?" in self.path else ""
        self.body = bytearray()
        self.out = bytearray()
        self.out_end = False  # end the stream once `out` is sent
        self.headers_sent = False
        self.done = False
        self.received = 0


class Conn:
    def __init__(self, sock, stats):
        self.sock = sock
        self.sock.setblocking(False)
        self.stats = stats
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        # In force once the client ACKs it (until then it may use 65 535).
        self.conn.update_settings(
            {
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECV_WINDOW,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
            }
        )
        self.streams = {}
        self.wbuf = bytearray()

    def respond(self, sid, s, extra=None):
        if not s.headers_sent:
            headers = [(":status", "200"), ("content-type", "application/octet-stream")]
            headers += extra or []
            self.conn.send_headers(sid, headers)
            s.headers_sent = True

    def on_request(self, ev):
        s = Stream(ev.headers)
        self.streams[ev.stream_id] = s
        upload = s.method in ("POST", "PUT")
        if s.route == "/stream" and upload:
            self.respond(ev.stream_id, s)
        elif not upload:
            if s.route == "/big":
                n = int(s.query[2:]) if s.query.startswith("n=") else DEFAULT_BIG
                body = big_body(n)
            else:
                body = s.path.encode()
            self.respond(ev.stream_id, s, [("content-length", str(len(body)))])
            s.out += body
        if ev.stream_ended:
            self.on_end(ev.stream_id)

    def on_data(self, ev):
        s = self.streams[ev.stream_id]
        s.received += len(ev.data)
        self.stats["bytes_in"] += len(ev.data)
        if s.route == "/stream":
            s.out += ev.data
        else:
            s.body += ev.data
        # Consumed: give the window back (h2 batches the WINDOW_UPDATEs).
        self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)

    def on_end(self, sid):
        s = self.streams[sid]
        if s.route == "/echo" and s.method in ("POST", "PUT"):
            self.respond(sid, s, [("content-length", str(len(s.body)))])
            s.out += s.body
        s.out_end = True

    def pump(self):
        for sid, s in self.streams.items():
            if s.done or not s.headers_sent:
                continue
            while s.out:
                n = min(
                    len(s.out),
                    self.conn.local_flow_control_window(sid),
                    self.conn.max_outbound_frame_size,
                )
                if n <= 0:
                    break
                self.conn.send_data(sid, bytes(s.out[:n]))
                self.stats["bytes_out"] += n
                del s.out[:n]
            if s.out_end and not s.out:
                self.conn.end_stream(sid)
                s.done = True
                self.stats["streams"] += 1

    def serve(self):
        """Until the client closes the connection (or sends GOAWAY)."""
        closing = False
        while True:
            self.pump()
            self.wbuf += self.conn.data_to_send()
            if closing and not self.wbuf:
                return
            r, w, _ = select.select(
                [self.sock], [self.sock] if self.wbuf else [], [], IDLE_GUARD_S
            )
            if not r and not w:
                raise TimeoutError(f"idle for {IDLE_GUARD_S}s")
            if w:
                try:
                    del self.wbuf[: self.sock.send(self.wbuf)]
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    pass
            if r:
                try:
                    data = self.sock.recv(1 << 16)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    return
                for ev in self.conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        self.on_request(ev)
                    elif isinstance(ev, h2.events.DataReceived):
                        self.on_data(ev)
                    elif isinstance(ev, h2.events.StreamEnded):
                        self.on_end(ev.stream_id)
                    elif isinstance(ev, h2.events.StreamReset):
                        self.stats["errors"].append(
                            f"stream {ev.stream_id} reset by client: {ev.error_code!r}"
                        )
                    elif isinstance(ev, h2.events.WindowUpdated):
                        self.stats["window_updates"] += 1
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        if ev.error_code != 0:
                            self.stats["errors"].append(
                                f"client GOAWAY {ev.error_code!r} {ev.additional_data!r}"
                            )
                        closing = True


class Errors(list):
    """A list that also reports each error on stderr as it happens (the
    test shows stderr even if it fails before reading our summary)."""

    def append(self, msg):
        print(f"h2_server.py: {msg}", file=sys.stderr, flush=True)
        super().append(msg)


def main():
    conns = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    print(f"PORT {lsock.getsockname()[1]}", flush=True)
    stats = {
        "streams": 0,
        "bytes_in": 0,
        "bytes_out": 0,
        "window_updates": 0,
        "errors": Errors(),
    }
    unanswered = 0
    for _ in range(conns):
        r, _, _ = select.select([lsock], [], [], IDLE_GUARD_S)
        if not r:
            stats["errors"].append(f"no connection within {IDLE_GUARD_S}s")
            break
        sock, _ = lsock.accept()
        c = Conn(sock, stats)
        try:
            c.serve()
        except h2.exceptions.ProtocolError as e:
            stats["errors"].append(f"protocol error: {type(e).__name__}: {e}")
            try:
                sock.setblocking(True)
                sock.sendall(c.conn.data_to_send())
            except OSError:
                pass
        except (TimeoutError, OSError) as e:
            stats["errors"].append(f"{type(e).__name__}: {e}")
        unanswered += sum(1 for s in c.streams.values() if not s.done)
        sock.close()
    errors = stats.pop("errors")
    if unanswered:
        errors.append(f"{unanswered} streams not answered")
    summary = " ".join(f"{k}={v}" for k, v in stats.items())
    if errors:
        print(f"FAIL {summary} errors={errors}", flush=True)
        sys.exit(1)
    print(f"ok {summary}", flush=True)


if __name__ == "__main__":
    main()
