#!/usr/bin/env python3
"""A small Python reference subject, used to validate the conformance harness
while (and after) the C subject is written.

It follows PROTOCOL.md section 14: connects to PEER_ADDR as the link
initiator, sends Hello V2 at once, serves Testbed, grants channel credit back
as it consumes data, enforces every Goodbye rule of sections 5-11, and in
client mode runs CLIENT_SCENARIO=echo|sum|generate.

Run it through the suite:  python3 tests/conformance/run.py \
    --subject 'python3 tests/conformance/pysubject.py'
"""

from __future__ import annotations

import math
import os
import select
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Callable, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import roamwire as w  # noqa: E402
from roamwire import (Accept, Cancel, Close, Connect, Credit, Data, Goodbye,  # noqa: E402
                      Hello, Reject, Request, Reset, Response)

OUR_MAX_PAYLOAD = 1 << 20
OUR_CREDIT = 64 << 10
HANDSHAKE_TIMEOUT = 5.0
FRAME_SLACK = 128 << 10  # metadata (64 KiB) + headers + channel lists

ECHO = 0x9aabc4ba61fd5df3
REVERSE = 0xcba154600f640175
DIVIDE = 0xc3964cbee4b1d590
LOOKUP = 0xe71a0faedd014e59
SUM = 0x855b3a25d97bfefd
GENERATE = 0x54d2273d8cdb9c38
TRANSFORM = 0x5d9895604eb18b19
ECHO_POINT = 0x453fa9bf6932528c
CREATE_PERSON = 0x3dd231f57b1bca21
RECTANGLE_AREA = (0xba75c48683f1d9e6, 0x04ef653fdf0653c4)
PARSE_COLOR = 0xe285f31c6dfffbfc
SHAPE_AREA = 0x6e706354167c00c2
CREATE_CANVAS = 0xa914982e7d3c7b55
PROCESS_MESSAGE = 0xed1dc0c625889d30
GET_POINTS = 0x5c8707f5ae4ccbcc
SWAP_PAIR = 0xacd19a29fe0d470c

DONE = object()
SPY = bool(os.environ.get("ROAM_WIRE_SPY"))
# Deliberate bugs, to check that the harness notices them (see README):
# late-hello, no-close, ignore-credit, no-grant, reason-prefix, no-goodbye,
# no-dup-check, even-channels, lenient-data-after-close, strict-unknown-conn,
# exit-1
BUGS = set(filter(None, os.environ.get("PYSUBJECT_BUGS", "").split(",")))


def log(*a) -> None:
    print("[pysubject]", *a, file=sys.stderr, flush=True)


class ProtocolError(Exception):
    """Answered with Goodbye{0, reason} and closing the link."""


class ScenarioDone(Exception):
    def __init__(self, ok: bool, why: str):
        super().__init__(why)
        self.ok = ok


# ---------------------------------------------------------------------------
# Testbed: plain methods (payload bytes in, response payload bytes out)
# ---------------------------------------------------------------------------

def ok(b: bytes = b"") -> bytes:
    return b"\x00" + b


def dec_point(r: w.Reader):
    return r.i32(), r.i32()


def enc_point(p) -> bytes:
    return w.enc_i32(p[0]) + w.enc_i32(p[1])


def dec_shape(r: w.Reader):
    v = r.varint(32)
    if v == 0:
        return ("circle", r.f64())
    if v == 1:
        return ("rectangle", r.f64(), r.f64())
    if v == 2:
        return ("point",)
    raise w.DecodeError(f"Shape variant {v}")


def enc_shape(s) -> bytes:
    if s[0] == "circle":
        return w.varint(0) + w.enc_f64(s[1])
    if s[0] == "rectangle":
        return w.varint(1) + w.enc_f64(s[1]) + w.enc_f64(s[2])
    return w.varint(2)


def dec_color(r: w.Reader) -> int:
    v = r.varint(32)
    if v > 2:
        raise w.DecodeError(f"Color variant {v}")
    return v


def i64_wrap(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


def m_echo(r):
    return ok(w.enc_str(r.str()))


def m_reverse(r):
    return ok(w.enc_str(r.str()[::-1]))  # Python str = Unicode scalar values


def m_divide(r):
    a, b = r.i64(), r.i64()
    r.expect_end()
    if b == 0:
        return b"\x01\x00\x00"  # User(DivisionByZero)
    if a == w.I64_MIN and b == -1:
        return b"\x01\x00\x01"  # User(Overflow)
    q = abs(a) // abs(b)
    return ok(w.enc_i64(q if (a < 0) == (b < 0) else -q))


PEOPLE = {1: ("Alice", 30, "alice@example.com"), 2: ("Bob", 25, None),
          3: ("Charlie", 35, "charlie@example.com")}


def m_lookup(r):
    i = r.u32()
    r.expect_end()
    if i not in PEOPLE:
        return b"\x01\x00\x00"  # User(NotFound)
    name, age, email = PEOPLE[i]
    return ok(w.enc_str(name) + w.enc_u8(age) + w.enc_option(email, w.enc_str))


def m_echo_point(r):
    p = dec_point(r)
    r.expect_end()
    return ok(enc_point(p))


def m_create_person(r):
    name, age, email = r.str(), r.u8(), r.option(r.str)
    r.expect_end()
    return ok(w.enc_str(name) + w.enc_u8(age) + w.enc_option(email, w.enc_str))


def m_rectangle_area(r):
    tl, br, _label = dec_point(r), dec_point(r), r.option(r.str)
    r.expect_end()
    return ok(w.enc_f64(float(abs(br[0] - tl[0])) * float(abs(br[1] - tl[1]))))


def m_parse_color(r):
    name = r.str()
    r.expect_end()
    c = {"red": 0, "green": 1, "blue": 2}.get(name.lower())
    return ok(w.enc_option(c, w.varint))


def m_shape_area(r):
    s = dec_shape(r)
    r.expect_end()
    if s[0] == "circle":
        area = math.pi * s[1] * s[1]
    elif s[0] == "rectangle":
        area = s[1] * s[2]
    else:
        area = 0.0
    return ok(w.enc_f64(area))


def m_create_canvas(r):
    name = r.str()
    shapes = r.seq(lambda: dec_shape(r))
    bg = dec_color(r)
    r.expect_end()
    return ok(w.enc_str(name) + w.enc_seq(shapes, enc_shape) + w.varint(bg))


def m_process_message(r):
    v = r.varint(32)
    if v == 0:
        out = w.varint(0) + w.enc_str("processed: " + r.str())
    elif v == 1:
        out = w.varint(1) + w.enc_i64(i64_wrap(r.i64() * 2))
    elif v == 2:
        out = w.varint(2) + w.enc_bytes(r.bytes_()[::-1])
    else:
        raise w.DecodeError(f"Message variant {v}")
    r.expect_end()
    return ok(out)


def m_get_points(r):
    n = r.u32()
    r.expect_end()
    return ok(w.enc_seq(((i, 2 * i) for i in range(n)), enc_point))


def m_swap_pair(r):
    a, s = r.i32(), r.str()
    r.expect_end()
    return ok(w.enc_str(s) + w.enc_i32(a))


PLAIN = {ECHO: m_echo, REVERSE: m_reverse, DIVIDE: m_divide, LOOKUP: m_lookup,
         ECHO_POINT: m_echo_point, CREATE_PERSON: m_create_person,
         RECTANGLE_AREA[0]: m_rectangle_area, RECTANGLE_AREA[1]: m_rectangle_area,
         PARSE_COLOR: m_parse_color, SHAPE_AREA: m_shape_area,
         CREATE_CANVAS: m_create_canvas, PROCESS_MESSAGE: m_process_message,
         GET_POINTS: m_get_points, SWAP_PAIR: m_swap_pair}


def strict(fn):
    """Plain methods must consume the whole payload."""
    def run(payload: bytes) -> bytes:
        r = w.Reader(payload)
        out = fn(r)
        r.expect_end()
        return out
    return run


# ---------------------------------------------------------------------------
# Connection state
# ---------------------------------------------------------------------------

class InChan:
    """A channel the subject receives on."""

    def __init__(self, conn: "Conn", cid: int, elem: str, window: int,
                 on_value: Callable, on_end: Callable):
        self.conn, self.id, self.elem = conn, cid, elem
        self.window = window
        self.remaining = window
        self.consumed = 0
        self.state = "open"  # open | closed | abandoned
        self.on_value, self.on_end = on_value, on_end


class OutChan:
    """A channel the subject sends on; `next_item()` gives bytes, None (nothing
    yet) or DONE; `on_done()` runs once when DONE is reached."""

    def __init__(self, conn: "Conn", cid: int, credit: int,
                 next_item: Callable, on_done: Callable):
        self.conn, self.id = conn, cid
        self.credit = credit
        self.next_item, self.on_done = next_item, on_done
        self.peek = None
        self.state = "open"  # open | done | reset


class Conn:
    def __init__(self, cid: int):
        self.id = cid
        self.inflight: Dict[int, "Call"] = {}
        self.chans: Dict[int, object] = {}
        self.ever: set = set()  # every channel id ever opened on this conn
        self.outgoing: Dict[int, Callable] = {}
        self.next_rid = 1


class Call:
    def __init__(self, conn: Conn, rid: int):
        self.conn, self.rid = conn, rid
        self.ins: list = []
        self.outs: list = []


# ---------------------------------------------------------------------------
# The subject
# ---------------------------------------------------------------------------

class Subject:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.rbuf = bytearray()
        self.mode = os.environ.get("SUBJECT_MODE", "server") or "server"
        self.scenario = os.environ.get("CLIENT_SCENARIO", "echo") or "echo"
        self.accept_conns = bool(os.environ.get("ACCEPT_CONNECTIONS"))
        self.hello_done = False
        self.max_payload = OUR_MAX_PAYLOAD
        self.credit = OUR_CREDIT
        self.conns: Dict[int, Conn] = {0: Conn(0)}
        self.next_conn = 1
        self.next_chan = 1  # link initiator: odd ids

    # -- output -----------------------------------------------------------

    def send(self, m) -> None:
        if SPY:
            log("-->", w.describe(m))
        self.sock.sendall(w.frame(w.encode_message(m)))

    # -- main loop --------------------------------------------------------

    def run(self) -> int:
        if "late-hello" in BUGS:
            time.sleep(0.5)
        self.send(Hello(OUR_MAX_PAYLOAD, OUR_CREDIT))
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        try:
            while True:
                timeout = None
                if not self.hello_done:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        log("handshake timeout")
                        self.sock.close()
                        return 1
                r, _, _ = select.select([self.sock], [], [], timeout)
                if not r:
                    continue
                try:
                    chunk = self.sock.recv(256 << 10)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return self.on_eof()
                self.rbuf += chunk
                self.process_frames()
                self.pump()
        except ProtocolError as e:
            return self.goodbye(str(e))
        except ScenarioDone as d:
            log("client scenario", "succeeded" if d.ok else "failed", "-", d)
            if d.ok:
                try:
                    self.send(Goodbye(0, ""))
                except OSError:
                    pass
            self.linger_close()
            return 0 if d.ok else 1
        except (BrokenPipeError, ConnectionResetError) as e:
            log("link error:", e)
            return 0 if self.mode == "server" else 1

    def on_eof(self) -> int:
        self.sock.close()
        if self.mode == "client":
            log("link closed before the scenario finished")
            return 1
        return 1 if "exit-1" in BUGS else 0

    def goodbye(self, reason: str) -> int:
        log("protocol error:", reason)
        if "reason-prefix" in BUGS:
            reason = "error: " + reason
        try:
            if "no-goodbye" not in BUGS:
                self.send(Goodbye(0, reason))
        except OSError:
            pass
        self.linger_close()
        return 1

    def linger_close(self) -> None:
        """Half-close, then discard input briefly so the kernel does not turn
        our close into an RST that could destroy the Goodbye in flight."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                r, _, _ = select.select([self.sock], [], [], end - time.monotonic())
                if r and not self.sock.recv(65536):
                    break
        except OSError:
            pass
        self.sock.close()

    def frame_bound(self) -> int:
        return self.max_payload + FRAME_SLACK

    def process_frames(self) -> None:
        while True:
            idx = self.rbuf.find(0)
            if idx < 0:
                if len(self.rbuf) > self.frame_bound():
                    raise ProtocolError(f"message.decode-error: frame longer than "
                                        f"{self.frame_bound()} bytes")
                return
            fr = bytes(self.rbuf[:idx])
            del self.rbuf[:idx + 1]
            if len(fr) > self.frame_bound():
                raise ProtocolError(f"message.decode-error: frame of {len(fr)} bytes")
            try:
                raw = w.cobs_decode(fr)
            except w.DecodeError as e:
                raise ProtocolError(f"message.decode-error: {e}") from None
            try:
                m = w.decode_message(raw)
            except w.UnknownHelloVersion as e:
                raise ProtocolError(f"message.hello.unknown-version: Hello variant "
                                    f"{e.variant}") from None
            except w.UnknownVariant as e:
                raise ProtocolError(f"message.unknown-variant: {e}") from None
            except w.DecodeError as e:
                raise ProtocolError(f"message.decode-error: {e}") from None
            if SPY:
                log("<--", w.describe(m))
            self.handle(m)

    # -- dispatch -----------------------------------------------------------

    def check_md(self, md) -> None:
        v = w.metadata_violation(md)
        if v:
            raise ProtocolError(f"call.metadata.limits: {v}")

    def conn_or_error(self, cid: int, what: str) -> Conn:
        c = self.conns.get(cid)
        if c is None:
            raise ProtocolError(f"message.conn-id: {what} on unknown connection {cid}")
        return c

    def handle(self, m) -> None:
        if not self.hello_done:
            if not isinstance(m, Hello):
                raise ProtocolError(f"message.hello.ordering: {type(m).__name__} before Hello")
            self.max_payload = min(OUR_MAX_PAYLOAD, m.max_payload_size)
            self.credit = min(OUR_CREDIT, m.initial_channel_credit)
            self.hello_done = True
            if self.mode == "client":
                self.start_scenario()
            return
        name = type(m).__name__
        getattr(self, "on_" + name.lower())(m)

    def on_hello(self, m) -> None:
        pass  # ignored after the exchange

    def on_connect(self, m: Connect) -> None:
        self.check_md(m.metadata)
        if self.accept_conns:
            cid = self.next_conn
            self.next_conn += 1
            self.conns[cid] = Conn(cid)
            self.send(Accept(m.request_id, cid, []))
        else:
            self.send(Reject(m.request_id, "not listening", []))

    def on_accept(self, m) -> None:
        pass  # we never send Connect: nothing is pending

    def on_reject(self, m) -> None:
        pass

    def on_goodbye(self, m: Goodbye) -> None:
        if m.conn_id == 0:
            log("peer closed the link:", repr(m.reason))
            self.sock.close()
            code = 0
            if self.mode == "client":
                code = 1
            raise SystemExit(code)
        self.conns.pop(m.conn_id, None)  # unknown or closed: ignored

    def on_request(self, m: Request) -> None:
        conn = self.conn_or_error(m.conn_id, "Request")
        if len(m.payload) > self.max_payload:
            raise ProtocolError(f"message.hello.enforcement flow.call.payload-limit: request "
                                f"payload {len(m.payload)} > {self.max_payload}")
        self.check_md(m.metadata)
        if m.request_id in conn.inflight and "no-dup-check" not in BUGS:
            raise ProtocolError(f"call.request-id.duplicate-detection: request "
                                f"{m.request_id} on conn {conn.id}")
        if m.method_id in PLAIN:
            try:
                out = strict(PLAIN[m.method_id])(m.payload)
            except w.DecodeError:
                out = b"\x01\x02"
            self.send(Response(conn.id, m.request_id, out))
            return
        if m.method_id in (SUM, GENERATE, TRANSFORM):
            self.start_channel_call(conn, m)
            return
        self.send(Response(conn.id, m.request_id, b"\x01\x01"))

    def burn(self, conn: Conn, ids) -> None:
        for cid in ids:
            conn.ever.add(cid)
            if cid not in conn.chans:
                conn.chans[cid] = InChan(conn, cid, "", 0, None, None)
                conn.chans[cid].state = "abandoned"

    def start_channel_call(self, conn: Conn, m: Request) -> None:
        chans = list(m.channels)
        r = w.Reader(m.payload)
        try:
            if m.method_id == SUM:
                r.u64()
                r.expect_end()
                if len(chans) != 1:
                    raise w.DecodeError("sum takes one channel")
            elif m.method_id == GENERATE:
                count = r.u32()
                r.u64()
                r.expect_end()
                if len(chans) != 1:
                    raise w.DecodeError("generate takes one channel")
            else:
                r.u64()
                r.u64()
                r.expect_end()
                if len(chans) != 2:
                    raise w.DecodeError("transform takes two channels")
        except w.DecodeError:
            self.burn(conn, chans)  # [channeling.lifecycle.speculative]
            self.send(Response(conn.id, m.request_id, b"\x01\x02"))
            return
        call = Call(conn, m.request_id)
        conn.inflight[m.request_id] = call
        conn.ever.update(chans)

        def finish(payload: bytes) -> None:
            for oc in call.outs:
                if oc.state == "open":
                    oc.state = "done"
                    if "no-close" not in BUGS:
                        self.send(Close(conn.id, oc.id))
            if conn.inflight.get(call.rid) is call:
                del conn.inflight[call.rid]
                self.send(Response(conn.id, call.rid, payload))

        if m.method_id == SUM:
            total = [0]

            def add(v):
                total[0] += v
            ic = InChan(conn, chans[0], "i32", self.credit, add,
                        lambda: finish(ok(w.enc_i64(total[0]))))
            conn.chans[ic.id] = ic
            call.ins.append(ic)
        elif m.method_id == GENERATE:
            state = [0]

            def nxt():
                if state[0] >= count:
                    return DONE
                return w.enc_i32(state[0])

            def sent():
                state[0] += 1
            oc = OutChan(conn, chans[0], self.credit, nxt, lambda: finish(ok()))
            oc.sent = sent
            conn.chans[oc.id] = oc
            call.outs.append(oc)
        else:
            queue = deque()
            input_done = [False]

            def nxt():
                if queue:
                    return queue[0]
                return DONE if input_done[0] else None

            def sent():
                queue.popleft()

            def end():
                input_done[0] = True
            oc = OutChan(conn, chans[1], self.credit, nxt, lambda: finish(ok()))
            oc.sent = sent
            ic = InChan(conn, chans[0], "str", self.credit,
                        lambda s: queue.append(w.enc_str(s)), end)
            conn.chans[ic.id] = ic
            conn.chans[oc.id] = oc
            call.ins.append(ic)
            call.outs.append(oc)
        call.finish = finish

    def on_response(self, m: Response) -> None:
        conn = self.conns.get(m.conn_id)
        if conn is None:
            return
        if len(m.payload) > self.max_payload:
            raise ProtocolError(f"message.hello.enforcement flow.call.payload-limit: response "
                                f"payload {len(m.payload)} > {self.max_payload}")
        self.check_md(m.metadata)
        cb = conn.outgoing.pop(m.request_id, None)
        if cb is not None:
            cb(m.payload)

    def on_cancel(self, m: Cancel) -> None:
        conn = self.conns.get(m.conn_id)
        if conn is None:
            return
        call = conn.inflight.get(m.request_id)
        if call is None:
            return  # already answered: ignored
        for ic in call.ins:
            if ic.state == "open":
                ic.state = "abandoned"
        call.finish(b"\x01\x03")

    def chan_lookup(self, conn: Conn, cid: int, what: str):
        if cid == 0:
            raise ProtocolError(f"channeling.id.zero-reserved: {what} on channel 0")
        ch = conn.chans.get(cid)
        if ch is None and cid not in conn.ever:
            raise ProtocolError(f"channeling.unknown: {what} on channel {cid} of conn {conn.id}")
        return ch

    def on_data(self, m: Data) -> None:
        conn = self.conn_or_error(m.conn_id, "Data")
        ch = self.chan_lookup(conn, m.channel_id, "Data")
        if len(m.payload) > self.max_payload:
            raise ProtocolError(f"channeling.data.size-limit flow.call.payload-limit: Data of "
                                f"{len(m.payload)} bytes > {self.max_payload}")
        if not isinstance(ch, InChan) or ch.state == "abandoned":
            return
        if ch.state == "closed" and "lenient-data-after-close" in BUGS:
            return
        if ch.state == "closed":
            raise ProtocolError(f"channeling.data-after-close: channel {ch.id}")
        n = len(m.payload)
        if n > ch.remaining:
            raise ProtocolError(f"flow.channel.credit-overrun: {n} bytes with {ch.remaining} "
                                f"left on channel {ch.id}")
        ch.remaining -= n
        try:
            r = w.Reader(m.payload)
            v = r.i32() if ch.elem == "i32" else r.str()
            r.expect_end()
        except w.DecodeError as e:
            raise ProtocolError(f"channeling.data.invalid: channel {ch.id}: {e}") from None
        ch.on_value(v)
        ch.consumed += n
        if 2 * ch.remaining < ch.window and ch.consumed and "no-grant" not in BUGS:
            self.send(Credit(conn.id, ch.id, ch.consumed))
            ch.remaining += ch.consumed
            ch.consumed = 0

    def on_close(self, m: Close) -> None:
        conn = self.conn_or_error(m.conn_id, "Close")
        ch = self.chan_lookup(conn, m.channel_id, "Close")
        if isinstance(ch, InChan) and ch.state == "open":
            ch.state = "closed"
            ch.on_end()

    def on_reset(self, m: Reset) -> None:
        conn = self.conns.get(m.conn_id)
        if conn is None:
            return
        ch = self.chan_lookup(conn, m.channel_id, "Reset")
        if isinstance(ch, InChan) and ch.state == "open":
            ch.state = "abandoned"
            ch.on_end()
        elif isinstance(ch, OutChan) and ch.state == "open":
            ch.state = "reset"
            ch.on_done()

    def on_credit(self, m: Credit) -> None:
        conn = self.conns.get(m.conn_id)
        if conn is None:
            if "strict-unknown-conn" in BUGS:
                raise ProtocolError("message.conn-id: Credit on an unknown conn")
            return
        ch = self.chan_lookup(conn, m.channel_id, "Credit")
        if isinstance(ch, OutChan) and ch.state == "open":
            ch.credit += m.bytes

    # -- sending on channels ------------------------------------------------

    def pump(self) -> None:
        for conn in list(self.conns.values()):
            for ch in list(conn.chans.values()):
                if not isinstance(ch, OutChan):
                    continue
                while ch.state == "open":
                    item = ch.next_item()
                    if item is None:
                        break
                    if item is DONE:
                        ch.on_done()
                        break
                    if len(item) > ch.credit and "ignore-credit" not in BUGS:
                        break
                    ch.credit -= len(item)
                    self.send(Data(conn.id, ch.id, item))
                    ch.sent()

    # -- client mode ----------------------------------------------------------

    def alloc_chan(self) -> int:
        c = self.next_chan + (1 if "even-channels" in BUGS else 0)
        self.next_chan += 2
        return c

    def call(self, method: int, payload: bytes, channels=(), on_response=None) -> int:
        conn = self.conns[0]
        rid = conn.next_rid
        conn.next_rid += 1
        conn.outgoing[rid] = on_response
        self.send(Request(0, rid, method, payload, list(channels)))
        return rid

    def start_scenario(self) -> None:
        conn = self.conns[0]
        sc = self.scenario
        if sc == "echo":
            text = "hello from client"

            def done(p):
                if p != ok(w.enc_str(text)):
                    raise ScenarioDone(False, f"echo answered {p.hex(' ')}")
                raise ScenarioDone(True, "echo ok")
            self.call(ECHO, w.enc_str(text), on_response=done)
        elif sc == "sum":
            ch = self.alloc_chan()
            vals = deque(range(1, 6))

            def nxt():
                return w.enc_i32(vals[0]) if vals else DONE

            def closed():
                oc.state = "done"
                self.send(Close(0, ch))

            def done(p):
                if p != ok(w.enc_i64(15)):
                    raise ScenarioDone(False, f"sum answered {p.hex(' ')}")
                raise ScenarioDone(True, "sum ok")
            self.call(SUM, w.enc_u64(ch), [ch], done)
            oc = OutChan(conn, ch, self.credit, nxt, closed)
            oc.sent = vals.popleft
            conn.chans[ch] = oc
            conn.ever.add(ch)
        elif sc == "generate":
            ch = self.alloc_chan()
            got = []

            def done(p):
                if p != ok():
                    raise ScenarioDone(False, f"generate answered {p.hex(' ')}")
                if got != list(range(5)):
                    raise ScenarioDone(False, f"generate delivered {got}")
                raise ScenarioDone(True, "generate ok")
            ic = InChan(conn, ch, "i32", self.credit, got.append, lambda: None)
            conn.chans[ch] = ic
            conn.ever.add(ch)
            self.call(GENERATE, w.enc_u32(5) + w.enc_u64(ch), [ch], done)
        else:
            log("unknown CLIENT_SCENARIO", sc)
            raise ScenarioDone(False, "unknown scenario")


def main() -> int:
    addr = os.environ.get("PEER_ADDR")
    if not addr:
        log("PEER_ADDR is not set")
        return 2
    host, _, port = addr.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Subject(sock).run()


if __name__ == "__main__":
    sys.exit(main())
