#!/usr/bin/env python3
"""A real browser calls roam-c over WebSocket.

    browser_test.py PATH/TO/roam-testbed-server

Serves examples/browser/ over HTTP, starts roam-testbed-server on a ws://
address that accepts only this page's Origin, and has headless Chromium open
index.html?ws=...: the page (roam.js, a JavaScript roam client written from
the protocol notes) exchanges Hello, calls echo, sum over a channel and
generate, then POSTs its verdict back here. Exit 0 on PASS; 77 (skipped)
only when no Chromium can start, with the reason; 1 otherwise.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = 77
TIMEOUT = 60.0


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return ""


def chromium_args(binary: str, profile: str) -> list:
    return [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            f"--user-data-dir={profile}"]


def can_start(binary: str) -> str:
    """'' when Chromium renders a page, else why not."""
    with tempfile.TemporaryDirectory(prefix="roam-chromium-") as profile:
        try:
            r = subprocess.run(chromium_args(binary, profile) + ["--dump-dom", "about:blank"],
                               capture_output=True, timeout=TIMEOUT, start_new_session=True)
        except subprocess.TimeoutExpired:
            return f"{binary} did not render about:blank within {TIMEOUT:.0f}s"
        if r.returncode != 0 or b"<html" not in r.stdout:
            tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            return f"{binary} exited with status {r.returncode}: " + " | ".join(tail)
    return ""


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    chromium = find_chromium()
    if not chromium:
        print("browser test SKIPPED: no Chromium (apt-get install chromium; scripts/deps does)")
        return SKIP
    why = can_start(chromium)
    if why:
        print(f"browser test SKIPPED: Chromium cannot start here: {why}")
        return SKIP

    verdict = {}
    done = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(HERE), **kw)

        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length", "0"))
            verdict["text"] = self.rfile.read(n).decode("utf-8", "replace")
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"

    server = subprocess.Popen([sys.argv[1], "--ws-origins", origin, "ws://127.0.0.1:0/roam"],
                              stdout=subprocess.PIPE, text=True)
    browser = None
    profile = tempfile.mkdtemp(prefix="roam-chromium-")
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on ws://"):
            print(f"FAIL: roam-testbed-server did not start ({line!r})")
            return 1
        ws_url = line.split()[-1]
        page = f"{origin}/index.html?ws={ws_url}"
        print(f"browser test: {chromium} opens {page}")
        browser = subprocess.Popen(chromium_args(chromium, profile) + [page],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        if not done.wait(TIMEOUT):
            print(f"FAIL: no verdict from the page within {TIMEOUT:.0f}s")
            return 1
        text = verdict.get("text", "")
        print("page says:", text.replace("\n", "\n  "))
        return 0 if text.startswith("PASS") else 1
    finally:
        if browser is not None:
            try:
                os.killpg(browser.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            browser.wait()
        server.terminate()
        try:
            rc = server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            rc = -1
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
        if rc != 0:
            print(f"FAIL: roam-testbed-server exited with status {rc}")
            return 1  # noqa: B012 (a failed server fails the test whatever the page said)


if __name__ == "__main__":
    sys.exit(main())
