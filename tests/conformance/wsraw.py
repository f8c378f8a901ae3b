"""Raw WebSocket (RFC 6455) frames and handshakes over a plain socket, for
tests that must also send what a well-behaved library never would (text
messages, unmasked client frames, reserved bits, oversized headers).
Standard library only."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
from typing import Dict, Optional, Tuple

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WsError(AssertionError):
    pass


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes, mask: bool, fin: bool = True, rsv: int = 0,
                 length: Optional[int] = None) -> bytes:
    """One frame. `length` overrides the header's payload length (to announce
    more than is sent)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return hdr + key + body
    return hdr + payload


def read_http_head(sock: socket.socket, timeout: float, limit: int = 65536) -> Tuple[bytes, bytes]:
    """Read up to the blank line; returns (head, bytes after it)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WsError("timed out waiting for an HTTP header")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise WsError(f"connection closed during the HTTP header ({buf[:200]!r})")
        buf += chunk
        if len(buf) > limit:
            raise WsError("HTTP header too long")
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def parse_head(head: bytes) -> Tuple[str, Dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    hdrs: Dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return lines[0], hdrs


class WsSocket:
    """A WebSocket endpoint over a connected socket (client: masks its
    frames and wants unmasked ones; server: the reverse)."""

    def __init__(self, sock: socket.socket, client: bool, rest: bytes = b""):
        self.sock = sock
        self.client = client
        self.buf = bytearray(rest)
        self.eof = False

    # -- sending
    def send_frame(self, opcode: int, payload: bytes, mask: Optional[bool] = None,
                   fin: bool = True, rsv: int = 0) -> None:
        m = self.client if mask is None else mask
        self.sock.sendall(encode_frame(opcode, payload, m, fin, rsv))

    def send_binary(self, payload: bytes) -> None:
        self.send_frame(OP_BINARY, payload)

    def send_close(self, code: int = 1000) -> None:
        self.send_frame(OP_CLOSE, struct.pack("!H", code))

    # -- receiving
    def _need(self, n: int, deadline: float) -> bool:
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for a frame")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(262144)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def recv_frame(self, timeout: float) -> Optional[Tuple[bool, int, bytes, bool]]:
        """(fin, opcode, payload, masked), None on EOF."""
        deadline = time.monotonic() + timeout
        if not self._need(2, deadline):
            if self.buf:
                raise WsError("connection closed inside a frame header")
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            if not self._need(4, deadline):
                raise WsError("connection closed inside a frame header")
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            if not self._need(10, deadline):
                raise WsError("connection closed inside a frame header")
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            if not self._need(off + 4, deadline):
                raise WsError("connection closed inside a frame header")
            key = bytes(self.buf[off:off + 4])
            off += 4
        if not self._need(off + n, deadline):
            raise WsError("connection closed inside a frame")
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        if b0 & 0x70:
            raise WsError("frame with reserved bits set")
        return bool(b0 & 0x80), b0 & 0x0F, payload, masked

    def recv_message(self, timeout: float) -> Optional[Tuple[int, bytes]]:
        """Next data or close message, answering pings; (opcode, payload) or
        None on EOF. Checks the masking rule of the peer's side."""
        deadline = time.monotonic() + timeout
        parts = []
        first_op = None
        while True:
            fr = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if fr is None:
                return None
            fin, op, payload, masked = fr
            if masked == self.client:
                raise WsError("the peer's frame has the wrong masking "
                              f"({'masked' if masked else 'unmasked'})")
            if op == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                return OP_CLOSE, payload
            if first_op is None:
                first_op = op
            parts.append(payload)
            if fin:
                return first_op, b"".join(parts)


def client_handshake(sock: socket.socket, host: str, path: str = "/", timeout: float = 5.0,
                     key: Optional[str] = None, version: str = "13",
                     extra: str = "") -> Tuple[int, Dict[str, str], bytes]:
    """Send an upgrade request; returns (status, headers, bytes after the
    header). Checks Sec-WebSocket-Accept on a 101."""
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           f"Sec-WebSocket-Version: {version}\r\n{extra}\r\n")
    sock.sendall(req.encode())
    head, rest = read_http_head(sock, timeout)
    status_line, hdrs = parse_head(head)
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if status == 101 and hdrs.get("sec-websocket-accept") != accept_key(key):
        raise WsError(f"wrong Sec-WebSocket-Accept {hdrs.get('sec-websocket-accept')!r}")
    return status, hdrs, rest


def connect(host: str, port: int, path: str = "/", timeout: float = 5.0) -> WsSocket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    status, _, rest = client_handshake(sock, f"{host}:{port}", path, timeout)
    if status != 101:
        sock.close()
        raise WsError(f"upgrade refused: HTTP {status}")
    return WsSocket(sock, client=True, rest=rest)


def server_handshake(sock: socket.socket, path: str, timeout: float = 5.0) -> WsSocket:
    """Answer a client's upgrade request (checking it as RFC 6455 §4.1 says
    a client must send it); returns the server end."""
    head, rest = read_http_head(sock, timeout)
    line, hdrs = parse_head(head)
    problems = []
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        problems.append(f"request line {line!r}")
    elif parts[1] != path:
        problems.append(f"path {parts[1]!r}, expected {path!r}")
    if "websocket" not in hdrs.get("upgrade", "").lower():
        problems.append("no Upgrade: websocket")
    if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
        problems.append("no Connection: Upgrade")
    if hdrs.get("sec-websocket-version") != "13":
        problems.append("Sec-WebSocket-Version is not 13")
    if "host" not in hdrs:
        problems.append("no Host")
    key = hdrs.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            problems.append("Sec-WebSocket-Key is not 16 bytes")
    except ValueError:
        problems.append("Sec-WebSocket-Key is not base64")
    if problems:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        raise WsError("bad upgrade request from the subject: " + "; ".join(problems))
    sock.sendall((f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(key)}\r\n\r\n")
                 .encode())
    return WsSocket(sock, client=False, rest=rest)
