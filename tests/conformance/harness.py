"""Black-box harness plumbing: subject processes, framed links, a
credit-tracking peer, the test base class and Testbed payload helpers.

The harness is the link *acceptor*: it listens on 127.0.0.1 (ephemeral port)
and the subject connects to PEER_ADDR. Every blocking operation has a
timeout; every test kills the subject process group it started.
"""

from __future__ import annotations

import collections
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional, Sequence, Tuple

import roamwire as w
import wsraw
from roamwire import (Accept, Cancel, Close, Connect, Credit, Data, Goodbye, Hello,
                      Reject, Request, Reset, Response)

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
GOLDEN_DIR = Path(os.environ.get("ROAM_GOLDEN_DIR",
                                 REPO_ROOT / "tests" / "golden-vectors"))


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


IO_TIMEOUT = _env_float("ROAM_CONFORMANCE_IO_TIMEOUT", 5.0)
CONNECT_TIMEOUT = _env_float("ROAM_CONFORMANCE_CONNECT_TIMEOUT", 30.0)
HELLO_DEADLINE = _env_float("ROAM_CONFORMANCE_HELLO_MS", 250.0) / 1000.0
TEST_TIMEOUT = _env_float("ROAM_CONFORMANCE_TEST_TIMEOUT", 90.0)
TRACE = bool(os.environ.get("ROAM_CONFORMANCE_TRACE"))

MiB = 1 << 20
KiB = 1 << 10
DEFAULT_HELLO = (MiB, 64 * KiB)  # the reference defaults

# The command that starts the subject (argv list). run.py sets it.
SUBJECT_CMD: Optional[List[str]] = None

# "tcp": COBS frames over TCP (PEER_ADDR=host:port); "ws": one binary
# WebSocket message per roam message (PEER_ADDR=ws://host:port/roam, the
# harness answers the subject's upgrade request). run.py --transport sets it.
TRANSPORT = os.environ.get("ROAM_CONFORMANCE_TRANSPORT", "tcp")
WS_PATH = "/roam"


def parse_subject(spec: str) -> List[str]:
    """A --subject value is either a path to an executable or a command line
    (e.g. 'python3 tests/conformance/pysubject.py'). Relative paths that exist
    from the current directory are made absolute (the subject runs with the
    repository root as its working directory)."""
    if os.path.exists(spec):
        return [os.path.abspath(spec)]
    argv = shlex.split(spec)
    out = []
    for tok in argv:
        if not tok.startswith("-") and os.sep in tok and os.path.exists(tok):
            tok = os.path.abspath(tok)
        out.append(tok)
    return out


def subject_cmd() -> List[str]:
    if SUBJECT_CMD:
        return SUBJECT_CMD
    env = os.environ.get("ROAM_SUBJECT")
    if env:
        return parse_subject(env)
    return [str(REPO_ROOT / "tools" / "subject" / "run")]


class TestTimeout(AssertionError):
    pass


class LinkTimeout(AssertionError):
    pass


# ---------------------------------------------------------------------------
# Subject process
# ---------------------------------------------------------------------------

class Subject:
    """One subject process plus the listening socket it connects to."""

    def __init__(self, mode: str = "server", scenario: Optional[str] = None,
                 accept_connections: bool = False, extra_env: Optional[dict] = None):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        host, port = self.listener.getsockname()
        self.addr = f"ws://{host}:{port}{WS_PATH}" if TRANSPORT == "ws" else f"{host}:{port}"
        env = dict(os.environ)
        for k in ("SUBJECT_MODE", "CLIENT_SCENARIO", "ACCEPT_CONNECTIONS"):
            env.pop(k, None)
        env["PEER_ADDR"] = self.addr
        env["SUBJECT_MODE"] = mode
        if scenario is not None:
            env["CLIENT_SCENARIO"] = scenario
        if accept_connections:
            env["ACCEPT_CONNECTIONS"] = "1"
        if extra_env:
            env.update(extra_env)
        self.mode, self.scenario = mode, scenario
        self.output = tempfile.TemporaryFile()
        self.cmd = subject_cmd()
        self.proc = subprocess.Popen(self.cmd, cwd=str(REPO_ROOT), env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.output,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.sockets: List[socket.socket] = []

    def accept(self, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
        """Wait for the subject to connect; fail early if it exits first."""
        deadline = time.monotonic() + timeout
        self.listener.settimeout(0.05)
        while True:
            try:
                sock, _ = self.listener.accept()
                break
            except socket.timeout:
                pass
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"subject exited with status {rc} before connecting "
                                     f"to {self.addr}\n{self.output_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"subject did not connect to {self.addr} within "
                                     f"{timeout:.0f}s")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sockets.append(sock)
        return sock

    def wait_exit(self, timeout: float = IO_TIMEOUT) -> Optional[int]:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        try:
            self.listener.close()
        except OSError:
            pass

    def output_tail(self, limit: int = 6000) -> str:
        try:
            self.output.flush()
            size = self.output.seek(0, os.SEEK_END)
            self.output.seek(max(0, size - limit))
            text = self.output.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return "(no subject output)"
        return text if text.strip() else "(no subject output)"


# ---------------------------------------------------------------------------
# Framed link
# ---------------------------------------------------------------------------

class Link:
    """COBS-framed message stream over the accepted socket, with a wire log."""

    MAX_FRAME = 64 * MiB

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False
        self.t0 = time.monotonic()
        self.log: List[str] = []

    def _log(self, direction: str, text: str) -> None:
        line = f"{time.monotonic() - self.t0:8.3f} {direction} {text}"
        self.log.append(line)
        if len(self.log) > 400:
            del self.log[:100]
        if TRACE:
            print("[wire]", line, file=sys.stderr)

    # -- sending ----------------------------------------------------------

    def send_bytes(self, data: bytes, note: str = "raw bytes") -> None:
        self._log("-->", f"{note}: {bytes(data[:64]).hex(' ')}{' …' if len(data) > 64 else ''}"
                         f" ({len(data)}B)")
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(data)

    def send_raw(self, payload: bytes, note: str = "raw message") -> None:
        """Frame arbitrary (possibly invalid) message bytes and send them."""
        self._log("-->", f"{note}: {bytes(payload[:64]).hex(' ')}"
                         f"{' …' if len(payload) > 64 else ''} ({len(payload)}B)")
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(w.frame(payload))

    def send(self, msg: w.Message) -> None:
        self._log("-->", w.describe(msg))
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(w.frame(w.encode_message(msg)))

    def try_send(self, msg: w.Message) -> bool:
        """Send, tolerating a link the subject already closed."""
        try:
            self.send(msg)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- receiving --------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Read more bytes; False on EOF. Raises LinkTimeout."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LinkTimeout("timed out waiting for the subject")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(256 * KiB)
        except socket.timeout:
            raise LinkTimeout("timed out waiting for the subject") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        if len(self.buf) > self.MAX_FRAME and 0 not in self.buf:
            raise AssertionError("subject sent a frame over 64 MiB without delimiter")
        return True

    def recv_frame(self, timeout: float = IO_TIMEOUT) -> Optional[bytes]:
        """Next raw frame (COBS-encoded, no delimiter), None on EOF."""
        deadline = time.monotonic() + timeout
        while True:
            idx = self.buf.find(0)
            if idx >= 0:
                fr = bytes(self.buf[:idx])
                del self.buf[:idx + 1]
                return fr
            if self.eof:
                if self.buf:
                    raise AssertionError(f"subject closed the link in the middle of a frame "
                                         f"({len(self.buf)} bytes without delimiter)")
                return None
            if not self._fill(deadline):
                continue

    def recv(self, timeout: float = IO_TIMEOUT) -> Optional[w.Message]:
        """Next message (strictly decoded), None on EOF. A message from the
        subject that does not decode exactly fails the test."""
        fr = self.recv_frame(timeout)
        if fr is None:
            self._log("<--", "EOF")
            return None
        try:
            raw = w.cobs_decode(fr)
        except w.DecodeError as e:
            self._log("<--", f"BAD COBS {fr[:64].hex(' ')}")
            raise AssertionError(f"subject sent a frame that is not valid COBS: {e}") from None
        return self._decode(raw)

    def _decode(self, raw: bytes) -> w.Message:
        try:
            m = w.decode_message(raw)
        except w.UnknownHelloVersion as e:
            self._log("<--", f"BAD HELLO {raw[:64].hex(' ')}")
            raise AssertionError(f"subject sent a Hello that is not V2 "
                                 f"(variant {e.variant})") from None
        except w.DecodeError as e:
            self._log("<--", f"UNDECODABLE {raw[:64].hex(' ')}")
            raise AssertionError(f"subject sent a message that does not decode ({e}): "
                                 f"{raw[:64].hex(' ')}") from None
        # Byte-exact check: our re-encoding must give the same bytes
        # (catches non-canonical varints and the like).
        if w.encode_message(m) != raw:
            raise AssertionError(f"subject's message is not canonically encoded: "
                                 f"{raw.hex(' ')} vs {w.encode_message(m).hex(' ')}")
        self._log("<--", w.describe(m))
        return m

    def dump(self) -> str:
        return "\n".join(self.log[-120:])


class WsLink(Link):
    """The same over WebSocket: the harness is the server end (it answers
    the subject's upgrade, checking it), each roam message is one binary
    message, the subject's frames must be masked."""

    def __init__(self, sock: socket.socket):
        super().__init__(sock)
        try:
            self.ws = wsraw.server_handshake(sock, WS_PATH, IO_TIMEOUT)
        except (wsraw.WsError, OSError) as e:
            raise AssertionError(f"WebSocket handshake with the subject failed: {e}") from None
        self.close_code: Optional[int] = None
        self._log("<->", "WebSocket upgrade")

    def send_raw(self, payload: bytes, note: str = "raw message") -> None:
        self._log("-->", f"{note}: {bytes(payload[:64]).hex(' ')}"
                         f"{' …' if len(payload) > 64 else ''} ({len(payload)}B)")
        self.sock.settimeout(IO_TIMEOUT)
        self.ws.send_binary(payload)

    def send(self, msg: w.Message) -> None:
        self._log("-->", w.describe(msg))
        self.sock.settimeout(IO_TIMEOUT)
        self.ws.send_binary(w.encode_message(msg))

    def recv(self, timeout: float = IO_TIMEOUT) -> Optional[w.Message]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self.ws.recv_message(max(0.0, deadline - time.monotonic()))
            except socket.timeout:
                raise LinkTimeout("timed out waiting for the subject") from None
            except wsraw.WsError as e:
                raise AssertionError(f"subject broke the WebSocket framing: {e}") from None
            if m is None:
                self.eof = True
                self._log("<--", "EOF")
                return None
            op, payload = m
            if op == wsraw.OP_CLOSE:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._log("<--", f"WebSocket close {self.close_code}")
                continue  # EOF follows
            if op != wsraw.OP_BINARY:
                raise AssertionError(f"subject sent a non-binary WebSocket message (opcode {op}) "
                                     f"[transport.message.binary]")
            return self._decode(payload)


def make_link(sock: socket.socket) -> Link:
    return WsLink(sock) if TRANSPORT == "ws" else Link(sock)


# ---------------------------------------------------------------------------
# Credit-tracking peer
# ---------------------------------------------------------------------------

def fmt_payload(b: bytes) -> str:
    return bytes(b).hex(" ") if len(b) <= 64 else bytes(b[:64]).hex(" ") + f" … ({len(b)}B)"


class Peer:
    """The harness side of a link after Hello: applies the negotiated limits
    to everything the subject sends, tracks channel credit in both directions
    and keeps unclaimed messages in a queue."""

    def __init__(self, link: Link, ours: Hello, theirs: Hello):
        self.link = link
        self.ours, self.theirs = ours, theirs
        self.max_payload = min(ours.max_payload_size, theirs.max_payload_size)
        self.credit = min(ours.initial_channel_credit, theirs.initial_channel_credit)
        self.pending: Deque[w.Message] = collections.deque()
        # (conn, channel) -> credit left; harness sends on these
        self.send_credit: Dict[Tuple[int, int], int] = {}
        # (conn, channel) -> credit left for the subject; harness receives
        self.recv_credit: Dict[Tuple[int, int], int] = {}
        self.credits_received: List[Credit] = []
        self.next_rid: Dict[int, int] = collections.defaultdict(lambda: 1)
        self.eof = False

    # -- bookkeeping ------------------------------------------------------

    def _ingest(self, m: w.Message) -> None:
        if isinstance(m, (Request, Response)) and len(m.payload) > self.max_payload:
            raise AssertionError(f"subject sent a {type(m).__name__} payload of "
                                 f"{len(m.payload)} bytes over the negotiated max "
                                 f"{self.max_payload}")
        if isinstance(m, Data):
            if len(m.payload) > self.max_payload:
                raise AssertionError(f"subject sent Data of {len(m.payload)} bytes over the "
                                     f"negotiated max {self.max_payload}")
            key = (m.conn_id, m.channel_id)
            if key in self.recv_credit:
                left = self.recv_credit[key]
                if len(m.payload) > left:
                    raise AssertionError(
                        f"subject overran channel credit on conn {m.conn_id} channel "
                        f"{m.channel_id}: Data of {len(m.payload)} bytes with {left} left "
                        f"[flow.channel.credit-consume]")
                self.recv_credit[key] = left - len(m.payload)
        if isinstance(m, Credit):
            self.credits_received.append(m)
            key = (m.conn_id, m.channel_id)
            if key in self.send_credit:
                self.send_credit[key] += m.bytes

    def read(self, timeout: float = IO_TIMEOUT) -> Optional[w.Message]:
        """Read one message off the wire (bypassing the queue)."""
        if self.eof:
            return None
        m = self.link.recv(timeout)
        if m is None:
            self.eof = True
            return None
        self._ingest(m)
        return m

    def next(self, timeout: float = IO_TIMEOUT, what: str = "a message") -> Optional[w.Message]:
        if self.pending:
            return self.pending.popleft()
        try:
            return self.read(timeout)
        except LinkTimeout:
            raise LinkTimeout(f"timed out after {timeout:.1f}s waiting for {what}") from None

    def expect(self, pred: Callable[[w.Message], bool], what: str,
               timeout: float = IO_TIMEOUT, fail_on_goodbye: bool = True) -> w.Message:
        """First message matching pred; others stay queued. Fails on EOF, on
        timeout and (by default) on a Goodbye from the subject."""
        for i, m in enumerate(self.pending):
            if pred(m):
                del self.pending[i]
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkTimeout(f"timed out after {timeout:.1f}s waiting for {what}")
            try:
                m = self.read(left)
            except LinkTimeout:
                raise LinkTimeout(f"timed out after {timeout:.1f}s waiting for {what}") from None
            if m is None:
                raise AssertionError(f"subject closed the link while the harness waited for "
                                     f"{what}")
            if pred(m):
                return m
            if fail_on_goodbye and isinstance(m, Goodbye):
                raise AssertionError(f"unexpected Goodbye from subject while waiting for "
                                     f"{what}: conn {m.conn_id} reason {m.reason!r}")
            self.pending.append(m)

    def drain_for(self, duration: float) -> List[w.Message]:
        """Collect everything that arrives within `duration` seconds."""
        got = list(self.pending)
        self.pending.clear()
        deadline = time.monotonic() + duration
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                m = self.read(left)
            except LinkTimeout:
                break
            if m is None:
                break
            got.append(m)
        return got

    def settle(self, duration: float = 0.03) -> None:
        """Read (and check) whatever the subject has already sent, keeping it
        queued. Used before granting credit, so that Data the subject sent
        beyond its credit is not excused by a grant it could not have seen."""
        deadline = time.monotonic() + duration
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                m = self.read(left)
            except LinkTimeout:
                break
            if m is None:
                break
            self.pending.append(m)

    # -- sending ----------------------------------------------------------

    def send(self, m: w.Message) -> None:
        self.link.send(m)

    def rid(self, conn: int = 0) -> int:
        r = self.next_rid[conn]
        self.next_rid[conn] = r + 1
        return r

    def call(self, method_id: int, payload: bytes, conn: int = 0,
             channels: Sequence[int] = (), metadata: Optional[w.Metadata] = None,
             rid: Optional[int] = None) -> int:
        if rid is None:
            rid = self.rid(conn)
        elif self.next_rid[conn] <= rid < w.U64_MAX:
            self.next_rid[conn] = rid + 1
        self.send(Request(conn, rid, method_id, payload, list(channels), metadata or []))
        return rid

    def response(self, rid: int, conn: int = 0, timeout: float = IO_TIMEOUT) -> Response:
        return self.expect(lambda m: isinstance(m, Response) and m.request_id == rid
                           and m.conn_id == conn,
                           f"Response to request {rid} on conn {conn}", timeout)

    def roundtrip(self, method_id: int, payload: bytes, conn: int = 0,
                  metadata: Optional[w.Metadata] = None) -> bytes:
        rid = self.call(method_id, payload, conn=conn, metadata=metadata)
        return self.response(rid, conn).payload

    def open_send(self, conn: int, ch: int) -> None:
        self.send_credit[(conn, ch)] = self.credit

    def open_recv(self, conn: int, ch: int) -> None:
        self.recv_credit[(conn, ch)] = self.credit

    def grant(self, conn: int, ch: int, n: int) -> None:
        self.recv_credit[(conn, ch)] = self.recv_credit.get((conn, ch), 0) + n
        self.send(Credit(conn, ch, n))

    def send_data(self, conn: int, ch: int, payload: bytes,
                  timeout: float = IO_TIMEOUT) -> None:
        """Send one Data, first waiting (reading the wire) until the subject
        has granted enough credit. The harness never exceeds credit."""
        key = (conn, ch)
        if key not in self.send_credit:
            self.open_send(conn, ch)
        deadline = time.monotonic() + timeout
        while self.send_credit[key] < len(payload):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"subject did not grant credit on conn {conn} channel {ch}: need "
                    f"{len(payload)} bytes, have {self.send_credit[key]} "
                    f"[flow.channel.credit-grant]")
            try:
                m = self.read(left)
            except LinkTimeout:
                continue
            if m is None:
                raise AssertionError("subject closed the link while the harness waited "
                                     "for credit")
            if isinstance(m, Goodbye):
                raise AssertionError(f"unexpected Goodbye while waiting for credit: "
                                     f"{m.reason!r}")
            self.pending.append(m)
        self.send_credit[key] -= len(payload)
        self.send(Data(conn, ch, payload))

    # -- endings ----------------------------------------------------------

    def expect_eof(self, timeout: float = IO_TIMEOUT, after: str = "") -> None:
        """The subject must close the link and send nothing more."""
        extra = list(self.pending)
        self.pending.clear()
        deadline = time.monotonic() + timeout
        while not extra and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"subject did not close the link within {timeout:.0f}s"
                                     f"{' after ' + after if after else ''}")
            try:
                m = self.read(left)
            except LinkTimeout:
                continue
            if m is not None:
                extra.append(m)
        if extra:
            raise AssertionError(f"subject sent {w.describe(extra[0])} "
                                 f"{'after ' + after if after else 'instead of closing'}")

    def expect_goodbye(self, rule_ids: Sequence[str], timeout: float = IO_TIMEOUT,
                       allow: Callable[[w.Message], bool] = lambda m: True) -> str:
        """Expect Goodbye{conn 0, reason starting with one of rule_ids},
        then the link closing. Messages before the Goodbye for which `allow`
        is true (default: any) are tolerated (e.g. responses to earlier calls).
        Returns the reason."""
        if isinstance(rule_ids, str):
            rule_ids = [rule_ids]
        want = " or ".join(repr(r) for r in rule_ids)
        deadline = time.monotonic() + timeout
        while True:
            if self.pending:
                m = self.pending.popleft()
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected Goodbye {want}; nothing came within "
                                         f"{timeout:.0f}s")
                try:
                    m = self.read(left)
                except LinkTimeout:
                    continue
            if m is None:
                raise AssertionError(f"subject closed the link without sending Goodbye {want}")
            if isinstance(m, Goodbye):
                break
            if not allow(m):
                raise AssertionError(f"expected Goodbye {want}, got {w.describe(m)}")
        if m.conn_id != 0:
            raise AssertionError(f"protocol-error Goodbye must be on conn 0, got conn "
                                 f"{m.conn_id} (reason {m.reason!r})")
        if not any(m.reason.startswith(r) for r in rule_ids):
            hint = " (it contains it but must start with it)" \
                if any(r in m.reason for r in rule_ids) else ""
            raise AssertionError(f"Goodbye reason {m.reason!r} does not start with {want}"
                                 f"{hint}")
        self.expect_eof(after=f"Goodbye {m.reason!r}")
        return m.reason


# ---------------------------------------------------------------------------
# Test base class
# ---------------------------------------------------------------------------

def _alarm(signum, frame):
    raise TestTimeout(f"test exceeded its {TEST_TIMEOUT:.0f}s time limit")


class ConformanceTest(unittest.TestCase):
    """Base class: spawns subjects, kills them in tearDown, dumps the wire log
    and the subject's output when a test fails."""

    timeout = TEST_TIMEOUT

    def setUp(self) -> None:
        self._subjects: List[Subject] = []
        self._links: List[Link] = []
        self._old_alarm = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)

    def tearDown(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old_alarm)
        failed = False
        outcome = getattr(self, "_outcome", None)
        if outcome is not None and not getattr(outcome, "success", True):
            failed = True
        for link in self._links:
            link.close()
        for s in self._subjects:
            s.kill()
        if failed or TRACE:
            out = [f"\n----- {self.id()} -----"]
            for i, link in enumerate(self._links):
                out.append(f"wire log (link {i}, --> harness to subject, <-- subject to harness):")
                out.append(link.dump() or "(empty)")
            for s in self._subjects:
                out.append(f"subject output ({' '.join(s.cmd)}, mode {s.mode}):")
                out.append(s.output_tail())
            print("\n".join(out), file=sys.stderr)

    # -- building blocks --------------------------------------------------

    def byte_stream_only(self) -> None:
        """For tests of COBS framing itself (meaningless over WebSocket)."""
        if TRANSPORT == "ws":
            self.skipTest("byte-stream framing only (the run is over ws://)")

    def ws_only(self) -> None:
        if TRANSPORT != "ws":
            self.skipTest("WebSocket framing only (run with --transport ws)")

    def spawn(self, **kw) -> Subject:
        s = Subject(**kw)
        self._subjects.append(s)
        return s

    def connect(self, subject: Subject) -> Link:
        link = make_link(subject.accept())
        self._links.append(link)
        return link

    def recv_hello(self, link: Link, timeout: float = IO_TIMEOUT) -> Hello:
        m = link.recv(timeout)
        if m is None:
            self.fail("subject closed the link before sending Hello")
        if not isinstance(m, Hello):
            self.fail(f"the subject's first message must be Hello, got {w.describe(m)} "
                      f"[message.hello.timing]")
        return m

    def handshake(self, link: Link, hello: Tuple[int, int] = DEFAULT_HELLO) -> Peer:
        theirs = self.recv_hello(link)
        ours = Hello(hello[0], hello[1])
        link.send(ours)
        return Peer(link, ours, theirs)

    def start(self, hello: Tuple[int, int] = DEFAULT_HELLO, **kw) -> Peer:
        """Spawn a subject, accept it, exchange Hello."""
        subject = self.spawn(**kw)
        peer = self.handshake(self.connect(subject), hello)
        peer.subject = subject
        return peer

    # -- assertions -------------------------------------------------------

    def assertPayload(self, got: bytes, want: bytes, what: str = "") -> None:
        if bytes(got) != bytes(want):
            self.fail(f"{what + ': ' if what else ''}response payload\n  got  {fmt_payload(got)}"
                      f"\n  want {fmt_payload(want)}")

    def assertAlive(self, peer: Peer, conn: int = 0, text: str = "still alive") -> None:
        """An echo on `conn` must come back intact."""
        got = peer.roundtrip(ECHO, args_str(text), conn=conn)
        self.assertPayload(got, ok(w.enc_str(text)), f"echo on conn {conn} after the step")


# ---------------------------------------------------------------------------
# Testbed: method ids and payload helpers
# ---------------------------------------------------------------------------

ECHO = 0x9aabc4ba61fd5df3
REVERSE = 0xcba154600f640175
DIVIDE = 0xc3964cbee4b1d590
LOOKUP = 0xe71a0faedd014e59
SUM = 0x855b3a25d97bfefd
GENERATE = 0x54d2273d8cdb9c38
TRANSFORM = 0x5d9895604eb18b19
ECHO_POINT = 0x453fa9bf6932528c
CREATE_PERSON = 0x3dd231f57b1bca21
RECTANGLE_AREA = 0xba75c48683f1d9e6
RECTANGLE_AREA_LITERAL = 0x04ef653fdf0653c4
PARSE_COLOR = 0xe285f31c6dfffbfc
SHAPE_AREA = 0x6e706354167c00c2
CREATE_CANVAS = 0xa914982e7d3c7b55
PROCESS_MESSAGE = 0xed1dc0c625889d30
GET_POINTS = 0x5c8707f5ae4ccbcc
SWAP_PAIR = 0xacd19a29fe0d470c

METHOD_NAMES = {v: k.lower() for k, v in dict(globals()).items()
                if k.isupper() and isinstance(v, int) and v > 0xFFFFFFFF}

ERR_UNKNOWN_METHOD = b"\x01\x01"
ERR_INVALID_PAYLOAD = b"\x01\x02"
ERR_CANCELLED = b"\x01\x03"

# Colors, shapes, messages: variant indices
RED, GREEN, BLUE = 0, 1, 2


def ok(t: bytes = b"") -> bytes:
    return b"\x00" + t


def user_err(e: bytes) -> bytes:
    return b"\x01\x00" + e


def args_str(s: str) -> bytes:
    return w.enc_str(s)


def enc_point(x: int, y: int) -> bytes:
    return w.enc_i32(x) + w.enc_i32(y)


def enc_person(name: str, age: int, email: Optional[str]) -> bytes:
    return w.enc_str(name) + w.enc_u8(age) + w.enc_option(email, w.enc_str)


def enc_rect(tl: Tuple[int, int], br: Tuple[int, int], label: Optional[str]) -> bytes:
    return enc_point(*tl) + enc_point(*br) + w.enc_option(label, w.enc_str)


def enc_shape(shape: tuple) -> bytes:
    kind = shape[0]
    if kind == "circle":
        return w.varint(0) + w.enc_f64(shape[1])
    if kind == "rectangle":
        return w.varint(1) + w.enc_f64(shape[1]) + w.enc_f64(shape[2])
    if kind == "point":
        return w.varint(2)
    raise ValueError(kind)


def enc_canvas(name: str, shapes: List[tuple], background: int) -> bytes:
    return w.enc_str(name) + w.enc_seq(shapes, enc_shape) + w.varint(background)


def enc_msg(msg: tuple) -> bytes:
    kind, v = msg
    if kind == "text":
        return w.varint(0) + w.enc_str(v)
    if kind == "number":
        return w.varint(1) + w.enc_i64(v)
    if kind == "data":
        return w.varint(2) + w.enc_bytes(v)
    raise ValueError(kind)


def trunc_div(a: int, b: int) -> int:
    """Rust i64 division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


# ---------------------------------------------------------------------------
# Harness-side Testbed server for client-mode tests
# ---------------------------------------------------------------------------

class HarnessTestbed:
    """Serves echo/reverse/sum/generate/transform to a client-mode subject at
    the wire level and records what the subject sent.

    `fault(request) -> None | bytes | "close" | "goodbye"` may replace the
    normal answer: bytes are sent as the Response payload, "close" closes the
    link at once, "goodbye" sends Goodbye{0, reason} and closes.
    `generate_close=False` answers generate without an explicit Close."""

    def __init__(self, tc: unittest.TestCase, peer: Peer,
                 fault: Optional[Callable[[Request], object]] = None,
                 generate_close: bool = True, grant_policy: str = "window"):
        self.tc, self.peer, self.fault = tc, peer, fault
        self.generate_close = generate_close
        self.grant_policy = grant_policy
        self.requests: List[Request] = []
        self.sum_calls: Dict[Tuple[int, int], dict] = {}
        self.channel_data: Dict[Tuple[int, int], List[bytes]] = collections.defaultdict(list)
        self.closed_by_subject: List[Tuple[int, int]] = []
        self.goodbye: Optional[Goodbye] = None
        self.link_closed_by_harness = False
        self.consumed: Dict[Tuple[int, int], int] = collections.defaultdict(int)
        self.known_channels: set = set()  # every channel a Request listed

    def respond(self, req: Request, payload: bytes) -> None:
        self.peer.send(Response(req.conn_id, req.request_id, payload))

    def _grant_back(self, key: Tuple[int, int], n: int) -> None:
        """Receiver policy: grant back consumed bytes once the subject's
        remaining credit falls below half the window."""
        self.consumed[key] += n
        if self.grant_policy == "none":
            return
        self.peer.settle()  # catch an overrun already on the wire before granting
        if self.grant_policy == "each":
            self.peer.grant(key[0], key[1], self.consumed.pop(key))
            return
        if 2 * self.peer.recv_credit.get(key, 0) < self.peer.credit:
            self.peer.grant(key[0], key[1], self.consumed.pop(key))

    def handle_request(self, req: Request) -> bool:
        """Returns False when the harness closed the link."""
        self.requests.append(req)
        for ch in req.channels:
            self.known_channels.add((req.conn_id, ch))
        if self.fault is not None:
            action = self.fault(req)
            if action == "close":
                self.peer.link.close()
                self.link_closed_by_harness = True
                return False
            if action == "goodbye":
                self.peer.send(Goodbye(0, "harness: test-injected shutdown"))
                self.peer.link.close()
                self.link_closed_by_harness = True
                return False
            if isinstance(action, (bytes, bytearray)):
                self.respond(req, bytes(action))
                return True
        mid = req.method_id
        try:
            if mid in (ECHO, REVERSE):
                s = w.decode_all(req.payload, lambda r: r.str())
                self.respond(req, ok(w.enc_str(s if mid == ECHO else s[::-1])))
            elif mid == SUM:
                ch = w.decode_all(req.payload, lambda r: r.u64())
                self.tc.assertEqual(req.channels, [ch], "sum Request.channels must list the "
                                    "channel id in the payload [call.request.channels]")
                self.sum_calls[(req.conn_id, ch)] = {"req": req, "total": 0}
                self.peer.open_recv(req.conn_id, ch)
            elif mid == GENERATE:
                r = w.Reader(req.payload)
                count, ch = r.u32(), r.u64()
                r.expect_end("generate args")
                self.tc.assertEqual(req.channels, [ch], "generate Request.channels must list "
                                    "the output channel [call.request.channels]")
                self.peer.open_send(req.conn_id, ch)
                for i in range(count):
                    self.peer.send_data(req.conn_id, ch, w.enc_i32(i))
                if self.generate_close:
                    self.peer.send(Close(req.conn_id, ch))
                self.respond(req, ok())
            else:
                self.respond(req, ERR_UNKNOWN_METHOD)
        except w.DecodeError:
            self.respond(req, ERR_INVALID_PAYLOAD)
        return True

    def handle(self, m: w.Message) -> bool:
        if isinstance(m, Request):
            return self.handle_request(m)
        if isinstance(m, Data):
            key = (m.conn_id, m.channel_id)
            if key not in self.sum_calls:
                if key in self.known_channels:
                    return True  # the call already failed: late data is fine
                raise AssertionError(f"subject sent Data on channel {m.channel_id} that no "
                                     f"Request of its opened [channeling.unknown]")
            try:
                v = w.decode_all(m.payload, lambda r: r.i32())
            except w.DecodeError as e:
                raise AssertionError(f"subject's sum Data does not decode as i32: {e}") from None
            self.channel_data[key].append(m.payload)
            self.sum_calls[key]["total"] += v
            self._grant_back(key, len(m.payload))
        elif isinstance(m, Close):
            key = (m.conn_id, m.channel_id)
            if key not in self.sum_calls:
                if key in self.known_channels:
                    return True
                raise AssertionError(f"subject sent Close on unknown channel {m.channel_id}")
            self.closed_by_subject.append(key)
            call = self.sum_calls.pop(key)
            self.respond(call["req"], ok(w.enc_i64(call["total"])))
        elif isinstance(m, Goodbye):
            self.goodbye = m
        return True

    def run(self, timeout: float = 15.0) -> None:
        """Serve until the subject closes the link (or the harness does)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"client-mode subject did not finish within {timeout:.0f}s")
            m = self.peer.next(timeout=left, what="the subject to finish its scenario")
            if m is None:
                self.peer.link.close()  # the subject closed: close our side too
                return
            if self.goodbye is not None and not isinstance(m, Goodbye):
                raise AssertionError(f"subject sent {w.describe(m)} after its Goodbye")
            if not self.handle(m):
                return
