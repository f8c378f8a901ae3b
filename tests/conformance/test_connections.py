"""Virtual connections: Connect/Accept/Reject, independence of connections
([core.conn.*], [message.connect.*], [message.goodbye.*])."""

import roamwire as w
from harness import (ECHO, GENERATE, SUM, ConformanceTest, args_str, ok)
from roamwire import (Accept, Close, Connect, Data, Goodbye, Reject, Request, Response)


class Accepting(ConformanceTest):
    """ACCEPT_CONNECTIONS=1"""

    def open_conn(self, peer, rid, md=None):
        peer.send(Connect(rid, md or []))
        m = peer.expect(lambda m: isinstance(m, (Accept, Reject)) and m.request_id == rid,
                        f"Accept for Connect {rid}")
        self.assertIsInstance(m, Accept, f"Connect {rid} was rejected: {m}")
        self.assertNotEqual(m.conn_id, 0, "conn id 0 is the root [core.conn.id-allocation]")
        return m.conn_id

    def assertSilentOn(self, peer, n):
        """After our Goodbye on conn n: nothing more on n. Messages the subject
        sent before it read the Goodbye are legal races, so only what arrives
        after the Response to an echo sent on conn 0 *after* the Goodbye
        counts (the subject reads in order: by then it has seen the Goodbye)."""
        self.assertAlive(peer, conn=0, text="after Goodbye on another conn")
        peer.pending.clear()
        late = [m for m in peer.drain_for(0.3) if getattr(m, "conn_id", None) == n]
        self.assertFalse(late, f"subject sent on conn {n} after its Goodbye: {late} "
                               f"[message.goodbye.receive]")

    def test_connect_accept_with_metadata(self):
        """[core.conn.open] [message.accept.response] Connect with metadata ->
        Accept with a non-zero conn id; echo works on it and the Response
        carries that conn id."""
        peer = self.start(accept_connections=True)
        cid = self.open_conn(peer, 1, [("auth", "token123"), ("version", 2),
                                       ("blob", b"\x00\xff")])
        rid = peer.call(ECHO, args_str("on conn"), conn=cid)
        resp = peer.response(rid, conn=cid)
        self.assertEqual(resp.conn_id, cid)
        self.assertPayload(resp.payload, ok(w.enc_str("on conn")))
        self.assertAlive(peer, conn=0)

    def test_multiple_connections_unique_ids(self):
        """[core.conn.id-allocation] three Connects -> three distinct ids,
        matched by the Connect request id (link-scoped)."""
        peer = self.start(accept_connections=True)
        for rid in (10, 20, 30):
            peer.send(Connect(rid, []))
        got = {}
        for _ in range(3):
            m = peer.expect(lambda m: isinstance(m, (Accept, Reject)), "Accept")
            self.assertIsInstance(m, Accept)
            got[m.request_id] = m.conn_id
        self.assertEqual(sorted(got), [10, 20, 30])
        self.assertEqual(len(set(got.values())), 3, f"conn ids not unique: {got}")
        self.assertNotIn(0, got.values())
        for cid in got.values():
            self.assertAlive(peer, conn=cid, text=f"conn {cid}")

    def test_request_id_spaces_are_per_connection(self):
        """Each connection has its own request-id space: id 1 in flight on
        conn 0 and id 1 on conn N at the same time is not a duplicate."""
        peer = self.start(accept_connections=True)
        cid = self.open_conn(peer, 1)
        slow = peer.call(SUM, w.enc_u64(2), channels=[2], conn=0, rid=1)
        rid = peer.call(ECHO, args_str("same id"), conn=cid, rid=1)
        self.assertEqual(rid, slow)
        self.assertPayload(peer.response(1, conn=cid).payload, ok(w.enc_str("same id")))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(1, conn=0).payload, ok(w.enc_i64(0)))

    def test_channels_on_virtual_connection(self):
        """sum and generate on conn N, with the same channel ids in use on
        conn 0 (channel ids are per connection)."""
        peer = self.start(accept_connections=True)
        cid = self.open_conn(peer, 1)
        root_sum = peer.call(SUM, w.enc_u64(2), channels=[2], conn=0)
        vsum = peer.call(SUM, w.enc_u64(2), channels=[2], conn=cid)
        for i in range(5):
            peer.send_data(cid, 2, w.enc_i32(i))
            peer.send_data(0, 2, w.enc_i32(100))
        peer.send(Close(cid, 2))
        self.assertPayload(peer.response(vsum, conn=cid).payload, ok(w.enc_i64(10)))
        peer.send(Close(0, 2))
        self.assertPayload(peer.response(root_sum, conn=0).payload, ok(w.enc_i64(500)))
        gen = peer.call(GENERATE, w.enc_u32(4) + w.enc_u64(4), channels=[4], conn=cid)
        resp = peer.response(gen, conn=cid)
        self.assertPayload(resp.payload, ok())
        msgs = peer.drain_for(0.1)
        data = [w.decode_all(m.payload, lambda r: r.i32()) for m in msgs
                if isinstance(m, Data) and m.channel_id == 4]
        self.assertEqual(data, [0, 1, 2, 3])
        for m in msgs:
            if isinstance(m, (Data, Close)):
                self.assertEqual(m.conn_id, cid, f"channel message on the wrong conn: {m}")

    def test_goodbye_on_virtual_leaves_others(self):
        """[core.conn.independence] Goodbye on conn N closes only N: conn 0 and
        conn M keep working."""
        peer = self.start(accept_connections=True)
        n = self.open_conn(peer, 1)
        m_ = self.open_conn(peer, 2)
        peer.send(Goodbye(n, "done with it"))
        self.assertAlive(peer, conn=0)
        self.assertAlive(peer, conn=m_)
        self.assertSilentOn(peer, n)

    def test_goodbye_with_call_in_flight_on_virtual(self):
        """[message.goodbye.receive] after our Goodbye on conn N (with a sum
        still open on it) the subject sends nothing more on N."""
        peer = self.start(accept_connections=True)
        n = self.open_conn(peer, 1)
        peer.call(SUM, w.enc_u64(2), channels=[2], conn=n)
        peer.send_data(n, 2, w.enc_i32(1))
        self.assertAlive(peer, conn=n)
        peer.send(Goodbye(n, ""))
        self.assertSilentOn(peer, n)

    def test_request_on_closed_virtual_connection(self):
        """[message.conn-id] once conn N is closed it no longer exists: a
        Request on it is a protocol error."""
        peer = self.start(accept_connections=True)
        n = self.open_conn(peer, 1)
        peer.send(Goodbye(n, ""))
        self.assertAlive(peer, conn=0)
        peer.send(Request(n, 1, ECHO, args_str("zombie")))
        peer.expect_goodbye("message.conn-id")

    def test_protocol_error_on_virtual_closes_link(self):
        """A violation on conn N is a link error: Goodbye on conn 0, close."""
        peer = self.start(accept_connections=True)
        n = self.open_conn(peer, 1)
        peer.send(Data(n, 0, w.enc_i32(1)))
        peer.expect_goodbye("channeling.id.zero-reserved")

    def test_unknown_channel_on_virtual(self):
        """[channeling.unknown] channel 2 open on conn 0 is unknown on conn N."""
        peer = self.start(accept_connections=True)
        n = self.open_conn(peer, 1)
        peer.call(SUM, w.enc_u64(2), channels=[2], conn=0)
        peer.send(Data(n, 2, w.enc_i32(1)))
        peer.expect_goodbye("channeling.unknown")

    def test_goodbye_conn0_closes_everything(self):
        """[message.goodbye.connection-zero] Goodbye on conn 0 closes the link
        with its virtual connections."""
        peer = self.start(accept_connections=True)
        self.open_conn(peer, 1)
        peer.send(Goodbye(0, ""))
        peer.expect_eof(after="Goodbye on conn 0")


class NotAccepting(ConformanceTest):
    """Without ACCEPT_CONNECTIONS."""

    def test_connect_rejected(self):
        """[core.conn.accept-required] Reject with reason 'not listening',
        echoing the Connect request id; the link stays up."""
        peer = self.start()
        peer.send(Connect(42, [("auth", "token123"), ("version", 2)]))
        m = peer.expect(lambda m: isinstance(m, (Accept, Reject)), "Reject")
        self.assertIsInstance(m, Reject)
        self.assertEqual(m.request_id, 42)
        self.assertIn("not listening", m.reason)
        self.assertAlive(peer)

    def test_several_connects_rejected(self):
        peer = self.start()
        for rid in (100, 200, 300):
            peer.send(Connect(rid, []))
        ids = []
        for _ in range(3):
            m = peer.expect(lambda m: isinstance(m, (Accept, Reject)), "Reject")
            self.assertIsInstance(m, Reject)
            ids.append(m.request_id)
        self.assertEqual(sorted(ids), [100, 200, 300])
        self.assertAlive(peer)

    def test_request_on_rejected_conn_id(self):
        """Nothing was accepted: conn 1 does not exist [message.conn-id]."""
        peer = self.start()
        peer.send(Connect(1, []))
        peer.expect(lambda m: isinstance(m, Reject), "Reject")
        peer.send(Request(1, 1, ECHO, args_str("x")))
        peer.expect_goodbye("message.conn-id")
