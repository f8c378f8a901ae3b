#!/usr/bin/python3
"""Driver of roam-c's benchmark suite (started by bench/run after the build).

Runs every workload several times, interleaving the implementations
(round i runs roam-c, then each comparison, back to back, in an order that
rotates from round to round), aggregates the RESULT lines the programs print
(see bench/lib/bench_util.h), and writes the table to Markdown (and JSON).

Ratios are roam-c / peer, computed per round from the two figures measured
side by side, and the table shows the median of those per-round ratios.
The round-trip workloads also record their latency samples (--samples,
pooled by samples.py), and charts.py draws the figures as SVG with gnuplot
into perf/ next to the Markdown file, which shows them above the table.
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import charts
import samples

LOWER_IS_BETTER = {"us", "ns", "B/link", "MiB"}
IMPLS = ["roam", "raw", "nng", "nghttp2", "tcp"]
# "tcp": roam-c over tcp:// measured by the ws:// rows' own program, against
# the same server in the same run (bench_suite_net --transport ws)
IMPL_TITLE = {"roam": "roam-c", "raw": "raw floor", "nng": "nng", "nghttp2": "nghttp2",
              "tcp": "tcp:// (same server)"}
PEERS = ["raw", "nng", "nghttp2", "tcp"]
# bench/CMakeLists.txt and bench/peers/CMakeLists.txt targets of the suite
SUITE_PROGRAMS = {"bench_suite_net", "bench_suite_mem"}
PEER_BIN = {"raw": "peer_raw", "nng": "peer_nng", "nghttp2": "peer_h2"}
PEER_PKG = {"nng": "libnng-dev", "nghttp2": "libnghttp2-dev"}
# The charts go to this directory next to the Markdown file (docs/perf/ for
# docs/PERFORMANCE.md), linked relatively.
CHART_DIR = "perf"
# Arguments for the other engineers' programs (bench/bench_*.c) in quick
# mode; the ones not listed get none (and BENCH_QUICK=1 in the environment).
OTHER_QUICK_ARGS = {
    "bench_runtime": ["--quick"],
    "bench_method_id": ["--runs", "3", "--mib", "32"],
    "bench_embed": ["--quick"],
}


def workloads(quick):
    """The suite. Each workload: id, title, metrics [(name, label)], the
    command of each implementation (program, args), targets per metric
    {peer: (op, bound)} on the ratio roam/peer, and notes."""
    net, mem = "bench_suite_net", "bench_suite_mem"
    raw, nng, h2 = "peer_raw", "peer_nng", "peer_h2"
    lat = [("median", "median"), ("p99", "p99")]
    ahead_lat = {"nng": ("<=", 1.0), "nghttp2": ("<=", 1.0)}
    ahead_rate = {"nng": (">=", 1.0), "nghttp2": (">=", 1.0)}
    W = []
    for tr, tname in (("unix", "Unix socket"), ("tcp", "TCP loopback")):
        impls = {
            "roam": (net, ["rtt", "--transport", tr, "--size", "32"]),
            "raw": (raw, ["rtt", "--transport", tr, "--size", "32"]),
            "nng": (nng, ["rtt", "--transport", tr, "--size", "32"]),
        }
        if tr == "unix":
            impls["nghttp2"] = (h2, ["rtt", "--size", "32"])
        W.append(dict(
            id="rtt." + tr, title="Sequential unary round trip, 32 B, " + tname,
            metrics=lat, impls=impls, samples=True,
            targets={"median": dict(ahead_lat, raw=("<=", 1.25)), "p99": dict(ahead_lat)},
            notes="nng over ipc://, nghttp2 over a socketpair" if tr == "unix" else
                  "nng over tcp://"))
    for tr, tname in (("unix", "Unix socket"), ("tcp", "TCP loopback")):
        a = ["pipelined", "--transport", tr, "--size", "32", "--inflight", "64"]
        impls = {"roam": (net, a), "raw": (raw, a), "nng": (nng, a)}
        if tr == "unix":
            impls["nghttp2"] = (h2, ["pipelined", "--size", "32", "--inflight", "64"])
        W.append(dict(
            id="pipelined64." + tr, title="Pipelined unary, 64 in flight, 32 B, " + tname,
            metrics=[("rate", "calls/s")], impls=impls,
            targets={"rate": dict(ahead_rate, raw=(">=", 0.7))},
            notes="nng: 64 req contexts; nghttp2: 64 streams over a socketpair"
                  if tr == "unix" else "nng: 64 req contexts"))
    # WebSocket next to TCP: one server listening on both, one client of each
    # kind, alternating slices; roam-c = ws://, the tcp column = tcp://
    W.append(dict(
        id="rtt.ws", title="Sequential unary round trip, 32 B, ws:// vs tcp:// (same server)",
        metrics=lat, impls={"roam": (net, ["rtt", "--transport", "ws", "--size", "32"])},
        emits=["tcp"], targets={"median": {"tcp": ("<=", 1.15)}},
        notes="roam-c column: ws:// (one binary WebSocket message per roam message); tcp "
              "column: tcp:// to the same server process, measured in alternating slices"))
    W.append(dict(
        id="pipelined64.ws",
        title="Pipelined unary, 64 in flight, 32 B, ws:// vs tcp:// (same server)",
        metrics=[("rate", "calls/s")],
        impls={"roam": (net, ["pipelined", "--transport", "ws", "--size", "32",
                              "--inflight", "64"])},
        emits=["tcp"], targets={"rate": {"tcp": (">=", 0.8)}},
        notes="as rtt.ws; the pipeline runs on one client at a time, drained between slices"))
    for k in (1, 64):
        a = ["session", "--size", "32", "--inflight", str(k)]
        W.append(dict(
            id="session%d" % k,
            title="In-memory session cycle, %d in flight, 32 B (no sockets)" % k,
            metrics=[("rate", "cycles/s")],
            impls={"roam": (mem, a), "nghttp2": (h2, a)},
            targets={"rate": {"nghttp2": (">=", 1.0)}},
            notes="client and server session back to back in one thread"))
    W.append(dict(
        id="stream64k.unix",
        title="Channel stream, 64 KiB values, runtime defaults (64 KiB initial credit, "
              "1 MiB receive window), Unix socket",
        metrics=[("throughput", "GB/s")],
        impls={"roam": (net, ["stream", "--size", "65536"]),
               "raw": (raw, ["stream", "--size", "65536"])},
        targets={"throughput": {"raw": (">=", 0.7)}},
        notes="a value is 65 536 postcard bytes (a [u8; 65536]), as large as the initial "
              "credit; the receiver's first Credit opens its 1 MiB window"))
    W.append(dict(
        id="stream64k-w64k.unix",
        title="Channel stream, 64 KiB values, the reference's window (64 KiB), Unix socket",
        metrics=[("throughput", "GB/s")],
        impls={"roam": (net, ["stream", "--size", "65536", "--window", "65536"]),
               "raw": (raw, ["stream", "--size", "65536"])},
        targets={},
        notes="channel_window 64 KiB on both sides: one value fills the window, so every "
              "value waits a Credit round trip (stop-and-wait, bounded by window / RTT for "
              "any implementation); no target, shown for what a reference-sized window costs"))
    W.append(dict(
        id="stream8k-w16k.unix",
        title="Channel stream, 8 KiB values, 16 KiB credit window, Unix socket",
        metrics=[("throughput", "GB/s")],
        impls={"roam": (net, ["stream", "--size", "8192", "--credit", "16384",
                              "--window", "16384"]),
               "raw": (raw, ["stream", "--size", "8192"])},
        targets={},
        notes="initial credit and window 16 KiB, 8 KiB values (two per window): at most "
              "one window per Credit round trip, so about 16 KiB / 25 us = 0.65 GB/s on this "
              "machine for any implementation that honours credit; no target, shown for "
              "what a small window costs"))
    W.append(dict(
        id="stream64k-w1m.unix",
        title="Channel stream, 64 KiB values, 1 MiB initial credit, Unix socket",
        metrics=[("throughput", "GB/s")],
        impls={"roam": (net, ["stream", "--size", "65536", "--credit", "1048576"]),
               "raw": (raw, ["stream", "--size", "65536"])},
        targets={"throughput": {"raw": (">=", 0.7)}},
        notes="initial_channel_credit 1 MiB on both sides: the window is open from the "
              "first value"))
    for n in (1000, 10000):
        a = ["idle", "--transport", "tcp", "--links", str(n)]
        W.append(dict(
            id="idle%d.tcp" % n, title="%s idle links, TCP: memory per link" % format(n, ","),
            metrics=[("server_mem", "server B/link"), ("client_mem", "client B/link")],
            impls={"roam": (net, a), "raw": (raw, a), "nng": (nng, a)},
            targets={"server_mem": {"nng": ("<=", 1.0)}},
            limits={"server_mem": ("<=", 2048)} if n >= 10000 else {},
            no_ratio={"raw"},  # a bare socket holds next to no user memory
            rounds=(1 if n >= 10000 else 2) if quick else None,
            notes="RSS growth from links n/10 to n, divided by 0.9 n (kernel socket "
                  "memory excluded); nng: one req socket per link"))
    a = ["active", "--transport", "tcp", "--links", "1000", "--size", "32"]
    W.append(dict(
        id="active1000.tcp", title="1,000 active links, sequential calls on each, TCP",
        metrics=[("rate", "calls/s")],
        impls={"roam": (net, a), "raw": (raw, a), "nng": (nng, a)},
        targets={"rate": {"nng": (">=", 1.0)}},
        rounds=2 if quick else None,
        notes="aggregate rate; one client loop/thread for all links; nng: one req "
              "socket per link"))
    # the server's memory budget (docs/runtime.md "Memory")
    W.append(dict(
        id="budget50x4m.tcp", title="50 links each sending a 4 MiB frame without delimiter, "
                                    "while a good client calls echo, TCP",
        metrics=[("server_growth", "server growth MiB"), ("good_rate", "good client calls/s")],
        impls={"roam": (net, ["budget", "--transport", "tcp", "--links", "50",
                              "--size", str(4 << 20), "--id", "budget50x4m.tcp"])},
        targets={}, limits={"server_growth": ("<=", 16)},
        rounds=1 if quick else None,
        notes="server RSS growth, peak over the run, with the default memory budget; "
              "every call of the good client must succeed (or the run fails)"))
    return W


# ---------------------------------------------------------------------------
# running


def find_bin(build, name):
    for sub in ("bench", "bench/peers"):
        p = os.path.join(build, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


RESULT_RE = re.compile(r"^RESULT (\S+) (\S+) (\S+) (\S+) (\S+)\s*$")


def run_program(path, args, timeout, verbose):
    """Run one program; returns (list of (wl, impl, metric, value, unit), error)."""
    try:
        p = subprocess.run([path] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], "timed out after %ds" % timeout
    res = []
    for line in p.stdout.splitlines():
        m = RESULT_RE.match(line)
        if m:
            wl, impl, metric, val, unit = m.groups()
            try:
                res.append((wl, impl, metric, float(val), unit))
            except ValueError:
                pass
        elif verbose:
            print("    | " + line, file=sys.stderr)
    if verbose and p.stderr:
        for line in p.stderr.splitlines():
            print("    ! " + line, file=sys.stderr)
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        return res, "exit status %d: %s" % (p.returncode, tail[:200])
    return res, None


def fmt_num(v, unit):
    if v is None:
        return "—"
    if unit in ("calls/s", "cycles/s", "msgs/s"):
        if v >= 1e6:
            return "%.2f M" % (v / 1e6)
        if v >= 1e3:
            return "%.0f k" % (v / 1e3)
        return "%.0f" % v
    if unit == "GB/s":
        return "%.2f" % v
    if unit == "B/link":
        return "%.0f" % v
    if unit in ("us", "ns"):
        return "%.1f" % v if v < 1000 else "%.0f" % v
    return "%.3g" % v


def cell(stats, unit):
    if not stats:
        return "—"
    med, lo, hi, n = stats["median"], stats["min"], stats["max"], len(stats["runs"])
    if n == 1:
        return fmt_num(med, unit)
    return "%s (%s–%s)" % (fmt_num(med, unit), fmt_num(lo, unit), fmt_num(hi, unit))


def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "os": platform.system(), "mem_total_bytes": mem}


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_info(root):
    def g(*a):
        try:
            return subprocess.run(["git", "-C", root] + list(a), capture_output=True,
                                  text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"commit": g("rev-parse", "--short", "HEAD"),
            "dirty": bool(g("status", "--porcelain", "--untracked-files=no"))}


# ---------------------------------------------------------------------------
# codec rates (bench_wire): RESULT lines if it prints them, else its table

WIRE_LINE = re.compile(
    r"^\s{2}(\S.*?)\s+([\d.]+) M/s(?:\s+([\d.]+) GB/s)?\s+([\d.]+) ns/op\s*$")


def run_wire(build, quick, verbose, timeout):
    path = find_bin(build, "bench_wire")
    if not path:
        return None, "bench_wire not built"
    try:
        p = subprocess.run([path, "0.03" if quick else "0.2"], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "bench_wire timed out"
    rows = []
    for line in p.stdout.splitlines():
        m = RESULT_RE.match(line)
        if m:
            wl, impl, metric, val, unit = m.groups()
            rows.append({"op": "%s %s" % (wl, metric), "value": float(val), "unit": unit})
            continue
        m = WIRE_LINE.match(line)
        if m:
            op, mops, gbs, ns = m.groups()
            rows.append({"op": op.strip(), "mops": float(mops),
                         "gbps": float(gbs) if gbs else None, "ns_per_op": float(ns)})
    extra = [l for l in p.stdout.splitlines()
             if l.strip() and not WIRE_LINE.match(l) and not RESULT_RE.match(l)]
    if verbose:
        print(p.stdout, file=sys.stderr)
    err = None if p.returncode == 0 else "bench_wire exit status %d" % p.returncode
    return {"rows": rows, "other_lines": extra}, err


def run_others(build, quick, verbose):
    """Every other bench/bench_* program (the engineers' own benchmarks):
    run once (with BENCH_QUICK=1 in quick mode); RESULT lines are tabulated,
    anything else is kept verbatim."""
    out = []
    d = os.path.join(build, "bench")
    if not os.path.isdir(d):
        return out
    limit = 20 if quick else 600
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if (not name.startswith("bench_") or name.startswith("bench_suite_") or
                name == "bench_wire" or not os.path.isfile(path) or
                not os.access(path, os.X_OK)):
            continue
        print("== %s" % name, file=sys.stderr)
        env = dict(os.environ)
        if quick:
            env["BENCH_QUICK"] = "1"
        t0 = time.time()
        try:
            args = OTHER_QUICK_ARGS.get(name, []) if quick else []
            p = subprocess.run([path] + args, capture_output=True, text=True, env=env,
                               timeout=limit)
            stdout, err = p.stdout, (None if p.returncode == 0
                                     else "exit status %d" % p.returncode)
        except subprocess.TimeoutExpired as e:
            so = e.stdout or ""
            stdout = so.decode(errors="replace") if isinstance(so, bytes) else so
            err = "stopped after %d s" % limit
        rows, lines = [], []
        for line in stdout.splitlines():
            m = RESULT_RE.match(line)
            if m:
                wl, impl, metric, val, unit = m.groups()
                rows.append({"workload": wl, "impl": impl, "metric": metric,
                             "value": float(val), "unit": unit})
            elif line.strip():
                lines.append(line.rstrip())
        if verbose:
            print(stdout, file=sys.stderr)
        print("   (%.1f s%s)" % (time.time() - t0, "; " + err if err else ""), file=sys.stderr)
        out.append({"program": name, "rows": rows, "lines": lines, "error": err})
    return out


CLI_TARGET = 0.8
CLI_MSG = "0123456789abcdef0123456789ABCDEF"  # bench_runtime's 32-byte echo string


def run_cli(build, root, quick, rounds, secs, verbose):
    """`roam bench` (the command-line tool, 64 calls in flight on one link)
    against `bench_runtime --addr` (the runtime's own pipelined client) on
    one roam-testbed-server over a Unix socket, in the same run: each round
    runs both back to back (alternating which goes first) and the ratio
    roam bench / bench_runtime is taken per round. Returns a dict, or None
    with a reason when a program is missing."""
    roam = os.path.join(build, "tools", "roam", "roam")
    server = os.path.join(build, "tools", "testbed-server", "roam-testbed-server")
    brt = find_bin(build, "bench_runtime")
    schema = os.path.join(root, "tools", "testbed", "testbed.rs")
    for path in (roam, server, brt):
        if not path or not os.access(path, os.X_OK):
            return None, "the roam bench row needs %s" % (path or "bench_runtime")
    sock = "/tmp/roam-bench-cli-%d.sock" % os.getpid()
    srv = subprocess.Popen([server, "unix:" + sock], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    line = srv.stdout.readline()
    if not line.startswith("listening on "):
        srv.kill()
        return None, "roam-testbed-server did not start"
    addr = line.split(" ", 2)[2].strip()
    cli_secs = max(secs, 0.5)
    out = {"id": "cli.pipelined64.unix", "address": addr, "cli": [], "runtime": [],
           "ratios": [], "target": CLI_TARGET,
           "command_cli": "roam bench %s Testbed.echo '[\"%s\"]' -s tools/testbed/testbed.rs "
                          "-p 64 -d %g --json -" % (addr, CLI_MSG, cli_secs),
           "command_runtime": "bench_runtime --addr %s --runs 1%s pipelined"
                              % (addr, " --quick" if quick else "")}
    err = None
    try:
        for r in range(rounds):
            vals = {}
            for which in (("runtime", "cli") if r % 2 == 0 else ("cli", "runtime")):
                if which == "runtime":
                    cmd = [brt, "--addr", addr, "--runs", "1"] + (["--quick"] if quick else []) + \
                          ["pipelined"]
                else:
                    cmd = [roam, "bench", addr, "Testbed.echo", '["%s"]' % CLI_MSG, "-s", schema,
                           "-p", "64", "-d", "%g" % cli_secs, "--json", "-"]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                if verbose:
                    print(p.stdout + p.stderr, file=sys.stderr)
                v = None
                if which == "runtime":
                    for l in p.stdout.splitlines():
                        m = RESULT_RE.match(l)
                        if m and m.group(1) == "pipelined64.external":
                            v = float(m.group(4))
                else:
                    try:
                        j = json.loads(p.stdout.strip().splitlines()[-1])
                        if j["errors"] == 0:
                            v = float(j["calls_per_s"])
                    except (ValueError, IndexError, KeyError):
                        v = None
                if p.returncode != 0 or v is None:
                    err = "%s failed (exit status %d): %s" % (which, p.returncode,
                                                               p.stderr.strip()[-200:])
                    continue
                vals[which] = v
                out[which].append(v)
            if "cli" in vals and "runtime" in vals and vals["runtime"] > 0:
                out["ratios"].append(vals["cli"] / vals["runtime"])
            print("   round %d  roam bench %s calls/s  bench_runtime %s calls/s" % (
                r + 1, fmt_num(vals.get("cli", 0), "calls/s"),
                fmt_num(vals.get("runtime", 0), "calls/s")), file=sys.stderr)
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
    for k in ("cli", "runtime", "ratios"):
        out[k + "_median"] = statistics.median(out[k]) if out[k] else None
    r = out["ratios_median"]
    out["met"] = r is not None and r >= CLI_TARGET
    out["error"] = err
    return out, None


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--out", help="Markdown file (default docs/PERFORMANCE.md; with --quick "
                                  "<build>/PERFORMANCE-quick.md)")
    ap.add_argument("--runs", type=int, help="rounds per workload (default 5, quick 3)")
    ap.add_argument("--secs", type=float, help="measuring time per run")
    ap.add_argument("--only", help="regular expression on workload ids")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--note", action="append", default=[],
                    help="a note for the report (repeatable)")
    a = ap.parse_args()

    rounds = a.runs or (3 if a.quick else 5)
    secs = a.secs or (0.15 if a.quick else 2.0)
    out_md = a.out or (os.path.join(a.build, "PERFORMANCE-quick.md") if a.quick
                       else os.path.join(a.root, "docs", "PERFORMANCE.md"))
    timeout = int(60 + 30 * secs)
    notes = list(a.note)
    # the round trips' latency samples of this run (not kept: the report
    # holds their pooled quantiles)
    samples_dir = os.path.join(a.build, "samples")
    os.makedirs(samples_dir, exist_ok=True)
    for f in os.listdir(samples_dir):
        if f.endswith(".txt"):
            os.remove(os.path.join(samples_dir, f))
    sample_files = {}  # wl -> [paths]
    started = time.time()
    load_start = loadavg()

    avail = {}
    for impl in IMPLS:
        if impl == "tcp":
            continue  # produced by bench_suite_net's ws rows
        prog = "bench_suite_net" if impl == "roam" else PEER_BIN[impl]
        avail[impl] = find_bin(a.build, prog) is not None
    for impl, pkg in PEER_PKG.items():
        if not avail[impl]:
            notes.append("%s comparison skipped: %s not built (install %s)"
                         % (impl, PEER_BIN[impl], pkg))

    W = workloads(a.quick)
    if a.only:
        W = [w for w in W if re.search(a.only, w["id"])]

    results = {}  # wl -> impl -> metric -> {unit, runs: [(round, value)]}
    failures = {}
    for w in W:
        wid = w["id"]
        impls = [i for i in IMPLS if i in w["impls"]]
        nr = w.get("rounds") or rounds
        print("== %s: %s (%d rounds)" % (wid, w["title"], nr), file=sys.stderr)
        t_w = time.time()
        for r in range(nr):
            order = impls[r % len(impls):] + impls[:r % len(impls)]
            for impl in order:
                prog, args = w["impls"][impl]
                path = find_bin(a.build, prog)
                if not path:
                    failures.setdefault(wid, {})[impl] = "%s not built" % prog
                    continue
                if failures.get(wid, {}).get(impl, "").startswith("exit") and r > 0:
                    pass  # keep trying: a flaky failure should not hide the rest
                extra = ["--secs", "%g" % secs, "--id", wid]
                if w.get("samples"):
                    sf = os.path.join(samples_dir, "%s.%s.%d.txt" % (wid, impl, r))
                    extra += ["--samples", sf]
                    sample_files.setdefault(wid, []).append(sf)
                res, err = run_program(path, args + extra, timeout, a.verbose)
                shown = []
                for rwl, rimpl, metric, val, unit in res:
                    if rwl != wid:
                        continue
                    d = results.setdefault(wid, {}).setdefault(rimpl, {}).setdefault(
                        metric, {"unit": unit, "runs": []})
                    d["runs"].append((r, val))
                    shown.append("%s=%s %s" % (metric, fmt_num(val, unit), unit))
                if err:
                    failures.setdefault(wid, {})[impl] = err
                    shown.append("FAILED: " + err)
                print("   round %d %-8s %s" % (r + 1, impl, "  ".join(shown)), file=sys.stderr)
        print("   (%.1f s)" % (time.time() - t_w), file=sys.stderr)

    wire, wire_err = (None, None)
    if not a.only or re.search(a.only, "codec"):
        print("== codec: bench_wire", file=sys.stderr)
        wire, wire_err = run_wire(a.build, a.quick, a.verbose, 600)
        if wire_err:
            notes.append(wire_err)

    cli = None
    if not a.only or re.search(a.only, "cli.pipelined64.unix"):
        print("== cli.pipelined64.unix: roam bench vs bench_runtime, one Testbed server "
              "(%d rounds)" % rounds, file=sys.stderr)
        cli, why = run_cli(a.build, a.root, a.quick, rounds, secs, a.verbose)
        if why:
            notes.append(why)

    others = []
    if a.quick:
        notes.append("the other bench programs (bench_runtime, bench_method_id, ...) are run "
                     "only without --quick")
    elif not a.only:
        others = run_others(a.build, a.quick, a.verbose)

    # ---- aggregate
    report = []
    for w in W:
        wid = w["id"]
        wr = results.get(wid, {})
        entry = {"id": wid, "title": w["title"], "notes": w.get("notes", ""),
                 "results": {}, "ratios": {}, "failures": failures.get(wid, {})}
        for impl, ms in wr.items():
            for metric, d in ms.items():
                vals = [v for _, v in d["runs"]]
                entry["results"].setdefault(impl, {})[metric] = {
                    "unit": d["unit"], "runs": vals, "median": statistics.median(vals),
                    "min": min(vals), "max": max(vals)}
        status = []
        entry["metric_status"] = {}
        for metric, _label in w["metrics"]:
            roam = wr.get("roam", {}).get(metric)
            mst = []
            for peer in PEERS:
                pd = wr.get(peer, {}).get(metric)
                if not roam or not pd or peer in w.get("no_ratio", ()):
                    continue
                pr = dict(pd["runs"])
                paired = [rv / pr[r] for r, rv in roam["runs"] if r in pr and pr[r] > 0]
                if not paired:
                    continue
                ratio = statistics.median(paired)
                t = w["targets"].get(metric, {}).get(peer)
                met = None
                if t:
                    met = ratio <= t[1] if t[0] == "<=" else ratio >= t[1]
                    if not met:
                        mst.append("%s %.2f× (target %s%g×)" % (
                            IMPL_TITLE[peer], ratio, "≤" if t[0] == "<=" else "≥", t[1]))
                entry["ratios"].setdefault(metric, {})[peer] = {
                    "ratio": ratio, "paired": paired,
                    "target": "%s %g" % t if t else None, "met": met}
            # an absolute bound on roam-c's own figure (workload "limits")
            lim = w.get("limits", {}).get(metric)
            if lim and roam:
                roam_med = statistics.median(v for _, v in roam["runs"])
                if not (roam_med <= lim[1] if lim[0] == "<=" else roam_med >= lim[1]):
                    mst.append("%s %s (target %s%g)" % (
                        fmt_num(roam_med, roam["unit"]), roam["unit"],
                        "≤" if lim[0] == "<=" else "≥", lim[1]))
            entry["metric_status"][metric] = mst
            status.extend("behind %s on %s" % (m, metric) for m in mst)
        if "roam" in failures.get(wid, {}) or not wr.get("roam"):
            status.insert(0, "roam-c run failed: %s" % failures.get(wid, {}).get("roam", "?"))
        entry["status"] = "; ".join(status) if status else "ok"
        if w.get("samples"):
            present = [f for f in sample_files.get(wid, []) if os.path.isfile(f)]
            entry["latency_cdf"], errs = samples.pool_files(present, wid)
            notes.extend("%s samples: %s" % (wid, e) for e in errs)
        report.append(entry)

    info = machine_info()
    load_end = loadavg()
    gi = git_info(a.root)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "bench/run" + (" --quick" if a.quick else "")
    md_dir = os.path.dirname(os.path.abspath(out_md))
    chart_dir = os.path.join(md_dir, CHART_DIR)
    drawn, chart_err = charts.render(report, chart_dir)
    if chart_err:
        notes.append(chart_err)
    elif drawn:
        print("drew %d charts in %s" % (len(drawn), chart_dir), file=sys.stderr)
    chart_links = [("%s/%s" % (CHART_DIR, f), alt) for f, alt in drawn]
    md = render_md(report, W, info, gi, date, cmd, rounds, secs, load_start, load_end, notes,
                   wire, others, time.time() - started, a.quick, cli, chart_links)
    os.makedirs(md_dir, exist_ok=True)
    with open(out_md, "w") as f:
        f.write(md)
    print(md)
    print("wrote %s" % out_md, file=sys.stderr)
    if a.json:
        doc = {"schema": "roam-c-bench/1", "date": date, "command": cmd, "quick": a.quick,
               "rounds": rounds, "secs_per_run": secs, "machine": info, "git": gi,
               "loadavg_start": load_start, "loadavg_end": load_end, "notes": notes,
               "workloads": report, "codec": wire, "other_programs": others,
               "cli": cli}
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)
        print("wrote %s" % a.json, file=sys.stderr)
    return 0


def target_text(w, metric):
    t = w["targets"].get(metric, {})
    parts = []
    for peer in PEERS:
        if peer in t and (peer in w["impls"] or peer in w.get("emits", ())):
            op, b = t[peer]
            op = "≤" if op == "<=" else "≥"
            parts.append("%s%g× %s" % (op, b, IMPL_TITLE[peer]))
    lim = w.get("limits", {}).get(metric)
    if lim:
        parts.append("%s%g" % ("≤" if lim[0] == "<=" else "≥", lim[1]))
    return ", ".join(parts) if parts else "—"


def render_md(report, W, info, gi, date, cmd, rounds, secs, load_start, load_end, notes, wire,
              others, elapsed, quick, cli=None, chart_links=()):
    L = []
    L.append("# roam-c performance")
    L.append("")
    L.append("Generated by `%s` (see [benchmarks.md](benchmarks.md) for what each workload "
             "measures and how ratios are computed). Do not edit by hand." % cmd)
    L.append("")
    mem = info.get("mem_total_bytes")
    L.append("- Machine: %s, %s cores, %s %s%s" % (
        info["cpu"], info["cores"], info["os"], info["kernel"],
        ", %.1f GiB RAM" % (mem / 2**30) if mem else ""))
    L.append("- Date: %s; commit %s%s" % (date, gi["commit"] or "?",
                                          " (working tree had uncommitted changes)"
                                          if gi["dirty"] else ""))
    L.append("- %s; %d round(s) per workload (fewer where marked), %.2g s of measurement per "
             "run; suite took %.0f s" % ("Quick run" if quick else "Full run", rounds, secs,
                                         elapsed))
    if load_start:
        L.append("- Load average at start %s, at end %s: figures are only comparable "
                 "side by side (ratios), not across machines or runs." %
                 (" / ".join(str(x) for x in load_start),
                  " / ".join(str(x) for x in load_end or [])))
    L.append("")
    if chart_links:
        L.append("Charts: bars at the median over the rounds, error bars from the worst to "
                 "the best round; each panel has its own scale, and a bar taller than four "
                 "times roam-c's and the floor's is cut (↑, with its value). The latency "
                 "distributions pool the calls of every round. Figures in the table below.")
        L.append("")
        for link, alt in chart_links:
            L.append("![%s](%s)" % (alt, link))
            L.append("")
    L.append("Cells: median (min–max) over the rounds. Ratios: roam-c ÷ peer, the median of "
             "the per-round ratios (each round runs every implementation back to back). "
             "↓ lower is better, ↑ higher is better.")
    L.append("")
    hdr = ["Workload", "Metric"] + [IMPL_TITLE[i] for i in IMPLS] + \
          ["roam/" + IMPL_TITLE[p].split()[0] for p in PEERS] + ["Target", "Status"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * len(hdr)) + "|")
    wmap = {w["id"]: w for w in W}
    for e in report:
        w = wmap[e["id"]]
        first = True
        for metric, label in w["metrics"]:
            unit = None
            for impl in IMPLS:
                s = e["results"].get(impl, {}).get(metric)
                if s:
                    unit = s["unit"]
                    break
            arrow = "↓" if unit in LOWER_IS_BETTER else "↑"
            ulabel = {"us": "µs"}.get(unit, unit or "")
            if label in ("median", "p99"):
                mlabel = "%s %s %s" % (label, ulabel, arrow)
            elif unit == "B/link":
                mlabel = "%s %s" % (label, arrow)
            else:
                mlabel = "%s %s" % (ulabel or label, arrow)
            row = ["**%s**<br>%s" % (e["id"], w["title"]) if first else "", mlabel]
            for impl in IMPLS:
                s = e["results"].get(impl, {}).get(metric)
                if s:
                    row.append(cell(s, unit))
                elif impl in w["impls"] and impl in e["failures"]:
                    row.append("skipped" if e["failures"][impl].endswith("not built")
                               else "failed")
                elif impl in w["impls"]:
                    row.append("skipped")
                else:
                    row.append("")
            for peer in PEERS:
                r = e["ratios"].get(metric, {}).get(peer)
                if r:
                    txt = "%.2f×" % r["ratio"]
                    if r["met"] is False:
                        txt = "**%s**" % txt
                    row.append(txt)
                else:
                    row.append("")
            row.append(target_text(w, metric))
            mst = e["metric_status"].get(metric, [])
            if not e["results"].get("roam"):
                st = "**roam-c failed**" if first else ""
            elif mst:
                st = "**BEHIND**: " + "; ".join(mst)
            elif w["targets"].get(metric) or w.get("limits", {}).get(metric):
                st = "ok"
            else:
                st = "—"
            row.append(st)
            L.append("| " + " | ".join(row) + " |")
            first = False
    L.append("")
    L.append("Rows:")
    L.append("")
    for e in report:
        w = wmap[e["id"]]
        extra = []
        if w.get("rounds"):
            extra.append("%d round(s) in quick mode" % w["rounds"])
        for impl, err in sorted(e["failures"].items()):
            extra.append("%s: %s" % (IMPL_TITLE[impl], err))
        L.append("- `%s`: %s%s" % (e["id"], w.get("notes") or w["title"],
                                  ("; " + "; ".join(extra)) if extra else ""))
    behind = [e for e in report if e["status"] != "ok"]
    L.append("")
    L.append("## Where roam-c is behind")
    L.append("")
    L.append("Why, from profiles: see [benchmarks.md](benchmarks.md#where-roam-c-stands-against-the-raw-floor-and-why).")
    L.append("")
    if not behind:
        L.append("Nowhere in this run: every target was met.")
    for e in behind:
        L.append("- `%s`: %s" % (e["id"], e["status"]))
    if cli:
        L.append("")
        L.append("## The roam tool: `roam bench` against `bench_runtime`")
        L.append("")
        L.append("One roam-testbed-server on a Unix socket; each round runs `roam bench` (64 calls "
                 "in flight on one link, Testbed.echo of a 32-byte string) and bench_runtime's "
                 "pipelined client (the same calls through the runtime API) back to back. "
                 "Target: roam bench drives at least %g× bench_runtime's rate (the tool is not "
                 "the bottleneck)." % cli["target"])
        L.append("")
        L.append("| Workload | roam bench calls/s ↑ | bench_runtime calls/s ↑ | roam bench / "
                 "bench_runtime | Target | Status |")
        L.append("|---|---|---|---|---|---|")

        def cellv(vals):
            if not vals:
                return "—"
            return "%s (%s–%s)" % (fmt_num(statistics.median(vals), "calls/s"),
                                   fmt_num(min(vals), "calls/s"), fmt_num(max(vals), "calls/s"))
        r = cli["ratios_median"]
        L.append("| **%s** | %s | %s | %s | ≥%g× | %s |" % (
            cli["id"], cellv(cli["cli"]), cellv(cli["runtime"]),
            "%.2f×" % r if r is not None else "—", cli["target"],
            "ok" if cli["met"] else ("behind" if r is not None else "failed")))
        L.append("")
        L.append("Commands: `%s`; `%s`.%s" % (
            cli["command_cli"], cli["command_runtime"],
            " Error: %s" % cli["error"] if cli.get("error") else ""))
    if wire:
        L.append("")
        L.append("## Codec rates (bench_wire)")
        L.append("")
        if wire["rows"] and "mops" in wire["rows"][0]:
            L.append("| Operation | M/s | GB/s | ns/op |")
            L.append("|---|---|---|---|")
            for r in wire["rows"]:
                L.append("| %s | %.2f | %s | %.1f |" % (
                    r["op"], r["mops"], "%.2f" % r["gbps"] if r["gbps"] is not None else "",
                    r["ns_per_op"]))
        elif wire["rows"]:
            L.append("| Figure | Value | Unit |")
            L.append("|---|---|---|")
            for r in wire["rows"]:
                L.append("| %s | %.6g | %s |" % (r["op"], r["value"], r["unit"]))
        if wire["other_lines"]:
            L.append("")
            L.append("```")
            L.extend(l.rstrip() for l in wire["other_lines"])
            L.append("```")
    for o in others:
        L.append("")
        L.append("## Other benchmark programs: %s" % o["program"])
        L.append("")
        if o["error"]:
            L.append("(%s)" % o["error"])
            L.append("")
        if o["rows"]:
            L.append("| Workload | Impl | Metric | Value | Unit |")
            L.append("|---|---|---|---|---|")
            for r in o["rows"]:
                L.append("| %s | %s | %s | %.6g | %s |" % (r["workload"], r["impl"], r["metric"],
                                                         r["value"], r["unit"]))
            L.append("")
        if o["lines"]:
            L.append("```")
            L.extend(o["lines"][:200])
            L.append("```")
    if notes:
        L.append("")
        L.append("## Notes")
        L.append("")
        for n in notes:
            L.append("- " + n)
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
