"""Every Testbed method, called by the harness (subject in server mode),
with byte-exact response payloads."""

import math

import roamwire as w
from harness import (BLUE, CREATE_CANVAS, CREATE_PERSON, DIVIDE, ECHO, ECHO_POINT,
                     ERR_INVALID_PAYLOAD, GENERATE, GET_POINTS, GREEN, LOOKUP,
                     PARSE_COLOR, PROCESS_MESSAGE, RECTANGLE_AREA, RECTANGLE_AREA_LITERAL,
                     RED, REVERSE, SHAPE_AREA, SUM, SWAP_PAIR, TRANSFORM, ConformanceTest,
                     args_str, enc_canvas, enc_msg, enc_person, enc_point, enc_rect,
                     enc_shape, ok, trunc_div, user_err)
from roamwire import Close, Data, Response


class Unary(ConformanceTest):
    """echo, reverse, divide, lookup."""

    def test_echo(self):
        peer = self.start()
        for s in ["hello", "", "héllo 世界 🦀", "a" * 1000, "nul\x00inside"]:
            rid = peer.call(ECHO, args_str(s))
            resp = peer.response(rid)
            self.assertEqual(resp.conn_id, 0)
            self.assertPayload(resp.payload, ok(w.enc_str(s)), f"echo({s[:20]!r})")

    def test_reverse_unicode_scalars(self):
        """reverse works on Unicode scalar values, not bytes."""
        peer = self.start()
        for s in ["hello", "", "héllo 世界 🦀", "e\u0301", "ab🦀cd", "x"]:
            self.assertPayload(peer.roundtrip(REVERSE, args_str(s)), ok(w.enc_str(s[::-1])),
                               f"reverse({s!r})")

    def test_divide_ok(self):
        peer = self.start()
        for a, b in [(10, 3), (-7, 2), (7, -2), (-9, -3), (0, 5), (w.I64_MAX, 1),
                     (w.I64_MIN, 1), (w.I64_MIN, 2), (w.I64_MAX, -1), (1, w.I64_MIN)]:
            self.assertPayload(peer.roundtrip(DIVIDE, w.enc_i64(a) + w.enc_i64(b)),
                               ok(w.enc_i64(trunc_div(a, b))), f"divide({a}, {b})")

    def test_divide_by_zero(self):
        """User(DivisionByZero) = bytes 01 00 00."""
        peer = self.start()
        for a in (7, 0, w.I64_MIN):
            self.assertPayload(peer.roundtrip(DIVIDE, w.enc_i64(a) + w.enc_i64(0)),
                               b"\x01\x00\x00", f"divide({a}, 0)")
        self.assertEqual(user_err(b"\x00"), b"\x01\x00\x00")

    def test_divide_overflow(self):
        """i64::MIN / -1 = User(Overflow) = bytes 01 00 01."""
        peer = self.start()
        self.assertPayload(peer.roundtrip(DIVIDE, w.enc_i64(w.I64_MIN) + w.enc_i64(-1)),
                           b"\x01\x00\x01", "divide(i64::MIN, -1)")

    def test_lookup(self):
        peer = self.start()
        want = {1: ok(enc_person("Alice", 30, "alice@example.com")),
                2: ok(enc_person("Bob", 25, None)),
                3: ok(enc_person("Charlie", 35, "charlie@example.com"))}
        for i, p in want.items():
            self.assertPayload(peer.roundtrip(LOOKUP, w.enc_u32(i)), p, f"lookup({i})")
        for i in (0, 4, 99, 2**32 - 1):
            self.assertPayload(peer.roundtrip(LOOKUP, w.enc_u32(i)), b"\x01\x00\x00",
                               f"lookup({i}) = User(NotFound)")


class Channels(ConformanceTest):
    """sum, generate, transform at the wire level (default credit)."""

    def run_sum(self, peer, ch, values, rid=None, payload_ch=None):
        rid = peer.call(SUM, w.enc_u64(ch if payload_ch is None else payload_ch),
                        channels=[ch], rid=rid)
        for v in values:
            peer.send_data(0, ch, w.enc_i32(v))
        peer.send(Close(0, ch))
        resp = peer.response(rid)
        self.assertPayload(resp.payload, ok(w.enc_i64(sum(values))), f"sum on channel {ch}")

    def test_sum_odd_channel(self):
        """Tx channel with an odd id from the link acceptor (the reference
        harness does this): the subject must accept either parity."""
        peer = self.start()
        self.run_sum(peer, 1, [1, 2, 3, 4, 5])

    def test_sum_even_channel(self):
        """[channeling.id.parity] the acceptor's own parity (even)."""
        peer = self.start()
        self.run_sum(peer, 2, [1, 2, 3, 4, 5])

    def test_sum_extremes(self):
        peer = self.start()
        self.run_sum(peer, 4, [w.I32_MAX, w.I32_MAX, w.I32_MIN, -1, 0, 64, -65])

    def test_sum_empty(self):
        peer = self.start()
        self.run_sum(peer, 6, [])

    def test_sum_large_channel_id(self):
        peer = self.start()
        self.run_sum(peer, 2**63 + 7, [10, 20])

    def test_sum_sequential_calls(self):
        peer = self.start()
        for ch in (2, 4, 6):
            self.run_sum(peer, ch, [ch, ch])

    def test_sum_channels_field_authoritative(self):
        """[call.request.channels] [channeling.allocation.caller] the callee
        uses Request.channels, not the id inside the payload."""
        peer = self.start()
        self.run_sum(peer, 8, [3, 4], payload_ch=1234)

    def test_sum_response_before_close_not_sent(self):
        """sum's total is only known after Close: no Response before it."""
        peer = self.start()
        rid = peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(5))
        early = [m for m in peer.drain_for(0.3) if isinstance(m, Response)]
        self.assertFalse(early, "sum answered before its channel was closed")
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(rid).payload, ok(w.enc_i64(5)))

    def check_generate(self, peer, count, ch):
        rid = peer.call(GENERATE, w.enc_u32(count) + w.enc_u64(ch), channels=[ch])
        peer.open_recv(0, ch)
        got, closed = [], False
        while True:
            m = peer.expect(lambda m: (isinstance(m, (Data, Close)) and m.channel_id == ch)
                            or (isinstance(m, Response) and m.request_id == rid),
                            f"generate({count}) output")
            self.assertEqual(m.conn_id, 0)
            if isinstance(m, Data):
                self.assertFalse(closed, "Data after Close on the output channel")
                got.append(w.decode_all(m.payload, lambda r: r.i32()))
            elif isinstance(m, Close):
                self.assertFalse(closed, "two Close on the output channel")
                closed = True
            else:
                self.assertTrue(closed, "Response came before the Close of the output channel "
                                "(the reference harness requires Close first)")
                self.assertPayload(m.payload, ok(), f"generate({count}) result")
                break
        self.assertEqual(got, list(range(count)))
        # No Data may follow the Response [channeling.lifecycle.response-closes-pulls]
        late = [m for m in peer.drain_for(0.2) if isinstance(m, (Data, Close))
                and m.channel_id == ch]
        self.assertFalse(late, f"output after the Response: {late}")

    def test_generate_5(self):
        """generate(5): Data 0..4, Close, then Response Ok(())."""
        self.check_generate(self.start(), 5, 1)

    def test_generate_even_channel(self):
        self.check_generate(self.start(), 5, 2)

    def test_generate_0(self):
        self.check_generate(self.start(), 0, 3)

    def test_generate_300(self):
        self.check_generate(self.start(), 300, 5)

    def test_transform_lockstep(self):
        """transform: each string comes back on the output channel; Close on
        the input ends it: Close on the output, then Response Ok(())."""
        peer = self.start()
        rid = peer.call(TRANSFORM, w.enc_u64(1) + w.enc_u64(3), channels=[1, 3])
        peer.open_recv(0, 3)
        strings = ["hello", "world", "test", "", "héllo 世界 🦀", "x" * 300]
        for s in strings:
            peer.send_data(0, 1, w.enc_str(s))
            m = peer.expect(lambda m: isinstance(m, (Data, Close, Response)),
                            f"transform echo of {s[:10]!r}")
            self.assertIsInstance(m, Data, "expected the transformed string")
            self.assertEqual(m.channel_id, 3)
            self.assertEqual(w.decode_all(m.payload, lambda r: r.str()), s)
        peer.send(Close(0, 1))
        m = peer.expect(lambda m: isinstance(m, (Data, Close, Response)), "Close on output")
        self.assertIsInstance(m, Close, "expected Close on the output channel before the "
                                        "Response")
        self.assertEqual(m.channel_id, 3)
        resp = peer.response(rid)
        self.assertPayload(resp.payload, ok())

    def test_transform_batched(self):
        """All input first (immediate data, even ids), then the outputs."""
        peer = self.start()
        rid = peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        peer.open_recv(0, 4)
        strings = [f"item-{i}" for i in range(40)]
        for s in strings:
            peer.send_data(0, 2, w.enc_str(s))
        peer.send(Close(0, 2))
        got, closed = [], False
        while True:
            m = peer.expect(lambda m: (isinstance(m, (Data, Close)) and m.channel_id == 4)
                            or isinstance(m, Response), "transform output")
            if isinstance(m, Data):
                self.assertFalse(closed)
                got.append(w.decode_all(m.payload, lambda r: r.str()))
            elif isinstance(m, Close):
                closed = True
            else:
                self.assertEqual(m.request_id, rid)
                self.assertTrue(closed, "Response before Close on the output channel")
                self.assertPayload(m.payload, ok())
                break
        self.assertEqual(got, strings)


class RichTypes(ConformanceTest):
    """The nine methods over richer types (spec-proto + subject-rust)."""

    def test_echo_point(self):
        peer = self.start()
        for x, y in [(0, 0), (-5, 42), (w.I32_MIN, w.I32_MAX)]:
            self.assertPayload(peer.roundtrip(ECHO_POINT, enc_point(x, y)),
                               ok(enc_point(x, y)), f"echo_point({x}, {y})")

    def test_create_person(self):
        peer = self.start()
        for name, age, email in [("Dana", 41, "dana@example.com"), ("Eve", 0, None),
                                 ("Zoë 🦀", 255, "")]:
            args = w.enc_str(name) + w.enc_u8(age) + w.enc_option(email, w.enc_str)
            self.assertPayload(peer.roundtrip(CREATE_PERSON, args),
                               ok(enc_person(name, age, email)), f"create_person({name!r})")

    def test_rectangle_area_both_ids(self):
        """rectangle_area under the published id and the literal-0.6.0 id."""
        peer = self.start()
        cases = [((1, 2), (4, 6), "r", 12.0), ((4, 6), (1, 2), None, 12.0),
                 ((-3, -3), (3, 3), "", 36.0), ((5, 5), (5, 9), None, 0.0)]
        for mid in (RECTANGLE_AREA, RECTANGLE_AREA_LITERAL):
            for tl, br, label, area in cases:
                self.assertPayload(peer.roundtrip(mid, enc_rect(tl, br, label)),
                                   ok(w.enc_f64(area)),
                                   f"rectangle_area[{mid:#x}]({tl}, {br}, {label!r})")

    def test_parse_color(self):
        peer = self.start()
        cases = {"red": RED, "Green": GREEN, "BLUE": BLUE, "green": GREEN,
                 "purple": None, "": None, "rouge": None}
        for name, c in cases.items():
            want = ok(b"\x00") if c is None else ok(b"\x01" + w.varint(c))
            self.assertPayload(peer.roundtrip(PARSE_COLOR, args_str(name)), want,
                               f"parse_color({name!r})")

    def test_shape_area(self):
        peer = self.start()
        cases = [(("circle", 2.0), math.pi * 2.0 * 2.0), (("circle", 0.5), math.pi * 0.5 * 0.5),
                 (("rectangle", 3.0, 4.5), 13.5), (("point",), 0.0)]
        for shape, area in cases:
            self.assertPayload(peer.roundtrip(SHAPE_AREA, enc_shape(shape)),
                               ok(w.enc_f64(area)), f"shape_area({shape})")

    def test_shape_area_unknown_variant_is_invalid_payload(self):
        peer = self.start()
        self.assertPayload(peer.roundtrip(SHAPE_AREA, w.varint(3)), ERR_INVALID_PAYLOAD,
                           "Shape variant 3")

    def test_create_canvas(self):
        peer = self.start()
        shapes = [("circle", 1.0), ("point",), ("rectangle", 2.0, 3.0)]
        for name, sh, bg in [("canvas", shapes, BLUE), ("empty", [], RED)]:
            self.assertPayload(peer.roundtrip(CREATE_CANVAS, enc_canvas(name, sh, bg)),
                               ok(enc_canvas(name, sh, bg)), f"create_canvas({name!r})")

    def test_process_message(self):
        peer = self.start()
        cases = [(("text", "hi"), ("text", "processed: hi")),
                 (("text", ""), ("text", "processed: ")),
                 (("number", 21), ("number", 42)),
                 (("number", -5), ("number", -10)),
                 (("data", b"\x01\x02\x03"), ("data", b"\x03\x02\x01")),
                 (("data", b""), ("data", b""))]
        for arg, res in cases:
            self.assertPayload(peer.roundtrip(PROCESS_MESSAGE, enc_msg(arg)),
                               ok(enc_msg(res)), f"process_message({arg})")

    def test_get_points(self):
        peer = self.start()
        for n in (0, 1, 3, 100):
            want = w.enc_seq([(i, 2 * i) for i in range(n)], lambda p: enc_point(*p))
            self.assertPayload(peer.roundtrip(GET_POINTS, w.enc_u32(n)), ok(want),
                               f"get_points({n})")

    def test_swap_pair(self):
        peer = self.start()
        for a, s in [(7, "seven"), (-1, ""), (w.I32_MIN, "min 🦀")]:
            self.assertPayload(peer.roundtrip(SWAP_PAIR, w.enc_i32(a) + w.enc_str(s)),
                               ok(w.enc_str(s) + w.enc_i32(a)), f"swap_pair(({a}, {s!r}))")
