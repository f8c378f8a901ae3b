"""Handshake and link lifecycle: [message.hello.*], [message.goodbye.*],
subject exit status in server mode."""

import time

import roamwire as w
from harness import (DEFAULT_HELLO, ECHO, HELLO_DEADLINE, IO_TIMEOUT, PARSE_COLOR,
                     ConformanceTest, LinkTimeout, Peer, args_str, ok)
from roamwire import Goodbye, Hello, Request


class Handshake(ConformanceTest):

    def test_hello_sent_immediately(self):
        """[message.hello.timing] Hello V2 within 250 ms of the connection,
        unprompted, and [message.hello.ordering] nothing else before ours."""
        subject = self.spawn()
        link = self.connect(subject)
        t0 = time.monotonic()
        try:
            m = link.recv(timeout=HELLO_DEADLINE)
        except LinkTimeout:
            self.fail(f"no Hello from the subject within {HELLO_DEADLINE * 1000:.0f} ms of "
                      f"connecting [message.hello.timing]")
        took = time.monotonic() - t0
        self.assertIsInstance(m, Hello, "first message must be Hello")
        self.assertEqual(m.version, w.HELLO_V2)
        self.assertGreater(m.max_payload_size, 0)
        self.assertGreater(m.initial_channel_credit, 0)
        self.assertLessEqual(took, HELLO_DEADLINE)
        # Before our Hello the subject must not send anything else.
        try:
            extra = link.recv(timeout=0.3)
        except LinkTimeout:
            extra = None
        if extra is not None:
            self.fail(f"subject sent {w.describe(extra)} before the Hello exchange completed "
                      f"[message.hello.ordering]")
        link.send(Hello(*DEFAULT_HELLO))
        peer = Peer(link, Hello(*DEFAULT_HELLO), m)
        self.assertAlive(peer)

    def test_hello_v1_rejected(self):
        """[message.hello.unknown-version] Hello::V1 is refused."""
        link = self.connect(self.spawn())
        theirs = self.recv_hello(link)
        link.send(Hello(1024, 64, version=w.HELLO_V1))
        Peer(link, Hello(1024, 64), theirs).expect_goodbye("message.hello.unknown-version")

    def test_hello_unknown_variant_rejected(self):
        """[message.hello.unknown-version] Hello variant 2 (a future version)."""
        link = self.connect(self.spawn())
        theirs = self.recv_hello(link)
        link.send_raw(b"\x00\x02", "Message::Hello(variant 2)")
        Peer(link, Hello(*DEFAULT_HELLO), theirs).expect_goodbye(
            "message.hello.unknown-version")

    def test_hello_unknown_variant_with_fields_rejected(self):
        """[message.hello.unknown-version] Hello variant 7 followed by fields."""
        link = self.connect(self.spawn())
        theirs = self.recv_hello(link)
        link.send_raw(b"\x00\x07\x80\x08\x40\x01", "Message::Hello(variant 7 + fields)")
        Peer(link, Hello(*DEFAULT_HELLO), theirs).expect_goodbye(
            "message.hello.unknown-version")

    def test_request_before_hello(self):
        """[message.hello.ordering] a Request before our Hello."""
        link = self.connect(self.spawn())
        theirs = self.recv_hello(link)
        link.send(Request(0, 1, ECHO, args_str("too early")))
        Peer(link, Hello(*DEFAULT_HELLO), theirs).expect_goodbye("message.hello.ordering")

    def test_goodbye_free_close_before_hello(self):
        """A harness that closes before Hello: the subject just goes away
        (no crash, no hang) and exits."""
        subject = self.spawn()
        link = self.connect(subject)
        self.recv_hello(link)
        link.close()
        rc = subject.wait_exit(IO_TIMEOUT)
        self.assertIsNotNone(rc, "subject did not exit after the link closed during the "
                                 "handshake")

    def test_handshake_timeout(self):
        """[message.hello.timing] A peer that never sends Hello: the subject
        closes the link (without Goodbye) after its handshake timeout (the
        reference waits 5 s; this test allows 12 s)."""
        link = self.connect(self.spawn())
        self.recv_hello(link)
        deadline = time.monotonic() + 12.0
        while True:
            try:
                m = link.recv(timeout=max(0.01, deadline - time.monotonic()))
            except LinkTimeout:
                self.fail("subject kept the link open for 12 s without receiving Hello")
            if m is None:
                return
            self.fail(f"subject sent {w.describe(m)} while waiting for our Hello "
                      f"(a handshake timeout closes the link without Goodbye)")

    def test_hello_after_exchange_ignored(self):
        """A second Hello after the exchange is ignored, and does not change
        the negotiated limits."""
        peer = self.start(hello=DEFAULT_HELLO)
        peer.send(Hello(16, 16))
        text = "x" * 200  # over the 16-byte limit the ignored Hello proposed
        self.assertPayload(peer.roundtrip(ECHO, args_str(text)), ok(w.enc_str(text)))

    def test_unknown_hello_after_exchange_rejected(self):
        """[message.hello.unknown-version] applies whenever an unknown Hello
        variant arrives, after the exchange too (payload 00 05 10 10)."""
        peer = self.start(hello=DEFAULT_HELLO)
        self.assertPayload(peer.roundtrip(ECHO, args_str("before")), ok(w.enc_str("before")))
        peer.link.send_raw(b"\x00\x05\x10\x10", "Message::Hello(variant 5) after the exchange")
        peer.expect_goodbye("message.hello.unknown-version")

    def test_negotiation_takes_minimum(self):
        """[message.hello.negotiation] the harness advertises max_payload
        1024 and credit 64; a request payload of exactly 1024 bytes is
        accepted (and every message of the subject is checked against 1024)."""
        peer = self.start(hello=(1024, 64))
        self.assertEqual(peer.max_payload, min(1024, peer.theirs.max_payload_size))
        name = "q" * 1022  # varint(1022) is 2 bytes: payload = 1024 bytes
        payload = args_str(name)
        self.assertEqual(len(payload), 1024)
        self.assertPayload(peer.roundtrip(PARSE_COLOR, payload), ok(b"\x00"))

    def test_negotiation_subject_limit_applies(self):
        """[message.hello.negotiation] when the harness advertises the maximum,
        the subject's own max_payload_size is the limit: one byte more gets a
        Goodbye."""
        peer = self.start(hello=(0xFFFFFFFF, 0xFFFFFFFF))
        limit = peer.theirs.max_payload_size
        if limit > 16 * (1 << 20):
            self.skipTest(f"subject advertises max_payload_size {limit}")
        name = "z" * (limit + 1 - len(w.varint(limit + 1)))
        payload = args_str(name)
        if len(payload) != limit + 1:
            name = name[:-1]
            payload = args_str(name)
        self.assertGreater(len(payload), limit)
        peer.send(Request(0, 1, ECHO, payload))
        peer.expect_goodbye(["message.hello.enforcement", "flow.call.payload-limit"],
                            timeout=IO_TIMEOUT * 2)


class LinkLifecycle(ConformanceTest):

    def test_goodbye_empty_reason_exits_zero(self):
        """[message.goodbye.graceful] Goodbye{0, ""} then close: exit 0."""
        peer = self.start()
        self.assertAlive(peer)
        peer.send(Goodbye(0, ""))
        peer.link.close()
        rc = peer.subject.wait_exit(IO_TIMEOUT)
        self.assertEqual(rc, 0, "server-mode subject must exit 0 after a graceful close")

    def test_eof_exits_zero(self):
        """Plain EOF after the handshake: exit 0."""
        peer = self.start()
        self.assertAlive(peer)
        peer.link.close()
        rc = peer.subject.wait_exit(IO_TIMEOUT)
        self.assertEqual(rc, 0, "server-mode subject must exit 0 when the link closes")

    def test_eof_with_call_in_flight_exits_zero(self):
        """EOF while a sum call waits for its channel: still exit 0."""
        from harness import SUM
        peer = self.start()
        peer.call(SUM, w.enc_u64(1), channels=[1])
        peer.send_data(0, 1, w.enc_i32(5))
        peer.link.close()
        rc = peer.subject.wait_exit(IO_TIMEOUT)
        self.assertEqual(rc, 0)

    def test_goodbye_conn0_closes_link_silently(self):
        """[message.goodbye.receive] [message.goodbye.connection-zero] after
        our Goodbye on conn 0 the subject sends nothing and closes the link."""
        peer = self.start()
        self.assertAlive(peer)
        peer.send(Goodbye(0, "harness done"))
        peer.expect_eof(after="our Goodbye on conn 0")
        rc = peer.subject.wait_exit(IO_TIMEOUT)
        self.assertEqual(rc, 0)

    def test_half_close_after_goodbye(self):
        """Goodbye then shutdown(SHUT_WR): the subject closes its side too."""
        peer = self.start()
        peer.send(Goodbye(0, ""))
        peer.link.shutdown_write()
        peer.expect_eof(after="Goodbye + half-close")
