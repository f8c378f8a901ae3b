"""Self-check of the harness codec against the reference golden vectors
(no subject needed). If these fail, no other result of the suite can be
trusted."""

import unittest

import roamwire as w
from harness import GOLDEN_DIR
from roamwire import (Accept, Cancel, Close, Connect, Credit, Data, Goodbye, Hello,
                      Reject, Request, Reset, Response)


def golden(rel: str) -> bytes:
    return (GOLDEN_DIR / rel).read_bytes()


@unittest.skipUnless(GOLDEN_DIR.is_dir(), f"golden vectors not found at {GOLDEN_DIR}")
class GoldenVectors(unittest.TestCase):
    def test_varints(self):
        files = sorted((GOLDEN_DIR / "varint").glob("u64_*.bin"))
        self.assertTrue(files)
        for f in files:
            n = int(f.stem[4:])
            self.assertEqual(w.varint(n), f.read_bytes(), f.name)
            self.assertEqual(w.decode_all(f.read_bytes(), lambda r: r.u64()), n)

    def test_primitives(self):
        I = {"0": 0, "1": 1, "127": 127, "128": 128, "255": 255, "256": 256,
             "15": 15, "42": 42, "neg1": -1, "neg128": -128}
        cases = {}
        for bits, mx in (("i8", 127), ("i16", 32767), ("i32", 2**31 - 1), ("i64", 2**63 - 1)):
            cases[f"{bits}_max"] = (bits, mx)
            cases[f"{bits}_min"] = (bits, -mx - 1)
        for bits, mx in (("u8", 255), ("u16", 65535), ("u32", 2**32 - 1), ("u64", 2**64 - 1)):
            cases[f"{bits}_max"] = (bits, mx)
        checked = 0
        for f in sorted((GOLDEN_DIR / "primitives").glob("*.bin")):
            name = f.stem
            data = f.read_bytes()
            kind, _, val = name.partition("_")
            if kind in ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"):
                v = cases[name][1] if name in cases else I[val]
                if kind in ("u8", "i8"):
                    enc = bytes([v & 0xFF])
                elif kind.startswith("u"):
                    enc = w.varint(v)
                else:
                    enc = w.varint(w.zigzag(v, int(kind[1:])))
                self.assertEqual(enc, data, name)
                checked += 1
            elif kind in ("f32", "f64"):
                v = {"0": 0.0, "0_25": 0.25, "1": 1.0, "1_5": 1.5, "neg1": -1.0}[val]
                self.assertEqual((w.enc_f32 if kind == "f32" else w.enc_f64)(v), data, name)
                checked += 1
        self.assertGreater(checked, 40)
        P = lambda n: golden(f"primitives/{n}.bin")  # noqa: E731
        self.assertEqual(w.enc_bool(True), P("bool_true"))
        self.assertEqual(w.enc_bool(False), P("bool_false"))
        self.assertEqual(w.enc_str("hello world"), P("string_hello"))
        self.assertEqual(w.enc_str(""), P("string_empty"))
        self.assertEqual(w.enc_str("héllo 世界 🦀"), P("string_unicode"))
        self.assertEqual(w.enc_bytes(bytes.fromhex("deadbeef")), P("bytes_deadbeef"))
        self.assertEqual(w.enc_bytes(b""), P("bytes_empty"))
        self.assertEqual(w.enc_option(42, w.enc_u32), P("option_some_u32_42"))
        self.assertEqual(w.enc_option(None, w.enc_u32), P("option_none_u32"))
        self.assertEqual(w.enc_option(None, w.enc_str), P("option_none_string"))
        self.assertEqual(b"\x00" + w.enc_i64(42), P("result_ok_i64_42"))
        self.assertEqual(b"\x01" + w.enc_str("error message"), P("result_err_string"))
        self.assertEqual(w.enc_i32(42) + w.enc_str("hello"), P("tuple_i32_string"))
        self.assertEqual(w.enc_str("hello") + w.enc_i32(42), P("tuple_string_i32"))
        self.assertEqual(w.enc_seq([-1, 0, 1], w.enc_i32), P("vec_i32_neg1_0_1"))
        self.assertEqual(w.enc_seq(["a", "b"], w.enc_str), P("vec_string"))
        self.assertEqual(w.enc_seq([], w.enc_u32), P("vec_empty_u32"))

    def test_cobs(self):
        for f in sorted((GOLDEN_DIR / "cobs").glob("*_raw.bin")):
            raw = f.read_bytes()
            enc = (GOLDEN_DIR / "cobs" / f.name.replace("_raw", "_encoded")).read_bytes()
            self.assertEqual(w.cobs_encode(raw), enc, f.name)
            self.assertEqual(w.cobs_decode(enc), raw, f.name)
        raw = golden("cobs/message_hello_typical_raw.bin")
        self.assertEqual(w.frame(raw), golden("cobs/message_hello_typical_framed.bin"))

    def test_cobs_long_runs(self):
        for n in (253, 254, 255, 508, 509, 1000):
            for data in (bytes([7]) * n, bytes([0]) + bytes([7]) * n, bytes([7]) * n + b"\0"):
                enc = w.cobs_encode(data)
                self.assertNotIn(0, enc)
                self.assertEqual(w.cobs_decode(enc), data)
        with self.assertRaises(w.DecodeError):
            w.cobs_decode(b"\x05\x01")

    def test_messages(self):
        M = {
            "message_hello_small": Hello(1024, 64),
            "message_hello_typical": Hello(1048576, 65536),
            "message_connect_empty": Connect(1, []),
            "message_connect_with_metadata": Connect(2, [("auth", "token123")]),
            "message_accept": Accept(1, 1, []),
            "message_reject": Reject(1, "not listening", []),
            "message_goodbye_conn0": Goodbye(0, "test"),
            "message_goodbye_conn1": Goodbye(1, "done"),
            "message_request_empty": Request(0, 1, 42),
            "message_request_with_payload": Request(0, 1, 42, bytes.fromhex("deadbeef")),
            "message_request_with_metadata": Request(0, 5, 100, b"", [], [("key", "value")]),
            "message_request_with_channels": Request(0, 6, 200, b"\x42", [1, 3]),
            "message_request_conn1": Request(1, 1, 42, b"\x42"),
            "message_response": Response(0, 1, b"\x42"),
            "message_cancel": Cancel(0, 99),
            "message_data": Data(0, 1, b"\x01\x02\x03"),
            "message_close": Close(0, 7),
            "message_reset": Reset(0, 5),
            "message_credit": Credit(0, 3, 4096),
        }
        for name, msg in M.items():
            data = golden(f"wire/{name}.bin")
            self.assertEqual(w.encode_message(msg), data, name)
            self.assertEqual(w.decode_message(data), msg, name)
        for name in ("message_hello_small", "message_hello_typical"):
            v1 = bytearray(golden(f"wire/{name}.bin"))
            v1[1] = 0
            with self.assertRaises(w.UnknownHelloVersion):
                w.decode_message(bytes(v1))
        self.assertEqual(golden("wire/hello_v2_small.bin"), bytes.fromhex("01800840"))
        self.assertEqual(golden("wire/hello_v1_small.bin"), bytes.fromhex("00800840"))

    def test_metadata_values(self):
        md = [("s", "x"), ("b", b"\x00\x01"), ("u", 2**64 - 1), ("s", "dup")]
        m = Request(0, 1, 2, b"", [], md)
        self.assertEqual(w.decode_message(w.encode_message(m)), m)


class DecoderStrictness(unittest.TestCase):
    def test_varint_limits(self):
        with self.assertRaises(w.DecodeError):
            w.Reader(b"\xff" * 10 + b"\x01").u64()
        with self.assertRaises(w.DecodeError):
            w.Reader(b"\xff\xff\xff\xff\x1f").u32()
        self.assertEqual(w.Reader(b"\xff\xff\xff\xff\x0f").u32(), 2**32 - 1)
        self.assertEqual(w.Reader(b"\xff" * 9 + b"\x01").u64(), 2**64 - 1)
        with self.assertRaises(w.DecodeError):
            w.Reader(b"\xff" * 9 + b"\x02").u64()

    def test_unknown_variant(self):
        with self.assertRaises(w.UnknownVariant):
            w.decode_message(b"\x0c")

    def test_truncated(self):
        with self.assertRaises(w.DecodeError):
            w.decode_message(b"\x05\x00\x01")
        with self.assertRaises(w.DecodeError):
            w.decode_message(w.encode_message(Goodbye(0, "x"))[:-1])

    def test_bad_utf8(self):
        with self.assertRaises(w.DecodeError):
            w.decode_message(b"\x04\x00\x02\xc3\x28")


if __name__ == "__main__":
    unittest.main()
