#!/usr/bin/env python3
"""A scripted Testbed server that treats channels the way the TypeScript 0.6
reference peer does (typescript/packages/roam-core: connection.ts and
channeling/registry.ts at roam 0.6):

- it never grants credit and never waits for it;
- it checks every Credit's channel id against its live channels (incoming and
  outgoing) and answers a Credit for a channel it does not hold -- including
  one it has just closed -- with Goodbye "channeling.unknown";
- its process_message answers like the TypeScript subject (typescript/subject/
  subject.ts): Text(s) -> "Processed: " + s, Data(b) -> b unchanged;
- it rejects virtual connections unless ACCEPT_CONNECTIONS=1, as the
  reference does (the client then skips its virtual-connection step).

The Testbed methods themselves are pysubject's (tests/conformance). Usage, as
pair.sh runs a server:

    ts06_peer.py 127.0.0.1:0     prints "listening on tcp://127.0.0.1:PORT"

It serves links one after the other until SIGTERM; it exits 0 then if no link
was ended by a protocol error, 1 otherwise (the reason is on stderr).
"""

import os
import signal
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import pysubject as ps  # noqa: E402
import roamwire as w  # noqa: E402

ps.BUGS.update({"no-grant", "ignore-credit"})  # the 0.6 peer's credit behaviour

failures = []


def m_process_message_ts(r):
    """The TypeScript 0.6 subject's process_message."""
    v = r.varint(32)
    if v == 0:
        out = w.varint(0) + w.enc_str("Processed: " + r.str())
    elif v == 1:
        out = w.varint(1) + w.enc_i64(ps.i64_wrap(r.i64() * 2))
    elif v == 2:
        out = w.varint(2) + w.enc_bytes(r.bytes_())
    else:
        raise w.DecodeError(f"Message variant {v}")
    r.expect_end()
    return ps.ok(out)


ps.PLAIN[ps.PROCESS_MESSAGE] = m_process_message_ts


def log(*a) -> None:
    print("[ts06-peer]", *a, file=sys.stderr, flush=True)


class Ts06Peer(ps.Subject):
    def on_credit(self, m) -> None:
        conn = self.conns.get(m.conn_id)
        ch = conn.chans.get(m.channel_id) if conn else None
        if ch is None or ch.state != "open":
            raise ps.ProtocolError(f"channeling.unknown: Credit for channel {m.channel_id} "
                                   f"of conn {m.conn_id}, which this peer does not hold")
        super().on_credit(m)

    def goodbye(self, reason: str) -> int:
        failures.append(reason)
        return super().goodbye(reason)


def on_term(signo, frame) -> None:
    if failures:
        log("links ended by a protocol error:", failures)
    os._exit(1 if failures else 0)


def main() -> int:
    if len(sys.argv) != 2:
        log("usage: ts06_peer.py HOST:PORT")
        return 2
    host, _, port = sys.argv[1].removeprefix("tcp://").rpartition(":")
    signal.signal(signal.SIGTERM, on_term)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    lsock.listen(4)
    print(f"listening on tcp://{host}:{lsock.getsockname()[1]}", flush=True)
    while True:
        sock, _ = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            Ts06Peer(sock).run()
        except SystemExit:
            pass  # the client said Goodbye: the link is over
        try:
            sock.close()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
