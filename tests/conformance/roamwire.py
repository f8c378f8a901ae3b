"""Independent roam v0.6.0 wire codec for the conformance harness.

Standard library only. Covers postcard primitives (LEB128 varints, zigzag,
strings, bytes, options, sequences, floats), COBS framing and the twelve
`Message` variants with their metadata. Written from PROTOCOL.md sections 2-4;
it shares no code with the C implementation under test.

Metadata is a list of ``(key, value)`` pairs where the value's Python type
selects the MetadataValue variant: ``str`` -> String (0), ``bytes`` -> Bytes (1),
``int`` -> U64 (2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple, Union

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


class DecodeError(Exception):
    """Bytes that do not decode (truncated, overflowing, bad UTF-8, bad COBS)."""


class UnknownVariant(DecodeError):
    """A Message discriminant outside 0..=11."""


class UnknownHelloVersion(DecodeError):
    """A Hello whose variant is not V2 (V1 = deprecated, or unknown)."""

    def __init__(self, variant: int):
        super().__init__(f"hello variant {variant}")
        self.variant = variant


# ---------------------------------------------------------------------------
# postcard: encoding
# ---------------------------------------------------------------------------

def varint(n: int) -> bytes:
    """Unsigned LEB128."""
    if n < 0:
        raise ValueError("varint of a negative number")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n: int, bits: int = 64) -> int:
    return ((n << 1) ^ (n >> (bits - 1))) & ((1 << bits) - 1)


def unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def enc_u8(n: int) -> bytes:
    return bytes([n & 0xFF])


def enc_bool(b: bool) -> bytes:
    return b"\x01" if b else b"\x00"


def enc_u32(n: int) -> bytes:
    assert 0 <= n <= U32_MAX
    return varint(n)


def enc_u64(n: int) -> bytes:
    assert 0 <= n <= U64_MAX
    return varint(n)


def enc_i32(n: int) -> bytes:
    assert I32_MIN <= n <= I32_MAX
    return varint(zigzag(n, 32))


def enc_i64(n: int) -> bytes:
    assert I64_MIN <= n <= I64_MAX
    return varint(zigzag(n, 64))


def enc_f32(x: float) -> bytes:
    return struct.pack("<f", x)


def enc_f64(x: float) -> bytes:
    return struct.pack("<d", x)


def enc_bytes(b: bytes) -> bytes:
    return varint(len(b)) + bytes(b)


def enc_str(s: str) -> bytes:
    return enc_bytes(s.encode("utf-8"))


def enc_option(v, enc: Callable) -> bytes:
    return b"\x00" if v is None else b"\x01" + enc(v)


def enc_seq(items, enc: Callable) -> bytes:
    items = list(items)
    return varint(len(items)) + b"".join(enc(i) for i in items)


# ---------------------------------------------------------------------------
# postcard: decoding
# ---------------------------------------------------------------------------

class Reader:
    """Cursor over postcard bytes; every method raises DecodeError on bad input."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> bool:
        return self.pos == len(self.data)

    def expect_end(self, what: str = "value") -> None:
        if not self.done():
            raise DecodeError(f"{self.remaining()} trailing bytes after {what}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(f"truncated: need {n} bytes, have {self.remaining()}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def bool(self) -> bool:
        b = self.u8()
        if b > 1:
            raise DecodeError(f"bool byte {b:#x}")
        return b == 1

    def varint(self, bits: int = 64) -> int:
        max_bytes = (bits + 6) // 7
        result = 0
        for i in range(max_bytes):
            b = self.u8()
            result |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if result >> bits:
                    raise DecodeError(f"varint overflows u{bits}")
                return result
        raise DecodeError(f"varint longer than {max_bytes} bytes for u{bits}")

    def u16(self) -> int:
        return self.varint(16)

    def u32(self) -> int:
        return self.varint(32)

    def u64(self) -> int:
        return self.varint(64)

    def i32(self) -> int:
        return unzigzag(self.varint(32))

    def i64(self) -> int:
        return unzigzag(self.varint(64))

    def f32(self) -> float:
        return struct.unpack("<f", self.take(4))[0]

    def f64(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def bytes_(self) -> bytes:
        n = self.varint(64)
        return self.take(n)

    def str(self) -> str:
        raw = self.bytes_()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"invalid UTF-8: {e}") from None

    def option(self, dec: Callable):
        tag = self.u8()
        if tag == 0:
            return None
        if tag == 1:
            return dec()
        raise DecodeError(f"option tag {tag:#x}")

    def seq(self, dec: Callable) -> list:
        n = self.varint(64)
        if n > self.remaining():  # every element takes at least one byte here
            raise DecodeError(f"sequence of {n} elements in {self.remaining()} bytes")
        return [dec() for _ in range(n)]


def decode_all(data: bytes, dec: Callable[[Reader], object]):
    """Decode one value that must use every byte."""
    r = Reader(data)
    v = dec(r)
    r.expect_end()
    return v


# ---------------------------------------------------------------------------
# COBS
# ---------------------------------------------------------------------------

def cobs_encode(data: bytes) -> bytes:
    """COBS without the trailing 0x00 delimiter (the classic algorithm: a run
    of 254 non-zero bytes that ends the input gets no extra 0x01 code)."""
    out = bytearray([0])
    code_idx = 0
    code = 1
    n = len(data)
    for i, b in enumerate(data):
        if b:
            out.append(b)
            code += 1
        if not b or code == 0xFF:
            out[code_idx] = code
            code = 1
            if not b or i + 1 < n:
                code_idx = len(out)
                out.append(0)
            else:
                code_idx = -1
    if code_idx >= 0:
        out[code_idx] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of cobs_encode (input has no 0x00). Raises DecodeError."""
    out = bytearray()
    i = 0
    n = len(data)
    if n == 0:
        raise DecodeError("empty COBS frame")
    while i < n:
        code = data[i]
        if code == 0:
            raise DecodeError("zero byte inside COBS frame")
        end = i + code
        if end > n:
            raise DecodeError(f"COBS code {code} at {i} runs past the frame end ({n})")
        block = data[i + 1:end]
        if 0 in block:
            raise DecodeError("zero byte inside COBS frame")
        out += block
        i = end
        if i < n and code != 0xFF:
            out.append(0)
    return bytes(out)


def frame(payload: bytes) -> bytes:
    """COBS-encode one message and append the delimiter."""
    return cobs_encode(payload) + b"\x00"


# ---------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------

MetaValue = Union[str, bytes, int]
Metadata = List[Tuple[str, MetaValue]]

MD_STRING, MD_BYTES, MD_U64 = 0, 1, 2


def enc_meta_value(v: MetaValue) -> bytes:
    if isinstance(v, str):
        return varint(MD_STRING) + enc_str(v)
    if isinstance(v, (bytes, bytearray)):
        return varint(MD_BYTES) + enc_bytes(bytes(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return varint(MD_U64) + enc_u64(v)
    raise TypeError(f"metadata value {v!r}")


def enc_metadata(md: Optional[Metadata]) -> bytes:
    md = md or []
    out = bytearray(varint(len(md)))
    for k, v in md:
        out += enc_str(k) if isinstance(k, str) else enc_bytes(k)
        out += enc_meta_value(v)
    return bytes(out)


def dec_meta_value(r: Reader) -> MetaValue:
    tag = r.varint(32)
    if tag == MD_STRING:
        return r.str()
    if tag == MD_BYTES:
        return r.bytes_()
    if tag == MD_U64:
        return r.u64()
    raise DecodeError(f"MetadataValue variant {tag}")


def dec_metadata(r: Reader) -> Metadata:
    return r.seq(lambda: (r.str(), dec_meta_value(r)))


def metadata_sizes(md: Metadata) -> Tuple[int, int, int, int]:
    """(entries, longest key, longest value, total keys+values) as in
    [call.metadata.limits]: a U64 value counts as 8 bytes."""
    longest_key = longest_val = total = 0
    for k, v in md:
        kl = len(k.encode("utf-8")) if isinstance(k, str) else len(k)
        if isinstance(v, str):
            vl = len(v.encode("utf-8"))
        elif isinstance(v, (bytes, bytearray)):
            vl = len(v)
        else:
            vl = 8
        longest_key = max(longest_key, kl)
        longest_val = max(longest_val, vl)
        total += kl + vl
    return len(md), longest_key, longest_val, total


MAX_MD_ENTRIES = 128
MAX_MD_KEY = 256
MAX_MD_VALUE = 16384
MAX_MD_TOTAL = 65536


def metadata_violation(md: Metadata) -> Optional[str]:
    n, lk, lv, total = metadata_sizes(md)
    if n > MAX_MD_ENTRIES:
        return f"{n} entries"
    if lk > MAX_MD_KEY:
        return f"key of {lk} bytes"
    if lv > MAX_MD_VALUE:
        return f"value of {lv} bytes"
    if total > MAX_MD_TOTAL:
        return f"{total} bytes in total"
    return None


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------

HELLO_V1, HELLO_V2 = 0, 1


@dataclass
class Hello:
    max_payload_size: int
    initial_channel_credit: int
    version: int = HELLO_V2  # 0 = V1 (deprecated), 1 = V2
    DISC = 0


@dataclass
class Connect:
    request_id: int
    metadata: Metadata = field(default_factory=list)
    DISC = 1


@dataclass
class Accept:
    request_id: int
    conn_id: int
    metadata: Metadata = field(default_factory=list)
    DISC = 2


@dataclass
class Reject:
    request_id: int
    reason: str
    metadata: Metadata = field(default_factory=list)
    DISC = 3


@dataclass
class Goodbye:
    conn_id: int
    reason: str
    DISC = 4


@dataclass
class Request:
    conn_id: int
    request_id: int
    method_id: int
    payload: bytes = b""
    channels: List[int] = field(default_factory=list)
    metadata: Metadata = field(default_factory=list)
    DISC = 5


@dataclass
class Response:
    conn_id: int
    request_id: int
    payload: bytes = b""
    channels: List[int] = field(default_factory=list)
    metadata: Metadata = field(default_factory=list)
    DISC = 6


@dataclass
class Cancel:
    conn_id: int
    request_id: int
    DISC = 7


@dataclass
class Data:
    conn_id: int
    channel_id: int
    payload: bytes = b""
    DISC = 8


@dataclass
class Close:
    conn_id: int
    channel_id: int
    DISC = 9


@dataclass
class Reset:
    conn_id: int
    channel_id: int
    DISC = 10


@dataclass
class Credit:
    conn_id: int
    channel_id: int
    bytes: int
    DISC = 11


Message = Union[Hello, Connect, Accept, Reject, Goodbye, Request, Response,
                Cancel, Data, Close, Reset, Credit]

MESSAGE_NAMES = ["Hello", "Connect", "Accept", "Reject", "Goodbye", "Request",
                 "Response", "Cancel", "Data", "Close", "Reset", "Credit"]


def encode_message(m: Message) -> bytes:
    """Postcard encoding of one Message (no framing)."""
    d = varint(m.DISC)
    if isinstance(m, Hello):
        return d + varint(m.version) + enc_u32(m.max_payload_size) + \
            enc_u32(m.initial_channel_credit)
    if isinstance(m, Connect):
        return d + enc_u64(m.request_id) + enc_metadata(m.metadata)
    if isinstance(m, Accept):
        return d + enc_u64(m.request_id) + enc_u64(m.conn_id) + enc_metadata(m.metadata)
    if isinstance(m, Reject):
        return d + enc_u64(m.request_id) + enc_str(m.reason) + enc_metadata(m.metadata)
    if isinstance(m, Goodbye):
        return d + enc_u64(m.conn_id) + enc_str(m.reason)
    if isinstance(m, Request):
        return (d + enc_u64(m.conn_id) + enc_u64(m.request_id) + enc_u64(m.method_id)
                + enc_metadata(m.metadata) + enc_seq(m.channels, enc_u64)
                + enc_bytes(m.payload))
    if isinstance(m, Response):
        return (d + enc_u64(m.conn_id) + enc_u64(m.request_id) + enc_metadata(m.metadata)
                + enc_seq(m.channels, enc_u64) + enc_bytes(m.payload))
    if isinstance(m, Cancel):
        return d + enc_u64(m.conn_id) + enc_u64(m.request_id)
    if isinstance(m, Data):
        return d + enc_u64(m.conn_id) + enc_u64(m.channel_id) + enc_bytes(m.payload)
    if isinstance(m, (Close, Reset)):
        return d + enc_u64(m.conn_id) + enc_u64(m.channel_id)
    if isinstance(m, Credit):
        return d + enc_u64(m.conn_id) + enc_u64(m.channel_id) + enc_u32(m.bytes)
    raise TypeError(f"not a message: {m!r}")


def decode_message(data: bytes, allow_trailing: bool = False) -> Message:
    """Decode one Message. Raises UnknownVariant, UnknownHelloVersion
    (for V1 and unknown Hello variants) or DecodeError."""
    r = Reader(data)
    disc = r.varint(64)
    if disc == 0:
        v = r.varint(32)
        if v != HELLO_V2:
            if v == HELLO_V1:
                # Decode it anyway so the caller can tell V1 from garbage.
                r.u32()
                r.u32()
            raise UnknownHelloVersion(v)
        m: Message = Hello(r.u32(), r.u32(), HELLO_V2)
    elif disc == 1:
        m = Connect(r.u64(), dec_metadata(r))
    elif disc == 2:
        m = Accept(r.u64(), r.u64(), dec_metadata(r))
    elif disc == 3:
        m = Reject(r.u64(), r.str(), dec_metadata(r))
    elif disc == 4:
        m = Goodbye(r.u64(), r.str())
    elif disc == 5:
        conn, rid, mid = r.u64(), r.u64(), r.u64()
        md = dec_metadata(r)
        ch = r.seq(r.u64)
        m = Request(conn, rid, mid, r.bytes_(), ch, md)
    elif disc == 6:
        conn, rid = r.u64(), r.u64()
        md = dec_metadata(r)
        ch = r.seq(r.u64)
        m = Response(conn, rid, r.bytes_(), ch, md)
    elif disc == 7:
        m = Cancel(r.u64(), r.u64())
    elif disc == 8:
        m = Data(r.u64(), r.u64(), r.bytes_())
    elif disc == 9:
        m = Close(r.u64(), r.u64())
    elif disc == 10:
        m = Reset(r.u64(), r.u64())
    elif disc == 11:
        m = Credit(r.u64(), r.u64(), r.u32())
    else:
        raise UnknownVariant(f"message discriminant {disc}")
    if not allow_trailing:
        r.expect_end("message")
    return m


def describe(m: Message, limit: int = 48) -> str:
    """One-line human description, used in wire logs."""
    def short(b: bytes) -> str:
        h = bytes(b[:limit]).hex(" ")
        return h + (" …" if len(b) > limit else "") + f" ({len(b)}B)"
    if isinstance(m, Hello):
        ver = {0: "V1", 1: "V2"}.get(m.version, f"v{m.version}")
        return f"Hello::{ver}{{max_payload={m.max_payload_size}, credit={m.initial_channel_credit}}}"
    if isinstance(m, Request):
        return (f"Request{{conn={m.conn_id}, id={m.request_id}, method={m.method_id:#018x}, "
                f"md={len(m.metadata)}, channels={m.channels}, payload={short(m.payload)}}}")
    if isinstance(m, Response):
        return (f"Response{{conn={m.conn_id}, id={m.request_id}, md={len(m.metadata)}, "
                f"channels={m.channels}, payload={short(m.payload)}}}")
    if isinstance(m, Data):
        return f"Data{{conn={m.conn_id}, ch={m.channel_id}, payload={short(m.payload)}}}"
    if isinstance(m, (Connect, Accept, Reject)):
        s = repr(m)
        return s if len(s) < 200 else s[:200] + "…"
    return repr(m)
