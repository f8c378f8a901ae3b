"""WebSocket transport rules (PROTOCOL.md section 4), checked only in a
`--transport ws` run (the rest of the suite then runs over ws:// too): one
binary message per roam message [transport.message.one-to-one], text is a
violation [transport.message.binary], pings get pongs, and the framing
rules of RFC 6455 end the link with a Goodbye and a close code."""

import wsraw
import roamwire as w
from harness import ECHO, ConformanceTest, args_str, ok

PAYLOAD_LIMIT = ["message.hello.enforcement", "flow.call.payload-limit"]


class WebSocket(ConformanceTest):

    def setUp(self) -> None:
        super().setUp()
        self.ws_only()

    def goodbye_and_close(self, peer, rules, code: int) -> None:
        peer.expect_goodbye(rules)
        self.assertEqual(peer.link.close_code, code,
                         f"WebSocket close code after the Goodbye (got {peer.link.close_code})")

    def test_text_message(self):
        """[transport.message.binary] a text message ends the link."""
        peer = self.start()
        peer.link.ws.send_frame(wsraw.OP_TEXT, b"hello")
        self.goodbye_and_close(peer, "transport.message.binary", 1003)

    def test_oversized_message(self):
        """A message announced above the frame limit (8 MiB) is refused from
        its header: Goodbye (payload limit) and close 1009."""
        peer = self.start()
        peer.link.sock.sendall(wsraw.encode_frame(wsraw.OP_BINARY, b"\x05" * 1024, mask=False,
                                                  length=8 << 20))
        self.goodbye_and_close(peer, PAYLOAD_LIMIT, 1009)

    def test_masked_server_frame(self):
        """RFC 6455 section 5.1: a client must fail on a masked server frame."""
        peer = self.start()
        peer.link.ws.send_frame(wsraw.OP_BINARY,
                                w.encode_message(w.Request(0, 1, ECHO, args_str("x"))), mask=True)
        self.goodbye_and_close(peer, "transport.websocket", 1002)

    def test_reserved_opcode_and_bits(self):
        for what, fr in (("opcode 3", wsraw.encode_frame(3, b"", mask=False)),
                         ("rsv1", wsraw.encode_frame(wsraw.OP_BINARY, b"\x00", mask=False, rsv=4))):
            with self.subTest(what=what):
                peer = self.start()
                peer.link.sock.sendall(fr)
                self.goodbye_and_close(peer, "transport.websocket", 1002)

    def test_ping_pong_and_fragments(self):
        """A ping gets a pong with its payload; a message in fragments (a
        ping between them) counts as one roam message."""
        peer = self.start()
        ws = peer.link.ws
        ws.send_frame(wsraw.OP_PING, b"p1")
        fr = ws.recv_frame(5)
        self.assertIsNotNone(fr)
        self.assertEqual((fr[1], fr[2], fr[3]), (wsraw.OP_PONG, b"p1", True),
                         "pong (masked, same payload)")
        req = w.encode_message(w.Request(0, 1, ECHO, args_str("frag")))
        ws.send_frame(wsraw.OP_BINARY, req[:2], fin=False)
        ws.send_frame(wsraw.OP_PING, b"")
        ws.send_frame(wsraw.OP_CONT, req[2:], fin=True)
        resp = peer.response(1)
        self.assertPayload(resp.payload, ok(w.enc_str("frag")))
        self.assertAlive(peer)

    def test_graceful_close(self):
        """Our Goodbye: the subject closes the WebSocket with 1000."""
        peer = self.start()
        peer.send(w.Goodbye(0, ""))
        peer.expect_eof(after="our Goodbye")
        self.assertEqual(peer.link.close_code, 1000)
