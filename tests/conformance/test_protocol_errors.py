"""Connection errors: each violation must be answered with
Goodbye{conn_id 0, reason starting with the rule id}, then the subject
closes the link (PROTOCOL.md section 11). Also the messages that must be
*ignored* rather than treated as errors."""

import socket
import time

import roamwire as w
from harness import (DEFAULT_HELLO, ECHO, GENERATE, IO_TIMEOUT, KiB, MiB, SUM, TRANSFORM,
                     ConformanceTest, LinkTimeout, args_str, ok)
from roamwire import (Accept, Cancel, Close, Connect, Credit, Data, Goodbye, Reject,
                      Request, Reset, Response)

PAYLOAD_LIMIT = ["message.hello.enforcement", "flow.call.payload-limit"]
DATA_LIMIT = ["channeling.data.size-limit", "flow.call.payload-limit",
              "message.hello.enforcement"]


class RequestErrors(ConformanceTest):

    def test_duplicate_request_id(self):
        """[call.request-id.duplicate-detection] a second Request with the id
        of a sum still waiting for its channel."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2], rid=1)
        peer.send_data(0, 2, w.enc_i32(1))
        self.assertAlive(peer)  # uses request id 2; sum (id 1) still in flight
        peer.send(Request(0, 1, ECHO, args_str("dup")))
        peer.expect_goodbye("call.request-id.duplicate-detection")

    def test_request_payload_over_max(self):
        """[message.hello.enforcement] / [flow.call.payload-limit]: negotiated
        max 1024, Request payload of 1025 bytes."""
        peer = self.start(hello=(1024, 64 * KiB))
        payload = args_str("p" * 1022) + b""  # 2 + 1022 = 1024
        self.assertEqual(len(payload), 1024)
        big = args_str("p" * 1023)
        self.assertEqual(len(big), 1025)
        peer.send(Request(0, 1, ECHO, big))
        peer.expect_goodbye(PAYLOAD_LIMIT)

    def test_request_payload_over_max_unknown_method(self):
        """The size limit applies before dispatch (unknown method id)."""
        peer = self.start(hello=(16, 64 * KiB))
        peer.send(Request(0, 1, 1, bytes(17)))
        peer.expect_goodbye(PAYLOAD_LIMIT)

    def test_data_payload_over_max(self):
        """[channeling.data.size-limit] Data of 1025 bytes (a valid String
        element) with max 1024 and plenty of credit."""
        peer = self.start(hello=(1024, 64 * KiB))
        peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        big = w.enc_str("d" * 1023)
        self.assertEqual(len(big), 1025)
        peer.send(Data(0, 2, big))
        peer.expect_goodbye(DATA_LIMIT)


class MetadataLimits(ConformanceTest):
    """[call.metadata.limits] on Request and Connect."""

    def check(self, md, connect=False, **kw):
        peer = self.start(**kw)
        if connect:
            peer.send(Connect(1, md))
        else:
            peer.send(Request(0, 1, ECHO, args_str("md"), [], md))
        peer.expect_goodbye("call.metadata.limits")

    def test_129_entries(self):
        self.check([(f"k{i}", "v") for i in range(129)])

    def test_257_byte_key(self):
        self.check([("k" * 257, "v")])

    def test_16385_byte_string_value(self):
        self.check([("k", "v" * 16385)])

    def test_16385_byte_bytes_value(self):
        self.check([("k", b"\x02" * 16385)])

    def test_total_over_65536(self):
        """Five 16384-byte values: each under the limit, 81925 in total."""
        self.check([(f"k{i}", "v" * 16384) for i in range(5)])

    def test_total_65537(self):
        """Keys + values one byte over 65536."""
        md = [(f"k{i}", "v" * (16384 - 2)) for i in range(4)]  # exactly 65536
        md.append(("x", ""))  # one more key byte
        self.check(md)

    def test_connect_metadata(self):
        """[message.connect.metadata] the same limits apply to Connect."""
        self.check([(f"k{i}", i) for i in range(129)], connect=True)

    def test_connect_metadata_accepting(self):
        self.check([("k" * 257, "v")], connect=True, accept_connections=True)


class ChannelErrors(ConformanceTest):

    def test_channel_zero(self):
        """[channeling.id.zero-reserved] Data, Close, Reset, Credit on channel 0."""
        for msg in (Data(0, 0, w.enc_i32(1)), Close(0, 0), Reset(0, 0), Credit(0, 0, 64)):
            with self.subTest(msg=type(msg).__name__):
                peer = self.start()
                peer.send(msg)
                peer.expect_goodbye("channeling.id.zero-reserved")

    def test_channel_zero_during_call(self):
        """Channel 0 while a call with channels is open."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send(Data(0, 0, w.enc_i32(1)))
        peer.expect_goodbye("channeling.id.zero-reserved")

    def test_unknown_channel(self):
        """[channeling.unknown] Data, Close, Reset, Credit on a channel id that
        was never opened."""
        for msg in (Data(0, 42, w.enc_i32(1)), Close(0, 42), Reset(0, 42), Credit(0, 42, 64)):
            with self.subTest(msg=type(msg).__name__):
                peer = self.start()
                self.assertAlive(peer)
                peer.send(msg)
                peer.expect_goodbye("channeling.unknown")

    def test_unknown_channel_next_to_open_one(self):
        """An open channel 2 does not make channel 4 known."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(1))
        peer.send(Data(0, 4, w.enc_i32(1)))
        peer.expect_goodbye("channeling.unknown")

    def test_data_after_close(self):
        """[channeling.data-after-close] Data on a sum channel after its Close
        (the sum's Response may come first)."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(1))
        peer.send(Close(0, 2))
        peer.send(Data(0, 2, w.enc_i32(2)))
        peer.expect_goodbye("channeling.data-after-close",
                            allow=lambda m: isinstance(m, Response))

    def test_data_after_close_once_answered(self):
        """Data after Close, sent after the sum was answered: still
        data-after-close, not ignored and not 'unknown'."""
        peer = self.start()
        rid = peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(1))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(rid).payload, ok(w.enc_i64(1)))
        peer.send(Data(0, 2, w.enc_i32(2)))
        peer.expect_goodbye("channeling.data-after-close")

    def test_data_invalid_i32(self):
        """[channeling.data.invalid] a truncated i32 varint into sum."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send(Data(0, 2, b"\x80"))
        peer.expect_goodbye("channeling.data.invalid")

    def test_data_invalid_i32_overflow(self):
        """[channeling.data.invalid] an i32 varint that overflows 32 bits."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send(Data(0, 2, b"\xff\xff\xff\xff\x7f"))
        peer.expect_goodbye("channeling.data.invalid")

    def test_data_invalid_trailing(self):
        """[channeling.data.invalid] Data carries exactly one value: an i32
        followed by an extra byte does not decode."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send(Data(0, 2, w.enc_i32(1) + b"\x01"))
        peer.expect_goodbye("channeling.data.invalid")

    def test_data_invalid_utf8(self):
        """[channeling.data.invalid] invalid UTF-8 into transform."""
        peer = self.start()
        peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        peer.send(Data(0, 2, b"\x02\xc3\x28"))
        peer.expect_goodbye("channeling.data.invalid")

    def test_credit_overrun(self):
        """[flow.channel.credit-overrun] negotiated credit 16; the first Data
        on the channel is a 17-byte String element."""
        peer = self.start(hello=(MiB, 16))
        self.assertEqual(peer.credit, 16)
        peer.call(TRANSFORM, w.enc_u64(2) + w.enc_u64(4), channels=[2, 4])
        elem = w.enc_str("o" * 16)
        self.assertEqual(len(elem), 17)
        peer.send(Data(0, 2, elem))
        peer.expect_goodbye("flow.channel.credit-overrun",
                            allow=lambda m: isinstance(m, Credit))


class MessageErrors(ConformanceTest):

    def test_unknown_message_discriminant(self):
        """[message.unknown-variant] discriminant 12 and 200."""
        for raw in (b"\x0c", b"\x0c\x00\x01", b"\xc8\x01\x00"):
            with self.subTest(raw=raw.hex()):
                peer = self.start()
                peer.link.send_raw(raw, "unknown Message variant")
                peer.expect_goodbye("message.unknown-variant")

    def test_bad_cobs(self):
        """[message.decode-error] a COBS code byte that runs past the frame end."""
        self.byte_stream_only()
        peer = self.start()
        peer.link.send_bytes(b"\x05\x01\x02\x00", "bad COBS frame")
        peer.expect_goodbye("message.decode-error")

    def test_truncated_message(self):
        """[message.decode-error] a Request cut short."""
        for raw in (b"\x05\x00\x01", b"\x05", w.encode_message(Request(0, 1, ECHO, b"abc"))[:-1],
                    w.encode_message(Goodbye(0, "bye"))[:-2]):
            with self.subTest(raw=raw.hex()):
                peer = self.start()
                peer.link.send_raw(raw, "truncated message")
                peer.expect_goodbye("message.decode-error")

    def test_malformed_fields(self):
        """[message.decode-error] invalid UTF-8 in a String field, a u64
        varint of 11 bytes, a u32 Credit that overflows, a bad MetadataValue
        tag."""
        cases = {
            "bad utf-8 key": b"\x05\x00\x01" + w.varint(ECHO) + b"\x01\x02\xc3\x28\x00\x00\x00\x00",
            "u64 varint too long": b"\x07\x00" + b"\xff" * 10 + b"\x01",
            "u32 overflow": b"\x0b\x00\x02\xff\xff\xff\xff\x1f",
            "metadata tag 3": b"\x05\x00\x01" + w.varint(ECHO) + b"\x01\x01k\x03\x00\x00",
        }
        for what, raw in cases.items():
            with self.subTest(what=what):
                peer = self.start()
                peer.link.send_raw(raw, what)
                peer.expect_goodbye("message.decode-error")

    def test_frame_without_delimiter_is_bounded(self):
        """PROTOCOL section 4: the receiver bounds the buffered frame. A
        stream of non-zero bytes with no delimiter (8 MiB at most, negotiated
        max payload 1024) must end in a Goodbye and a close, not unbounded
        buffering."""
        self.byte_stream_only()
        peer = self.start(hello=(1024, 64 * KiB))
        link = peer.link
        chunk = b"\x01" * (64 * KiB)
        sent = 0
        link.sock.setblocking(False)
        deadline = time.monotonic() + 20
        stop = False
        while sent < 8 * MiB and not stop and time.monotonic() < deadline:
            try:
                n = link.sock.send(chunk)
                sent += n
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                data = link.sock.recv(65536)
                if not data:
                    link.eof = True
                    stop = True
                else:
                    link.buf += data
                    if 0 in data:
                        stop = True
            except BlockingIOError:
                pass
            except ConnectionResetError:
                link.eof = True
                stop = True
        link.sock.setblocking(True)
        link._log("-->", f"{sent} bytes of 0x01 without delimiter")
        peer.expect_goodbye(["message.decode-error"] + PAYLOAD_LIMIT, timeout=IO_TIMEOUT * 2)

    def test_request_on_unknown_conn(self):
        """[message.conn-id] Request, Data, Close naming a conn that does not
        exist."""
        for msg in (Request(0 + 7, 1, ECHO, args_str("x")), Data(7, 1, w.enc_i32(1)),
                    Close(7, 1)):
            with self.subTest(msg=type(msg).__name__):
                peer = self.start()
                peer.send(msg)
                peer.expect_goodbye("message.conn-id")

    def test_request_on_unknown_conn_when_accepting(self):
        """[message.conn-id] with ACCEPT_CONNECTIONS=1 and conn 1 open, conn 9
        still does not exist."""
        peer = self.start(accept_connections=True)
        peer.send(Connect(1, []))
        acc = peer.expect(lambda m: isinstance(m, Accept), "Accept")
        bad = acc.conn_id + 8
        peer.send(Request(bad, 1, ECHO, args_str("x")))
        peer.expect_goodbye("message.conn-id")


class Ignored(ConformanceTest):
    """Messages that must be ignored: the link stays up (verified with an
    echo) and no Goodbye comes."""

    def check_ignored(self, peer, msgs):
        for m in msgs:
            peer.send(m)
        self.assertAlive(peer)
        bad = [m for m in peer.drain_for(0.2) if isinstance(m, Goodbye)]
        self.assertFalse(bad, f"unexpected Goodbye: {bad}")

    def test_unknown_conn_ignored(self):
        """[message.conn-id] Response, Cancel, Reset, Credit and Goodbye for an
        unknown connection are ignored."""
        peer = self.start()
        self.check_ignored(peer, [Response(7, 1, ok()), Cancel(7, 1), Reset(7, 1),
                                  Credit(7, 1, 10), Goodbye(7, "closing conn 7")])

    def test_unknown_request_id_response_ignored(self):
        """[call.lifecycle.unknown-request-id] a Response nobody asked for."""
        peer = self.start()
        self.check_ignored(peer, [Response(0, 77, ok(w.enc_str("?")))])

    def test_unknown_connect_answers_ignored(self):
        """Accept/Reject for a Connect that is not pending are ignored."""
        peer = self.start()
        self.check_ignored(peer, [Accept(99, 5, []), Reject(98, "no", [])])

    def test_late_credit_and_reset_after_finish(self):
        """Races are legal: Credit for a generate output channel that already
        ended, Reset for a sum channel that was closed and answered."""
        peer = self.start()
        rid = peer.call(GENERATE, w.enc_u32(3) + w.enc_u64(2), channels=[2])
        self.assertPayload(peer.response(rid).payload, ok())
        rid = peer.call(SUM, w.enc_u64(4), channels=[4])
        peer.send_data(0, 4, w.enc_i32(3))
        peer.send(Close(0, 4))
        self.assertPayload(peer.response(rid).payload, ok(w.enc_i64(3)))
        self.check_ignored(peer, [Credit(0, 2, 100), Reset(0, 2), Reset(0, 4), Credit(0, 4, 5)])

    def test_reset_of_open_input_channel(self):
        """[channeling.reset] the caller resets its sum channel: not an error;
        late Data/Close for it are ignored [channeling.reset.effect]."""
        peer = self.start()
        peer.call(SUM, w.enc_u64(2), channels=[2])
        peer.send_data(0, 2, w.enc_i32(3))
        peer.send(Reset(0, 2))
        self.check_ignored(peer, [Data(0, 2, w.enc_i32(4)), Close(0, 2)])

    def test_reset_of_output_channel(self):
        """The caller resets generate's output channel: the subject stops
        sending on it and still answers the call once."""
        peer = self.start(hello=(MiB, 4))
        rid = peer.call(GENERATE, w.enc_u32(50) + w.enc_u64(2), channels=[2])
        peer.open_recv(0, 2)
        peer.drain_for(0.2)
        peer.send(Reset(0, 2))
        resp = peer.response(rid)
        self.assertIn(resp.payload, (ok(), b"\x01\x03"))
        late = [m for m in peer.drain_for(0.3) if isinstance(m, Data) and m.channel_id == 2]
        self.assertFalse(late, "Data after Response")
        self.check_ignored(peer, [Credit(0, 2, 100)])
