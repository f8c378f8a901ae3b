"""Client mode (SUBJECT_MODE=client): the harness serves Testbed at the
wire level and checks the subject's calls byte by byte."""

import time

import roamwire as w
from harness import (DEFAULT_HELLO, ECHO, ERR_CANCELLED, ERR_INVALID_PAYLOAD,
                     ERR_UNKNOWN_METHOD, GENERATE, IO_TIMEOUT, MiB, SUM, ConformanceTest,
                     HarnessTestbed, LinkTimeout, Peer, args_str, ok)
from roamwire import Goodbye, Hello, Request, Response

CLIENT_EXIT_TIMEOUT = 10.0


class ClientScenarios(ConformanceTest):

    def run_scenario(self, scenario, hello=DEFAULT_HELLO, delay_hello=0.0, **kw):
        subject = self.spawn(mode="client", scenario=scenario)
        link = self.connect(subject)
        theirs = self.recv_hello(link)
        if delay_hello:
            # [message.hello.ordering]: nothing but Hello before ours.
            try:
                early = link.recv(timeout=delay_hello)
            except LinkTimeout:
                early = None
            if early is not None:
                self.fail(f"client sent {w.describe(early)} before receiving our Hello "
                          f"[message.hello.ordering]")
        ours = Hello(*hello)
        link.send(ours)
        peer = Peer(link, ours, theirs)
        server = HarnessTestbed(self, peer, **kw)
        server.run()
        rc = subject.wait_exit(CLIENT_EXIT_TIMEOUT)
        return subject, server, rc

    def assertCleanExit(self, server, rc):
        self.assertEqual(rc, 0, "client-mode subject must exit 0 after a successful "
                                "scenario")
        if server.goodbye is not None:
            self.assertEqual(server.goodbye.conn_id, 0)
            self.assertEqual(server.goodbye.reason, "", "a successful client may close "
                             "gracefully (empty reason) but reported an error")

    def test_echo(self):
        """echo("hello from client"), then exit 0."""
        _, server, rc = self.run_scenario("echo", delay_hello=0.2)
        self.assertCleanExit(server, rc)
        reqs = [r for r in server.requests if r.method_id == ECHO]
        self.assertEqual(len(reqs), 1, f"expected one echo call, got {server.requests}")
        r = reqs[0]
        self.assertEqual(r.conn_id, 0)
        self.assertEqual(r.payload, args_str("hello from client"))
        self.assertEqual(r.channels, [])
        self.assertNotEqual(r.request_id, 0)

    def test_sum(self):
        """sum over a Tx channel: odd id (link initiator) listed in
        Request.channels, Data 1..=5, Close; exit 0."""
        _, server, rc = self.run_scenario("sum")
        self.assertCleanExit(server, rc)
        reqs = [r for r in server.requests if r.method_id == SUM]
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        ch = w.decode_all(r.payload, lambda rd: rd.u64())
        self.assertEqual(r.channels, [ch])
        self.assertEqual(ch % 2, 1, f"the link initiator allocates odd channel ids, got {ch} "
                                    f"[channeling.id.parity]")
        self.assertEqual(server.channel_data[(0, ch)], [w.enc_i32(i) for i in range(1, 6)])
        self.assertIn((0, ch), server.closed_by_subject, "no Close on the sum channel")

    def test_sum_tiny_credit(self):
        """The client's sum channel with 2 bytes of credit: it must wait for
        the harness's Credit (granted 1 byte per value consumed)."""
        _, server, rc = self.run_scenario("sum", hello=(MiB, 2), grant_policy="each")
        self.assertCleanExit(server, rc)
        ch = server.requests[0].channels[0]
        self.assertEqual(server.channel_data[(0, ch)], [w.enc_i32(i) for i in range(1, 6)])

    def test_generate(self):
        """generate(5) over an Rx channel with an odd id: the harness sends
        Data 0..4, Close, Response; the subject exits 0."""
        _, server, rc = self.run_scenario("generate")
        self.assertCleanExit(server, rc)
        reqs = [r for r in server.requests if r.method_id == GENERATE]
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        rd = w.Reader(r.payload)
        count, ch = rd.u32(), rd.u64()
        rd.expect_end("generate args")
        self.assertEqual(count, 5)
        self.assertEqual(r.channels, [ch])
        self.assertEqual(ch % 2, 1, "the link initiator allocates odd channel ids")

    def test_generate_without_close(self):
        """As a caller, accept an output channel that ends with the Response
        alone (no explicit Close), as the spec allows."""
        _, server, rc = self.run_scenario("generate", generate_close=False)
        self.assertCleanExit(server, rc)

    def test_generate_tiny_credit(self):
        """generate with 2 bytes of credit: the subject (receiver) must grant
        credit back or the harness cannot deliver the 5 values."""
        _, server, rc = self.run_scenario("generate", hello=(MiB, 2))
        self.assertCleanExit(server, rc)
        grants = [c for c in server.peer.credits_received]
        self.assertTrue(grants, "the client never granted credit on its Rx channel")

    def test_client_serves_while_calling(self):
        """A client-mode subject still serves Testbed: before answering its
        echo, the harness calls echo on the subject (request id 1 in the
        harness's own direction, the same number the subject used)."""
        subject = self.spawn(mode="client", scenario="echo")
        link = self.connect(subject)
        theirs = self.recv_hello(link)
        ours = Hello(*DEFAULT_HELLO)
        link.send(ours)
        peer = Peer(link, ours, theirs)
        req = peer.expect(lambda m: isinstance(m, Request), "the client's echo Request")
        peer.call(ECHO, args_str("reverse direction"), rid=req.request_id)
        resp = peer.response(req.request_id)
        self.assertPayload(resp.payload, ok(w.enc_str("reverse direction")))
        peer.send(Response(0, req.request_id, ok(w.enc_str("hello from client"))))
        server = HarnessTestbed(self, peer)
        server.run()
        self.assertCleanExit(server, subject.wait_exit(CLIENT_EXIT_TIMEOUT))


class ClientFailures(ConformanceTest):
    """The subject must exit non-zero when its call fails."""

    def run_failing(self, scenario, fault):
        subject = self.spawn(mode="client", scenario=scenario)
        link = self.connect(subject)
        theirs = self.recv_hello(link)
        ours = Hello(*DEFAULT_HELLO)
        link.send(ours)
        server = HarnessTestbed(self, Peer(link, ours, theirs), fault=fault)
        try:
            server.run()
        except AssertionError:
            if not server.link_closed_by_harness:
                raise
        rc = subject.wait_exit(CLIENT_EXIT_TIMEOUT)
        self.assertIsNotNone(rc, "subject did not exit after its call failed")
        self.assertNotEqual(rc, 0, "subject exited 0 although its call failed")

    def test_echo_unknown_method(self):
        self.run_failing("echo", lambda req: ERR_UNKNOWN_METHOD)

    def test_echo_invalid_payload(self):
        self.run_failing("echo", lambda req: ERR_INVALID_PAYLOAD)

    def test_echo_link_closed(self):
        """The harness closes the link instead of answering."""
        self.run_failing("echo", lambda req: "close")

    def test_echo_goodbye(self):
        """The harness sends Goodbye on conn 0 and closes instead of answering."""
        self.run_failing("echo", lambda req: "goodbye")

    def test_sum_error(self):
        self.run_failing("sum", lambda req: ERR_CANCELLED if req.method_id == SUM else None)

    def test_generate_error(self):
        self.run_failing("generate",
                         lambda req: ERR_UNKNOWN_METHOD if req.method_id == GENERATE else None)

    def test_link_closed_before_hello(self):
        """The harness closes the link right after accepting it."""
        subject = self.spawn(mode="client", scenario="echo")
        link = self.connect(subject)
        link.close()
        rc = subject.wait_exit(CLIENT_EXIT_TIMEOUT)
        self.assertIsNotNone(rc, "subject did not exit")
        self.assertNotEqual(rc, 0)
