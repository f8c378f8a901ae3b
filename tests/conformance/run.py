#!/usr/bin/env python3
"""Run the roam wire-level conformance suite against a subject.

    python3 tests/conformance/run.py [--subject PATH_OR_COMMAND] [-k PATTERN] [-v]

--subject defaults to tools/subject/run at the repository root; it may also be
a command line, e.g. --subject 'python3 tests/conformance/pysubject.py'.
-k works like unittest's -k (substring or fnmatch pattern on test names) and
may be repeated. Exits non-zero if any test fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import roamwire as w  # noqa: E402


def warm_up(timeout: float) -> str:
    """Start the subject once with a generous connect timeout so that a run
    script that builds the subject on first use does so outside the timed
    tests. Returns an error string, or "" on success."""
    subject = harness.Subject()
    try:
        sock = subject.accept(timeout)
        link = harness.make_link(sock)
        m = link.recv(harness.IO_TIMEOUT)
        if not isinstance(m, w.Hello):
            return f"subject's first message was {m!r}, not Hello"
        link.send(w.Hello(*harness.DEFAULT_HELLO))
        link.send(w.Goodbye(0, ""))
        link.close()
        subject.wait_exit(harness.IO_TIMEOUT)
        return ""
    except AssertionError as e:
        return str(e)
    finally:
        subject.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--subject", help="subject executable or command line "
                    "(default: tools/subject/run)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only run tests matching this pattern (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every test")
    ap.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    ap.add_argument("-f", "--failfast", action="store_true", help="stop at the first failure")
    ap.add_argument("--transport", choices=("tcp", "ws"), default=None,
                    help="tcp (COBS over TCP, PEER_ADDR=host:port; the default) or ws "
                    "(WebSocket, PEER_ADDR=ws://host:port/roam)")
    ap.add_argument("--durations", type=int, default=0, metavar="N",
                    help="print the N slowest tests")
    ap.add_argument("--no-warm-up", action="store_true",
                    help="skip the initial start of the subject")
    ap.add_argument("--warm-up-timeout", type=float, default=600.0,
                    help="seconds to wait for the first connection (default 600: the "
                    "run script may build the subject)")
    args = ap.parse_args()

    if args.transport:
        harness.TRANSPORT = args.transport
    if args.subject:
        harness.SUBJECT_CMD = harness.parse_subject(args.subject)
    cmd = harness.subject_cmd()
    print(f"conformance: subject = {' '.join(cmd)}, transport {harness.TRANSPORT}", flush=True)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if any(c in p for c in "*?[") else f"*{p}*"
                                   for p in args.patterns]
    suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    if suite.countTestCases() == 0:
        print("conformance: no test matches", file=sys.stderr)
        return 1

    needs_subject = any(not t.id().startswith("test_codec.")
                        for t in _iter_tests(suite))
    if needs_subject and not args.no_warm_up:
        t0 = time.monotonic()
        err = warm_up(args.warm_up_timeout)
        if err:
            print(f"conformance: the subject could not be started: {err}", file=sys.stderr)
            return 1
        print(f"conformance: subject is up ({time.monotonic() - t0:.1f}s)", flush=True)

    verbosity = 0 if args.quiet else (2 if args.verbose else 1)
    runner = unittest.TextTestRunner(verbosity=verbosity, failfast=args.failfast,
                                     stream=sys.stdout, resultclass=TimedResult)
    result = runner.run(suite)
    if args.durations:
        print(f"\nslowest {args.durations} tests:")
        for took, name in sorted(result.times, reverse=True)[:args.durations]:
            print(f"  {took:6.2f}s  {name}")
    return 0 if result.wasSuccessful() else 1


class TimedResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.times = []

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        self.times.append((time.monotonic() - self._t0, test.id()))
        super().stopTest(test)


def _iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter_tests(t)
        else:
            yield t


if __name__ == "__main__":
    sys.exit(main())
