#!/usr/bin/env python3
"""Hostile WebSocket peers against roam-testbed-server (ws://).

    ws_hostile.py PATH/TO/roam-testbed-server

One server listens on tcp, unix and ws at once (and a second ws path with an
Origin allow-list). Each bad peer must be ended cleanly: a plain HTTP error
for a bad upgrade, a roam Goodbye plus a WebSocket close code for bad frames
once the session runs, a timeout for a peer that stalls. Between the cases a
good client (plain raw frames) keeps calling echo, and the server's memory
stays bounded (a 4 MiB message is refused from its header).
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "conformance"))

import roamwire as w  # noqa: E402
import wsraw  # noqa: E402

ECHO = 0x9AABC4BA61FD5DF3
failures = []
passed = 0


def check(cond: bool, what: str) -> None:
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, binary: str):
        self.tmp = tempfile.mkdtemp(prefix="roam-ws-")
        self.unix = os.path.join(self.tmp, "s.sock")
        args = [binary, "127.0.0.1:0", f"unix:{self.unix}", "ws://127.0.0.1:0/roam"]
        # Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
        # default) and would count as growth: keep it small for the RSS checks.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.addrs = [self.proc.stdout.readline().split()[-1] for _ in range(3)]
        self.ws_port = int(self.addrs[2].rsplit(":", 1)[1].split("/")[0])
        # a second server whose ws listener accepts one Origin only
        self.proc2 = subprocess.Popen([binary, "--ws-origins", "https://good.example, http://x",
                                       "ws://127.0.0.1:0/"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        a2 = self.proc2.stdout.readline().split()[-1]
        self.ws2_port = int(a2.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        for p in (self.proc, self.proc2):
            p.terminate()
            try:
                check(p.wait(10) == 0, "server exits 0 after SIGTERM")
            except subprocess.TimeoutExpired:
                p.kill()
                check(False, "server exits after SIGTERM")


def hello() -> bytes:
    return w.encode_message(w.Hello(1 << 20, 64 << 10))


def session(port: int) -> wsraw.WsSocket:
    """A good client: upgrade, Hello exchange."""
    ws = wsraw.connect("127.0.0.1", port, "/roam")
    ws.send_binary(hello())
    op, payload = ws.recv_message(5)
    check(op == wsraw.OP_BINARY and isinstance(w.decode_message(payload), w.Hello),
          "the server's first message is a binary Hello")
    return ws


def echo(ws: wsraw.WsSocket, rid: int, text: str) -> bool:
    ws.send_binary(w.encode_message(w.Request(0, rid, ECHO, w.enc_str(text))))
    while True:
        m = ws.recv_message(5)
        if m is None or m[0] != wsraw.OP_BINARY:
            return False
        msg = w.decode_message(m[1])
        if isinstance(msg, w.Response) and msg.request_id == rid:
            return msg.payload == b"\x00" + w.enc_str(text)


def expect_goodbye_close(ws: wsraw.WsSocket, rule: str, code: int, what: str) -> None:
    """A binary Goodbye starting with rule, then a close frame with code, then EOF."""
    got_goodbye = None
    close_code = None
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            m = ws.recv_message(deadline - time.monotonic())
            if m is None:
                break
            op, payload = m
            if op == wsraw.OP_BINARY:
                msg = w.decode_message(payload)
                if isinstance(msg, w.Goodbye):
                    got_goodbye = msg.reason
            elif op == wsraw.OP_CLOSE:
                close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                break
        eof = ws.recv_frame(3) is None
    except (OSError, wsraw.WsError) as e:
        check(False, f"{what}: {e}")
        return
    check(got_goodbye is not None and got_goodbye.startswith(rule),
          f"{what}: Goodbye {rule!r} (got {got_goodbye!r})")
    check(close_code == code, f"{what}: close code {code} (got {close_code})")
    check(eof, f"{what}: the server closes the connection")


def http_status(port: int, request: bytes, what: str) -> int:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(request)
        head, _ = wsraw.read_http_head(s, 5)
        status = int(head.split(b" ")[1])
        s.settimeout(5)
        rest = b""
        while True:  # the server closes after its answer
            c = s.recv(4096)
            if not c:
                break
            rest += c
        return status
    except (OSError, wsraw.WsError, ValueError) as e:
        check(False, f"{what}: {e}")
        return 0
    finally:
        s.close()


def upgrade_req(path: str = "/roam", key: str = "dGhlIHNhbXBsZSBub25jZQ==", version: str = "13",
                extra: str = "", upgrade: bool = True) -> bytes:
    up = "Upgrade: websocket\r\nConnection: Upgrade\r\n" if upgrade else ""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{up}Sec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: {version}\r\n{extra}\r\n").encode()


def main() -> int:
    srv = Server(sys.argv[1])
    port = srv.ws_port
    try:
        good = session(port)
        rid = 1
        check(echo(good, rid, "first"), "good client: echo over ws")

        def still_good(after: str) -> None:
            nonlocal rid
            rid += 1
            try:
                check(echo(good, rid, f"after {after}"), f"good client still served after {after}")
            except (OSError, wsraw.WsError) as e:
                check(False, f"good client after {after}: {e}")

        # the same server on tcp and unix at the same time
        for addr in srv.addrs[:2]:
            fam = socket.AF_UNIX if addr.startswith("unix:") else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(srv.unix if fam == socket.AF_UNIX else
                      ("127.0.0.1", int(addr.rsplit(":", 1)[1])))
            s.sendall(w.frame(hello()))
            data = s.recv(4096)
            check(data.endswith(b"\x00") and isinstance(
                w.decode_message(w.cobs_decode(data[:data.index(0)])), w.Hello),
                f"{addr}: byte-stream Hello next to ws")
            s.close()

        # ping gets a pong with the same payload
        good.send_frame(wsraw.OP_PING, b"are you there")
        fr = good.recv_frame(5)
        check(fr is not None and fr[1] == wsraw.OP_PONG and fr[2] == b"are you there",
              "ping answered with pong")
        still_good("ping")

        # stalled peers, checked at the end: upgrade and never Hello; a
        # handshake dripped a byte at a time; many half-open upgrades
        t0 = time.monotonic()
        silent = wsraw.connect("127.0.0.1", port, "/roam")
        drip = socket.create_connection(("127.0.0.1", port), timeout=10)
        stop_drip = threading.Event()

        def dripper() -> None:
            req = upgrade_req()
            i = 0
            while not stop_drip.is_set():
                try:
                    drip.send(req[i % len(req):i % len(req) + 1])
                except OSError:
                    return
                i += 1
                time.sleep(0.2)
        th = threading.Thread(target=dripper, daemon=True)
        th.start()
        half = []
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /roam HTTP/1.1\r\nHost: x\r\n")
            half.append(s)
        base_rss = rss_kib(srv.proc.pid)

        # plain HTTP answers to bad upgrade requests
        check(http_status(port, b"GET /roam HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 9000,
                          "oversized") == 431, "header over 8 KiB: HTTP 431")
        check(http_status(port, upgrade_req(key="short"), "bad key") == 400,
              "bad Sec-WebSocket-Key: HTTP 400")
        check(http_status(port, upgrade_req(version="8"), "version 8") == 426,
              "Sec-WebSocket-Version 8: HTTP 426")
        check(http_status(port, upgrade_req(path="/nope"), "wrong path") == 404,
              "wrong path: HTTP 404")
        check(http_status(port, upgrade_req(upgrade=False), "plain GET") == 426,
              "GET without Upgrade: HTTP 426")
        check(http_status(port, b"POST /roam HTTP/1.1\r\nHost: x\r\n\r\n", "POST") == 400,
              "POST: HTTP 400")
        check(http_status(srv.ws2_port, upgrade_req(path="/", extra="Origin: https://evil.example\r\n"),
                          "bad origin") == 403, "Origin not in the allow-list: HTTP 403")
        check(http_status(srv.ws2_port, upgrade_req(path="/"), "no origin") == 403,
              "no Origin with an allow-list: HTTP 403")
        s = socket.create_connection(("127.0.0.1", srv.ws2_port), timeout=5)
        st, _, _ = wsraw.client_handshake(s, "x", "/", extra="Origin: https://good.example\r\n")
        check(st == 101, "allowed Origin: 101")
        s.close()
        still_good("bad upgrade requests")

        # frame violations once the session runs: Goodbye + close code
        ws = session(port)
        ws.send_frame(wsraw.OP_TEXT, b"hello")
        expect_goodbye_close(ws, "transport.message.binary", 1003, "text message")
        still_good("text message")

        ws = session(port)
        ws.send_frame(wsraw.OP_BINARY, w.encode_message(w.Request(0, 1, ECHO, w.enc_str("x"))),
                      mask=False)
        expect_goodbye_close(ws, "transport.websocket", 1002, "unmasked client frame")
        still_good("unmasked frame")

        ws = session(port)
        ws.send_frame(wsraw.OP_BINARY, b"\x00", rsv=4)
        expect_goodbye_close(ws, "transport.websocket", 1002, "reserved bit")
        ws = session(port)
        ws.send_frame(3, b"")
        expect_goodbye_close(ws, "transport.websocket", 1002, "reserved opcode")
        ws = session(port)
        ws.send_frame(wsraw.OP_CONT, b"abc")
        expect_goodbye_close(ws, "transport.websocket", 1002, "stray continuation")
        still_good("reserved bits and opcodes")

        ws = session(port)
        big = os.urandom(4 << 20)
        try:
            ws.sock.sendall(wsraw.encode_frame(wsraw.OP_BINARY, big, mask=True))
        except OSError:
            pass  # the server may close before all of it is sent
        expect_goodbye_close(ws, "message.hello.enforcement flow.call.payload-limit", 1009,
                             "4 MiB message")
        grown = rss_kib(srv.proc.pid) - base_rss
        check(grown < 4096, f"4 MiB message not buffered (server grew {grown} KiB)")
        still_good("4 MiB message")

        # a client that sends calls and never reads the answers: the server
        # stops reading once its output is full (held message, bounded)
        ws = session(port)
        before = rss_kib(srv.proc.pid)
        frame = wsraw.encode_frame(wsraw.OP_BINARY, w.encode_message(
            w.Request(0, 1, ECHO, w.enc_str("z" * 65536))), mask=True)
        ws.sock.setblocking(False)
        sent, off, stalled_since = 0, 0, None
        deadline = time.monotonic() + 20
        while sent < 4096 and time.monotonic() < deadline:
            try:
                off += ws.sock.send(frame[off:])
                if off == len(frame):
                    sent, off = sent + 1, 0
                stalled_since = None
            except BlockingIOError:
                if stalled_since is None:
                    stalled_since = time.monotonic()
                elif time.monotonic() - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        ws.sock.setblocking(True)
        grown = rss_kib(srv.proc.pid) - before
        check(stalled_since is not None, f"non-reading client: the server stopped reading "
              f"(after {sent} calls of 64 KiB)")
        check(grown < 32 << 10, f"non-reading client: server memory bounded (grew {grown} KiB)")
        still_good("a client that never reads")
        ws.sock.close()

        # a fragmented message is reassembled
        req = w.encode_message(w.Request(0, 99, ECHO, w.enc_str("in pieces")))
        good.send_frame(wsraw.OP_BINARY, req[:3], fin=False)
        good.send_frame(wsraw.OP_PING, b"")
        good.send_frame(wsraw.OP_CONT, req[3:7], fin=False)
        good.send_frame(wsraw.OP_CONT, req[7:], fin=True)
        ok = False
        while True:
            m = good.recv_message(5)
            if m is None:
                break
            msg = w.decode_message(m[1])
            if isinstance(msg, w.Response) and msg.request_id == 99:
                ok = msg.payload == b"\x00" + w.enc_str("in pieces")
                break
        check(ok, "fragmented message (a ping in between) reassembled")

        # the stalled peers are gone within the handshake timeout (5 s)
        def closed_within(sock: socket.socket, limit: float) -> bool:
            sock.settimeout(max(0.1, limit - (time.monotonic() - t0)))
            try:
                while True:
                    c = sock.recv(65536)
                    if not c:
                        return True
            except socket.timeout:
                return False
            except OSError:
                return True
        check(closed_within(silent.sock, 9), "upgrade then no Hello: closed after the timeout")
        check(closed_within(drip, 9), "slow-drip handshake: closed after the timeout")
        stop_drip.set()
        check(all(closed_within(s, 9) for s in half), "40 half-open upgrades: all closed")
        still_good("stalled peers")
        grown = rss_kib(srv.proc.pid) - base_rss
        check(grown < 8192, f"server memory bounded (grew {grown} KiB)")

        good.send_close(1000)
        fr = good.recv_message(5)
        check(fr is not None and fr[0] == wsraw.OP_CLOSE, "close frame echoed")
    finally:
        srv.stop()
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
