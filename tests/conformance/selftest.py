#!/usr/bin/env python3
"""Self-test of the harness: run selected tests against pysubject.py with
deliberate bugs switched on (PYSUBJECT_BUGS) and check that every bug is
caught, and that the same tests pass without it.

    python3 tests/conformance/selftest.py
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBJECT = f"{sys.executable} {HERE / 'pysubject.py'}"

# (bug, test name patterns of which at least one must fail with it)
MATRIX = [
    ("late-hello", ["test_hello_sent_immediately"]),
    ("no-close", ["Channels.test_generate_5"]),
    ("ignore-credit", ["test_generate_50_with_16_bytes"]),
    ("ignore-credit", ["test_sum_tiny_credit"]),
    ("no-grant", ["test_sum_grants_credit"]),
    ("reason-prefix", ["test_bad_cobs"]),
    ("no-goodbye", ["test_data_invalid_i32"]),
    ("no-dup-check", ["test_duplicate_request_id"]),
    ("even-channels", ["ClientScenarios.test_sum"]),
    ("lenient-data-after-close", ["test_data_after_close_once_answered"]),
    ("strict-unknown-conn", ["test_unknown_conn_ignored"]),
    ("exit-1", ["test_eof_exits_zero"]),
]


def run(patterns, bugs=""):
    env = dict(os.environ, PYSUBJECT_BUGS=bugs)
    cmd = [sys.executable, str(HERE / "run.py"), "--subject", SUBJECT, "-q", "--no-warm-up"]
    for p in patterns:
        cmd += ["-k", p]
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=600)
    return r.returncode, (r.stdout.strip().splitlines() or ["?"])[-1]


def main() -> int:
    bad = 0
    every = sorted({p for _, ps in MATRIX for p in ps})
    rc, summary = run(every)
    print(f"{'(no bug)':60} {summary}")
    if rc != 0:
        bad += 1
    for bug, patterns in MATRIX:
        rc, summary = run(patterns, bug)
        caught = rc != 0
        print(f"{bug + ' ' + patterns[0]:60} {summary}  -> {'caught' if caught else 'NOT CAUGHT'}")
        bad += not caught
    print("selftest:", "ok" if not bad else f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
