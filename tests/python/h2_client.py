#!/usr/bin/env python3
"""HTTP/2 prior-knowledge client (python-hyper `h2`) for interop tests
against our server's test service (tests/tests/interop_support/mod.rs):
`POST /echo` answers the collected body, `POST /stream` streams it back as
it arrives, `GET /big` is 1 MiB of `x`.

    python3 h2_client.py PORT SCENARIO

Scenarios (each on its own connection; see SCENARIOS below): upload_echo,
stream_echo, concurrent, small_window, zero_window.

The client keeps to the flow-control rules: it sends DATA only within the
peer's stream and connection windows (h2 raises if it did not) and opens its
own windows (WINDOW_UPDATE) only as it consumes received data; h2 also
fails the connection if the server sends more than our windows allow.

Prints `ok SCENARIO ...` and exits 0 on success; prints `FAIL ...` and exits
1 otherwise. A missing `h2` module exits 2 with the install hint.
"""

import random
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

BIG_LEN = 1 << 20
DEADLINE_S = 60  # a guard against hangs, not a synchronisation device


def pattern(n, seed):
    """Deterministic pseudo-random bytes, different per seed."""
    return random.Random(seed).randbytes(n)


def fail(msg):
    print(f"FAIL {msg}", flush=True)
    sys.exit(1)


class Stream:
    def __init__(self, method, path, body, expect):
        self.method = method
        self.path = path
        self.body = body or b""
        self.sent = 0
        self.expect = expect
        self.status = None
        self.headers = {}
        self.data = bytearray()
        self.ended = False
        self.request_ended = False


class Client:
    def __init__(self, port, initial_window=None, manual_window=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setblocking(False)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        if initial_window is not None:
            self.conn.update_settings(
                {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window}
            )
        self.manual_window = manual_window
        self.out = bytearray()
        self.streams = {}
        self.window_updates_received = 0
        self.window_update_bytes_sent = 0
        self.remote_initial_window = 65535
        self.settings_acked = False
        self.max_data_frame = 0

    def request(self, method, path, body=None, expect=None):
        sid = self.conn.get_next_available_stream_id()
        s = Stream(method, path, body, expect)
        self.streams[sid] = s
        headers = [
            (":method", method),
            (":path", path),
            (":scheme", "http"),
            (":authority", "127.0.0.1"),
        ]
        if body is not None:
            headers.append(("content-type", "application/octet-stream"))
            headers.append(("content-length", str(len(body))))
        self.conn.send_headers(sid, headers, end_stream=body is None)
        s.request_ended = body is None
        return sid

    def pump_bodies(self):
        """Queues as much request body as the windows allow (round robin)."""
        progress = True
        while progress:
            progress = False
            for sid, s in self.streams.items():
                if s.request_ended:
                    continue
                left = len(s.body) - s.sent
                n = min(
                    left,
                    self.conn.local_flow_control_window(sid),
                    self.conn.max_outbound_frame_size,
                )
                if n > 0:
                    self.conn.send_data(sid, s.body[s.sent : s.sent + n])
                    s.sent += n
                    progress = True
                if s.sent == len(s.body):
                    self.conn.end_stream(sid)
                    s.request_ended = True

    def handle(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            s = self.streams[ev.stream_id]
            for k, v in ev.headers:
                if k == ":status":
                    s.status = int(v)
                else:
                    s.headers[k] = v
        elif isinstance(ev, h2.events.DataReceived):
            s = self.streams[ev.stream_id]
            s.data += ev.data
            self.max_data_frame = max(self.max_data_frame, len(ev.data))
            if not self.manual_window:
                self.ack(ev.stream_id, ev.flow_controlled_length)
        elif isinstance(ev, h2.events.StreamEnded):
            self.streams[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            fail(f"stream {ev.stream_id} reset by server: {ev.error_code!r}")
        elif isinstance(ev, h2.events.ConnectionTerminated):
            if not all(s.ended for s in self.streams.values()):
                fail(
                    f"server sent GOAWAY {ev.error_code!r} "
                    f"(last stream {ev.last_stream_id}) with streams open"
                )
        elif isinstance(ev, h2.events.WindowUpdated):
            self.window_updates_received += 1
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            c = ev.changed_settings.get(h2.settings.SettingCodes.INITIAL_WINDOW_SIZE)
            if c is not None:
                self.remote_initial_window = c.new_value
        elif isinstance(ev, h2.events.SettingsAcknowledged):
            self.settings_acked = True

    def ack(self, sid, n):
        """Consumed `n` bytes: h2 sends WINDOW_UPDATEs when enough accrue."""
        if n:
            self.conn.acknowledge_received_data(n, sid)
            self.window_update_bytes_sent += n

    def run(self, on_event=None):
        deadline = time.monotonic() + DEADLINE_S
        while not all(s.ended for s in self.streams.values()):
            self.pump_bodies()
            self.out += self.conn.data_to_send()
            left = deadline - time.monotonic()
            if left <= 0:
                pending = {
                    sid: (s.sent, len(s.body), len(s.data))
                    for sid, s in self.streams.items()
                    if not s.ended
                }
                fail(f"timed out; unfinished (sent, body, received): {pending}")
            r, w, _ = select.select([self.sock], [self.sock] if self.out else [], [], left)
            if w:
                try:
                    n = self.sock.send(self.out)
                    del self.out[:n]
                except BlockingIOError:
                    pass
            if r:
                try:
                    data = self.sock.recv(1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    fail("server closed the connection with streams open")
                for ev in self.conn.receive_data(data):
                    self.handle(ev)
                    if on_event:
                        on_event(self, ev)

    def close(self):
        self.conn.close_connection()
        self.sock.setblocking(True)
        self.sock.sendall(self.out + self.conn.data_to_send())
        self.sock.close()

    def check(self, sid):
        s = self.streams[sid]
        if s.status != 200:
            fail(f"{s.method} {s.path}: status {s.status}")
        if bytes(s.data) != s.expect:
            at = next(
                (i for i, (a, b) in enumerate(zip(s.data, s.expect)) if a != b),
                min(len(s.data), len(s.expect)),
            )
            fail(
                f"{s.method} {s.path}: body of {len(s.data)} bytes, want "
                f"{len(s.expect)}; first difference at {at}"
            )
        return s


def upload_echo(port):
    """4 MiB up to /echo (collected, then answered with content-length)."""
    body = pattern(4 * BIG_LEN, 1)
    c = Client(port)
    sid = c.request("POST", "/echo", body, body)
    c.run()
    s = c.check(sid)
    if s.headers.get("content-length") != str(len(body)):
        fail(f"content-length {s.headers.get('content-length')!r}")
    # The upload is larger than any window the server granted at first: it
    # must have sent WINDOW_UPDATEs as it consumed the body.
    if len(body) <= c.remote_initial_window or c.window_updates_received == 0:
        fail(
            f"no flow control exercised: initial window {c.remote_initial_window}, "
            f"{c.window_updates_received} WINDOW_UPDATEs received"
        )
    c.close()
    return f"4 MiB echoed; {c.window_updates_received} WINDOW_UPDATEs received"


def stream_echo(port):
    """4 MiB up to /stream: streamed back while still uploading."""
    body = pattern(4 * BIG_LEN + 3, 2)
    first_data_at = []

    def watch(c, ev):
        if isinstance(ev, h2.events.DataReceived) and not first_data_at:
            first_data_at.append(c.streams[ev.stream_id].sent)

    c = Client(port)
    sid = c.request("POST", "/stream", body, body)
    c.run(watch)
    c.check(sid)
    if not first_data_at or first_data_at[0] >= len(body):
        fail(f"response data only after the whole upload ({first_data_at})")
    c.close()
    return (
        f"4 MiB streamed back, first echoed bytes after {first_data_at[0]} sent; "
        f"{c.window_updates_received} WINDOW_UPDATEs received"
    )


def concurrent(port):
    """Ten streams at once, bodies interleaved frame by frame."""
    c = Client(port)
    sids = []
    for i in range(4):
        b = pattern(BIG_LEN + i, 10 + i)
        sids.append(c.request("POST", "/stream", b, b))
    for i in range(2):
        b = pattern(BIG_LEN // 2 + i, 20 + i)
        sids.append(c.request("POST", "/echo", b, b))
    for _ in range(3):
        sids.append(c.request("GET", "/big", None, b"x" * BIG_LEN))
    sids.append(c.request("GET", "/", None, b"Hello, World!"))
    c.run()
    for sid in sids:
        c.check(sid)
    c.close()
    return f"{len(sids)} concurrent streams intact"


def small_window(port):
    """INITIAL_WINDOW_SIZE 1000: the server splits DATA to fit and waits for
    our WINDOW_UPDATEs (h2 fails the connection on any overrun)."""
    c = Client(port, initial_window=1000)
    sids = [c.request("GET", "/big", None, b"x" * BIG_LEN) for _ in range(2)]
    b = pattern(300_000, 30)
    sids.append(c.request("POST", "/stream", b, b))
    c.run()
    for sid in sids:
        c.check(sid)
    if not c.settings_acked:
        fail("server never acknowledged our SETTINGS")
    if c.max_data_frame > 1000:
        fail(f"DATA frame of {c.max_data_frame} bytes > window 1000")
    c.close()
    return f"window 1000: largest DATA frame {c.max_data_frame}"


def zero_window(port):
    """INITIAL_WINDOW_SIZE 0: no DATA may come until we open the stream's
    window; we open it only once the response HEADERS are in."""
    c = Client(port, initial_window=0, manual_window=True)
    opened = []

    def on_event(c, ev):
        if isinstance(ev, h2.events.DataReceived):
            if not opened:
                fail("DATA before any WINDOW_UPDATE with initial window 0")
            # The connection window (65 535) is ours too: give it back.
            c.conn.increment_flow_control_window(ev.flow_controlled_length)
        if isinstance(ev, h2.events.ResponseReceived) and not opened:
            opened.append(ev.stream_id)
            c.conn.increment_flow_control_window(BIG_LEN, stream_id=ev.stream_id)

    sid = c.request("GET", "/big", None, b"x" * BIG_LEN)
    c.run(on_event)
    c.check(sid)
    c.close()
    return "window opened from 0 after HEADERS; 1 MiB intact"


SCENARIOS = {
    "upload_echo": upload_echo,
    "stream_echo": stream_echo,
    "concurrent": concurrent,
    "small_window": small_window,
    "zero_window": zero_window,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        print(f"usage: h2_client.py PORT {{{','.join(SCENARIOS)}}}", file=sys.stderr)
        sys.exit(64)
    port, name = int(sys.argv[1]), sys.argv[2]
    try:
        summary = SCENARIOS[name](port)
    except h2.exceptions.ProtocolError as e:
        fail(f"{name}: HTTP/2 protocol error: {type(e).__name__}: {e}")
    print(f"ok {name}: {summary}", flush=True)


if __name__ == "__main__":
    main()
