"""Call semantics: call errors that keep the link open, pipelining,
cancellation, request ids and metadata that must be accepted."""

import roamwire as w
from harness import (DIVIDE, ECHO, ERR_CANCELLED, ERR_INVALID_PAYLOAD, ERR_UNKNOWN_METHOD,
                     GENERATE, LOOKUP, REVERSE, SUM, SWAP_PAIR, TRANSFORM, ConformanceTest,
                     args_str, enc_person, ok, trunc_div)
from roamwire import Cancel, Close, Data, Response


class CallErrors(ConformanceTest):

    def test_unknown_method(self):
        """[call.error.unknown-method] Response 01 01, link stays open."""
        peer = self.start()
        for mid in (0, 1, 0xdeadbeef, 2**64 - 1):
            self.assertPayload(peer.roundtrip(mid, args_str("x")), ERR_UNKNOWN_METHOD,
                               f"method {mid:#x}")
        self.assertAlive(peer)

    def test_invalid_payload(self):
        """[call.error.invalid-payload] Response 01 02, link stays open."""
        peer = self.start()
        cases = [
            (ECHO, b"", "empty payload for echo(String)"),
            (ECHO, b"\x05ab", "string length past the end"),
            (ECHO, b"\x02\xc3\x28", "invalid UTF-8"),
            (ECHO, b"\x80", "truncated varint"),
            (DIVIDE, w.enc_i64(1), "one i64 instead of two"),
            (LOOKUP, b"\xff\xff\xff\xff\x1f", "u32 overflow"),
            (LOOKUP, b"\xff\xff\xff\xff\xff\x01", "u32 varint too long"),
            (SWAP_PAIR, w.enc_i32(1), "tuple missing its String"),
        ]
        for mid, payload, what in cases:
            self.assertPayload(peer.roundtrip(mid, payload), ERR_INVALID_PAYLOAD, what)
        self.assertAlive(peer)

    def test_invalid_payload_channel_method(self):
        """A channel method whose payload does not decode: InvalidPayload,
        the link stays open."""
        peer = self.start()
        rid = peer.call(GENERATE, b"\x05", channels=[7])  # count without channel id
        self.assertPayload(peer.response(rid).payload, ERR_INVALID_PAYLOAD)
        rid = peer.call(SUM, b"", channels=[9])
        self.assertPayload(peer.response(rid).payload, ERR_INVALID_PAYLOAD)
        self.assertAlive(peer)

    def test_unknown_method_with_channels(self):
        """An unknown method that lists channels: UnknownMethod; the burned
        ids stay used [channeling.lifecycle.speculative] (no Goodbye)."""
        peer = self.start()
        rid = peer.call(0x1234, w.enc_u64(11), channels=[11])
        self.assertPayload(peer.response(rid).payload, ERR_UNKNOWN_METHOD)
        self.assertAlive(peer)


class Pipelining(ConformanceTest):

    def test_many_in_flight(self):
        """[call.pipelining.allowed] [call.lifecycle.ordering] 60 requests sent
        back to back, each answered exactly once, matched by id."""
        peer = self.start()
        expected = {}
        for i in range(60):
            kind = i % 4
            if kind == 0:
                s = f"msg-{i}"
                rid = peer.call(ECHO, args_str(s))
                expected[rid] = ok(w.enc_str(s))
            elif kind == 1:
                s = f"rev-{i}-é"
                rid = peer.call(REVERSE, args_str(s))
                expected[rid] = ok(w.enc_str(s[::-1]))
            elif kind == 2:
                rid = peer.call(DIVIDE, w.enc_i64(i * 7) + w.enc_i64(3))
                expected[rid] = ok(w.enc_i64(trunc_div(i * 7, 3)))
            else:
                rid = peer.call(LOOKUP, w.enc_u32(2))
                expected[rid] = ok(enc_person("Bob", 25, None))
        seen = {}
        while len(seen) < len(expected):
            m = peer.expect(lambda m: isinstance(m, Response), "pipelined responses")
            self.assertIn(m.request_id, expected, "Response for an id never sent")
            self.assertNotIn(m.request_id, seen, f"two Responses for request {m.request_id} "
                             f"[call.lifecycle.single-response]")
            seen[m.request_id] = m.payload
            self.assertPayload(m.payload, expected[m.request_id], f"request {m.request_id}")
        extra = [m for m in peer.drain_for(0.2) if isinstance(m, Response)]
        self.assertFalse(extra, "extra Responses")

    def test_slow_call_does_not_block(self):
        """[call.pipelining.independence] a sum waiting for its channel does
        not block later calls."""
        peer = self.start()
        slow = peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(40))
        for i in range(5):
            self.assertAlive(peer, text=f"while sum is open {i}")
        peer.send_data(0, 2, w.enc_i32(2))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(slow).payload, ok(w.enc_i64(42)))

    def test_interleaved_channel_calls(self):
        """Two sums and a transform open at once, data interleaved."""
        peer = self.start()
        a = peer.call(SUM, w.enc_u64(2), channels=[2])
        b = peer.call(SUM, w.enc_u64(3), channels=[3])
        t = peer.call(TRANSFORM, w.enc_u64(4) + w.enc_u64(5), channels=[4, 5])
        peer.open_recv(0, 5)
        for i in range(10):
            peer.send_data(0, 2, w.enc_i32(i))
            peer.send_data(0, 3, w.enc_i32(-i))
            peer.send_data(0, 4, w.enc_str(f"s{i}"))
        peer.send(Close(0, 3))
        self.assertPayload(peer.response(b).payload, ok(w.enc_i64(-45)))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(a).payload, ok(w.enc_i64(45)))
        peer.send(Close(0, 4))
        self.assertPayload(peer.response(t).payload, ok())
        outs = [w.decode_all(m.payload, lambda r: r.str())
                for m in peer.drain_for(0.1)
                if isinstance(m, Data) and m.channel_id == 5]
        self.assertEqual(outs, [f"s{i}" for i in range(10)])

    def test_request_ids_any_value(self):
        """Request ids are the caller's business: large and out-of-order ids
        are answered with the same id."""
        peer = self.start()
        for rid in (2**64 - 1, 7, 3, 2**32, 1):
            peer.call(ECHO, args_str(str(rid)), rid=rid)
            r = peer.response(rid)
            self.assertPayload(r.payload, ok(w.enc_str(str(rid))))

    def test_request_id_reuse_after_response(self):
        """An id may be reused once its Response arrived (it is no longer in
        flight) [call.request-id.in-flight]."""
        peer = self.start()
        for i in range(3):
            peer.call(ECHO, args_str(f"again {i}"), rid=5)
            self.assertPayload(peer.response(5).payload, ok(w.enc_str(f"again {i}")))


class Cancellation(ConformanceTest):

    def test_cancel_finished_call_ignored(self):
        """[call.cancel.best-effort] Cancel after the Response: ignored, no
        second Response, link stays up."""
        peer = self.start()
        rid = peer.call(ECHO, args_str("done"))
        self.assertPayload(peer.response(rid).payload, ok(w.enc_str("done")))
        peer.send(Cancel(0, rid))
        peer.send(Cancel(0, 999))  # never used
        self.assertAlive(peer)
        extra = [m for m in peer.drain_for(0.3) if isinstance(m, Response)]
        self.assertFalse(extra, f"Response after Cancel of a finished call: {extra}")

    def test_cancel_in_flight_sum(self):
        """[call.cancel.best-effort] Cancel of a sum still waiting for its
        channel: exactly one Response, Err(Cancelled) = 01 03."""
        peer = self.start()
        rid = peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(1))
        self.assertAlive(peer)  # make sure the call is running
        peer.send(Cancel(0, rid))
        self.assertPayload(peer.response(rid).payload, ERR_CANCELLED, "cancelled sum")
        self.assertAlive(peer)
        extra = [m for m in peer.drain_for(0.3) if isinstance(m, Response)]
        self.assertFalse(extra, "more than one Response for the cancelled call")

    def test_cancel_blocked_generate(self):
        """Cancel of a generate blocked on zero credit: Err(Cancelled), and
        no Data after the Response."""
        peer = self.start(hello=(1 << 20, 8))
        rid = peer.call(GENERATE, w.enc_u32(100) + w.enc_u64(2), channels=[2])
        peer.open_recv(0, 2)
        peer.drain_for(0.3)  # the first 8 bytes worth of values
        peer.send(Cancel(0, rid))
        resp = peer.response(rid)
        self.assertPayload(resp.payload, ERR_CANCELLED, "cancelled generate")
        late = [m for m in peer.drain_for(0.3) if isinstance(m, Data) and m.channel_id == 2]
        self.assertFalse(late, "Data on the output channel after the Response")
        self.assertAlive(peer)


class Metadata(ConformanceTest):

    def test_metadata_accepted_and_ignored(self):
        """[call.metadata.unknown] [call.metadata.duplicates] all value kinds,
        duplicate keys, unknown keys."""
        peer = self.start()
        md = [("auth", "token123"), ("trace", b"\x00\x01\x02"), ("n", 2**64 - 1),
              ("auth", "second"), ("roam-nonce", bytes(16)), ("", "")]
        got = peer.roundtrip(ECHO, args_str("md"), metadata=md)
        self.assertPayload(got, ok(w.enc_str("md")))

    def test_metadata_at_limits_accepted(self):
        """[call.metadata.limits] exactly at every limit is fine: 128
        entries; a 256-byte key; a 16384-byte value; 65536 bytes in total."""
        peer = self.start()
        cases = {
            "128 entries": [(f"k{i}", i) for i in range(128)],
            "256-byte key": [("k" * 256, "v")],
            "16384-byte value": [("k", "v" * 16384)],
            "16384-byte bytes value": [("k", b"\x01" * 16384)],
            "65536 bytes total": [(f"k{i}", "v" * (16384 - 2)) for i in range(4)],
        }
        for what, md in cases.items():
            got = peer.roundtrip(ECHO, args_str(what), metadata=md)
            self.assertPayload(got, ok(w.enc_str(what)), what)
