"""Credit-based flow control with a tiny window ([flow.channel.*]).

The harness advertises a small initial_channel_credit; every Data the
subject sends is checked against the credit the harness granted (byte count
of Data payloads, [flow.channel.byte-accounting]); the harness itself never
exceeds what the subject granted."""

import roamwire as w
from harness import (GENERATE, MiB, SUM, TRANSFORM, ConformanceTest, ok)
from roamwire import Close, Credit, Data, Response


class SubjectAsSender(ConformanceTest):
    """The subject sends on generate/transform output channels."""

    def collect_generate(self, peer, rid, ch, grant_when, grant_amount, count):
        """Receive generate's output, granting `grant_amount` whenever the
        subject's remaining credit drops below `grant_when`. Returns values."""
        got, closed = [], False
        while True:
            if peer.recv_credit[(0, ch)] < grant_when and not peer.pending:
                peer.settle()  # catch any overrun already on the wire
                if peer.recv_credit[(0, ch)] < grant_when:
                    peer.grant(0, ch, grant_amount)
            m = peer.expect(lambda m: (isinstance(m, (Data, Close)) and m.channel_id == ch)
                            or (isinstance(m, Response) and m.request_id == rid),
                            f"generate output ({len(got)}/{count} values so far, "
                            f"{peer.recv_credit[(0, ch)]} bytes of credit left)")
            if isinstance(m, Data):
                self.assertFalse(closed)
                got.append(w.decode_all(m.payload, lambda r: r.i32()))
            elif isinstance(m, Close):
                closed = True
            else:
                self.assertTrue(closed, "Response before Close on the output channel")
                self.assertPayload(m.payload, ok())
                return got

    def test_generate_50_with_16_bytes(self):
        """[flow.channel.initial-credit] [flow.channel.credit-consume] generate(50)
        with 16 bytes of credit: all values arrive, never beyond the credit."""
        peer = self.start(hello=(MiB, 16))
        self.assertEqual(peer.credit, 16)
        rid = peer.call(GENERATE, w.enc_u32(50) + w.enc_u64(1), channels=[1])
        peer.open_recv(0, 1)
        got = self.collect_generate(peer, rid, 1, grant_when=8, grant_amount=8, count=50)
        self.assertEqual(got, list(range(50)))

    def test_generate_waits_at_zero_credit(self):
        """[flow.channel.zero-credit] without grants the subject stops once the
        16 bytes are used (values 0..15 are one byte each), and resumes when
        credit comes."""
        peer = self.start(hello=(MiB, 16))
        rid = peer.call(GENERATE, w.enc_u32(50) + w.enc_u64(1), channels=[1])
        peer.open_recv(0, 1)
        first = [m for m in peer.drain_for(0.5) if isinstance(m, Data)]
        self.assertGreater(len(first), 0, "subject sent nothing with 16 bytes of credit")
        self.assertLessEqual(sum(len(m.payload) for m in first), 16)
        self.assertEqual(len(first), 16, "a sender should use the credit it has "
                         "(16 one-byte values)")
        # Grant in two pieces: credit is additive [flow.channel.credit-additive]
        peer.grant(0, 1, 20)
        peer.grant(0, 1, 14)
        rest = self.collect_generate(peer, rid, 1, grant_when=-1, grant_amount=0, count=50)
        values = [w.decode_all(m.payload, lambda r: r.i32()) for m in first] + rest
        self.assertEqual(values, list(range(50)))

    def test_generate_multibyte_values(self):
        """[flow.channel.byte-accounting] generate(300): values from 64 on are
        2-byte varints; grants of 7 bytes: the subject must not send a 2-byte
        value with 1 byte of credit left."""
        peer = self.start(hello=(MiB, 16))
        rid = peer.call(GENERATE, w.enc_u32(300) + w.enc_u64(3), channels=[3])
        peer.open_recv(0, 3)
        got = self.collect_generate(peer, rid, 3, grant_when=8, grant_amount=7, count=300)
        self.assertEqual(got, list(range(300)))

    def test_transform_output_respects_credit(self):
        """transform with 16 bytes of credit: 5-byte strings come back only as
        the harness grants credit."""
        peer = self.start(hello=(MiB, 16))
        rid = peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        peer.open_recv(0, 4)
        strings = [f"s{i:03d}" for i in range(30)]  # 1 + 4 bytes each
        got = []
        for s in strings:
            peer.send_data(0, 2, w.enc_str(s))
            # Drain what the subject produced; grant back what we consumed.
            for m in peer.drain_for(0.02):
                if isinstance(m, Data) and m.channel_id == 4:
                    got.append(w.decode_all(m.payload, lambda r: r.str()))
                    peer.grant(0, 4, len(m.payload))
                else:
                    peer.pending.append(m)
        peer.send(Close(0, 2))
        while True:
            m = peer.expect(lambda m: (isinstance(m, (Data, Close)) and m.channel_id == 4)
                            or (isinstance(m, Response) and m.request_id == rid),
                            "transform output")
            if isinstance(m, Data):
                got.append(w.decode_all(m.payload, lambda r: r.str()))
                peer.grant(0, 4, len(m.payload))
            elif isinstance(m, Response):
                self.assertPayload(m.payload, ok())
                break
        self.assertEqual(got, strings)


class SubjectAsReceiver(ConformanceTest):
    """The harness sends into sum/transform and relies on the subject's
    Credit messages."""

    def test_sum_grants_credit(self):
        """[flow.channel.credit-grant] 200 values (5-byte i32s, 1000 bytes) into
        a 16-byte window: the subject must send Credit for the channel, and
        the harness never exceeds it."""
        peer = self.start(hello=(MiB, 16))
        rid = peer.call(SUM, w.enc_u64(2), channels=[2])
        values = [w.I32_MAX - i for i in range(200)]
        for v in values:
            peer.send_data(0, 2, w.enc_i32(v))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(rid).payload, ok(w.enc_i64(sum(values))))
        grants = [c for c in peer.credits_received if c.channel_id == 2]
        self.assertTrue(grants, "no Credit from the subject")
        for c in grants:
            self.assertEqual(c.conn_id, 0)
            self.assertGreater(c.bytes, 0, "Credit of 0 bytes")
        self.assertGreaterEqual(16 + sum(c.bytes for c in grants), 1000 - 4,
                                "granted credit does not cover what was received")

    def test_sum_exact_credit_then_close(self):
        """[flow.channel.close-exempt] using the whole window is legal (16
        one-byte values into 16 bytes of credit), and Close needs no credit."""
        peer = self.start(hello=(MiB, 16))
        rid = peer.call(SUM, w.enc_u64(2), channels=[2])
        for i in range(16):
            peer.send(Data(0, 2, w.enc_i32(i % 50)))  # 1 byte each, no waiting
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(rid).payload,
                           ok(w.enc_i64(sum(i % 50 for i in range(16)))))

    def test_credit_is_per_channel(self):
        """[flow.channel.initial-credit] each channel starts with the full
        window, independently: two sums, 16 bytes each, no waiting."""
        peer = self.start(hello=(MiB, 16))
        a = peer.call(SUM, w.enc_u64(2), channels=[2])
        b = peer.call(SUM, w.enc_u64(4), channels=[4])
        for i in range(16):
            peer.send(Data(0, 2, w.enc_i32(1)))
            peer.send(Data(0, 4, w.enc_i32(2)))
        peer.send(Close(0, 2))
        peer.send(Close(0, 4))
        self.assertPayload(peer.response(a).payload, ok(w.enc_i64(16)))
        self.assertPayload(peer.response(b).payload, ok(w.enc_i64(32)))

    def test_transform_both_directions_tiny_window(self):
        """Both directions at once with an 8-byte window."""
        peer = self.start(hello=(MiB, 8))
        rid = peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        peer.open_recv(0, 4)
        strings = [f"{i:02d}" for i in range(60)]  # 3 bytes each
        got = []
        for s in strings:
            peer.send_data(0, 2, w.enc_str(s))
            while peer.pending:
                m = peer.pending.popleft()
                if isinstance(m, Data) and m.channel_id == 4:
                    got.append(w.decode_all(m.payload, lambda r: r.str()))
                    peer.grant(0, 4, len(m.payload))
            for m in peer.drain_for(0.005):
                if isinstance(m, Data) and m.channel_id == 4:
                    got.append(w.decode_all(m.payload, lambda r: r.str()))
                    peer.grant(0, 4, len(m.payload))
        peer.send(Close(0, 2))
        while True:
            m = peer.expect(lambda m: isinstance(m, (Data, Response)), "transform tail")
            if isinstance(m, Data):
                got.append(w.decode_all(m.payload, lambda r: r.str()))
                peer.grant(0, 4, len(m.payload))
            else:
                self.assertPayload(m.payload, ok())
                break
        self.assertEqual(got, strings)
