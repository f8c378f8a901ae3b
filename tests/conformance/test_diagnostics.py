"""Diagnostics of a real subject process (PROTOCOL §15): a call that hangs
(sum whose input channel is never closed) shows up in the SIGUSR1 dump the
subject writes to stderr, under its state name `subject`, and disappears
from the next dump once the call is over.

These tests are about roam-c's subject (it names its state and installs the
SIGUSR1 dump, docs/subject.md); they are skipped for other subjects."""

import os
import re
import signal
import time

import roamwire as w
from harness import SUM, ConformanceTest, ok, subject_cmd
from roamwire import Response


def _is_roam_c_subject() -> bool:
    return any(part.endswith(("tools/subject/run", "roam-subject")) for part in subject_cmd())


class SigusrDump(ConformanceTest):

    def _wait_for(self, subject, pattern: str, start: int, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = subject.output_tail(200000)[start:] if start else subject.output_tail(200000)
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.05)
        self.fail(f"pattern {pattern!r} not in the subject's output:\n{text}")

    def test_hung_call_and_open_channel_are_dumped(self):
        """[diagnostics] SIGUSR1 lists the stuck incoming call with its method name and
        the open channel, then nothing once it completed"""
        if not _is_roam_c_subject():
            self.skipTest("the dump format is roam-c's subject convention")
        peer = self.start()
        subject = peer.subject
        ch = 1
        rid = peer.call(SUM, w.enc_u64(ch), channels=[ch])
        peer.send_data(0, ch, w.enc_i32(5))
        peer.settle(0.2)
        before = len(subject.output_tail(200000))
        os.kill(subject.proc.pid, signal.SIGUSR1)
        text = self._wait_for(subject, r"^\[subject\] 1⬇ 1rx$", 0)
        self.assertRegex(text, rf"(?m)^  ⬇#{rid} Testbed\.sum \d+\.\ds")
        # End the call: close the channel, get the total, dump again.
        peer.send(w.Close(0, ch))
        r = peer.response(rid)
        self.assertIsInstance(r, Response)
        self.assertEqual(bytes(r.payload), ok(w.enc_i64(5)))
        marker = len(subject.output_tail(200000))
        os.kill(subject.proc.pid, signal.SIGUSR1)
        time.sleep(0.5)
        after = subject.output_tail(200000)[marker:]
        self.assertNotIn("Testbed.sum", after)
        self.assertGreater(marker, before)
        self.assertAlive(peer)
