#!/usr/bin/python3
"""bench/run's latency samples and charts.

1. With --peer-raw: the raw floor's rtt workload writes --samples files
   (bench_util.h's format) whose distribution agrees with its RESULT
   median, and samples.py pools two runs into one CDF.
2. samples.py's pooling weighs each run by its sample count and rejects
   malformed files.
3. charts.py draws every chart of a recorded `bench/run --json` report
   (perf-quick.json, a --quick run) as a small, valid, white SVG with the
   implementations' names, the same bytes twice, and removes the charts it
   no longer has data for; suite.py's Markdown links them above the table.

Exits 77 (skipped) after parts 1 and 2 when gnuplot is not installed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def samples_from_peer(samples, peer_raw, tmp):
    files = []
    for k in range(2):
        path = os.path.join(tmp, "rtt.raw.%d.txt" % k)
        p = subprocess.run([peer_raw, "rtt", "--transport", "unix", "--secs", "0.05",
                            "--id", "rtt.unix", "--samples", path],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "peer_raw rtt exit status %d: %s" % (p.returncode, p.stderr))
        m = re.search(r"^RESULT rtt\.unix raw median (\S+) us$", p.stdout, re.M)
        check(m is not None, "peer_raw printed its median")
        blocks = samples.read_blocks(path)
        check(len(blocks) == 1, "one block per run, got %d" % len(blocks))
        wl, impl, n, vals = blocks[0]
        check((wl, impl) == ("rtt.unix", "raw"), "block names rtt.unix raw: %s %s" % (wl, impl))
        check(n > 100 and 0 < len(vals) <= min(n, 2000),
              "block of n=%d has %d values (at most 2 000)" % (n, len(vals)))
        check(vals == sorted(vals), "values ascending")
        if m and vals:
            median = float(m.group(1)) * 1000.0
            mid = vals[len(vals) // 2]
            check(abs(mid - median) <= 0.05 * median,
                  "file median %d ns near the RESULT median %.0f ns" % (mid, median))
        files.append((path, n))
    pooled, errs = samples.pool_files([f for f, _ in files], "rtt.unix")
    check(not errs, "pooling errors: %s" % errs)
    raw = pooled.get("raw")
    check(raw is not None, "pooled the raw floor")
    if raw:
        check(raw["n"] == sum(n for _, n in files), "pooled n is the sum of the runs'")
        check(raw["runs"] == 2, "two runs pooled")
        ps = [p for p, _ in raw["points"]]
        us = [u for _, u in raw["points"]]
        check(ps == samples.CDF_GRID, "one point per grid probability")
        check(us == sorted(us) and us[0] > 0, "quantiles ascending and positive")


def pooling(samples, tmp):
    one = samples.pool([(4, [1000, 2000, 3000, 4000])])
    check(one["n"] == 4 and dict((p, u) for p, u in one["points"])[0.5] == 2.0,
          "median of 1..4 µs is 2 µs (nearest rank from below)")
    # a 2-sample run and a 200-sample run summarised by 2 quantiles: the
    # second weighs 100 times as much
    mix = samples.pool([(2, [1000, 1000]), (200, [5000, 5000])])
    q = dict((p, u) for p, u in mix["points"])
    check(mix["n"] == 202, "pooled n 202")
    check(q[0.001] == 1.0 and q[0.005] == 1.0 and q[0.01] == 5.0 and q[0.999] == 5.0,
          "runs weighted by their sample counts: %s" % [q[0.005], q[0.01]])
    check(samples.pool([]) is None, "no samples, no distribution")
    bad = os.path.join(tmp, "bad.txt")
    for text in ("123\n", "# rtt.unix raw n=1 unit=ns\n1\n2\n", "# rtt.unix raw\n1\n",
                 "# rtt.unix raw n=2 unit=ns\nabc\n"):
        with open(bad, "w") as f:
            f.write(text)
        try:
            samples.read_blocks(bad)
            check(False, "malformed samples file accepted: %r" % text)
        except ValueError:
            pass


def draw(charts, report, outdir):
    drawn, err = charts.render(report, outdir)
    check(err is None, "render error: %s" % err)
    return drawn


def chart_files(charts, fixture, tmp):
    with open(fixture) as f:
        doc = json.load(f)
    report = doc["workloads"]
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    drawn = draw(charts, report, a)
    names = [n for n, _ in drawn]
    check(names == [c + ".svg" for c in charts.CHART_NAMES],
          "every chart drawn from a full quick report: %s" % names)
    for name, alt in drawn:
        path = os.path.join(a, name)
        data = open(path, "rb").read()
        check(1000 < len(data) < 100000, "%s is %d bytes (tens of KB)" % (name, len(data)))
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            check(False, "%s is not well-formed XML: %s" % (name, e))
            continue
        check(root.tag == "{http://www.w3.org/2000/svg}svg", "%s root is <svg>" % name)
        text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
        check("roam-c" in text, "%s names roam-c" % name)
        check(("better" in text) or ("cdf" in name), "%s says which way is better" % name)
        check(doc["date"][:10] not in data.decode(), "%s carries no date" % name)
        check(b'fill="#ffffff"' in data, "%s has a white background" % name)
        check(alt, "%s has alt text" % name)
    lat = open(os.path.join(a, "latency.svg")).read()
    for impl in ("raw floor", "nng", "nghttp2"):
        check(impl in lat, "latency chart shows %s" % impl)
    cdf = open(os.path.join(a, "rtt-unix-cdf.svg")).read()
    check("log scale" in cdf and "raw floor (" in cdf and "nghttp2 (" in cdf,
          "rtt.unix CDF has a log axis and a curve per implementation")
    draw(charts, report, b)
    for name in names:
        check(open(os.path.join(a, name), "rb").read() == open(os.path.join(b, name), "rb").read(),
              "%s drawn twice is the same bytes" % name)
    # a run without the round trips: their charts go, the others stay
    rest = [e for e in report if not e["id"].startswith("rtt.")]
    left = [n for n, _ in draw(charts, rest, b)]
    check("latency.svg" not in left and "rtt-unix-cdf.svg" not in left and "calls.svg" in left,
          "only the charts with data: %s" % left)
    check(sorted(os.listdir(b)) == sorted(left), "stale charts removed: %s" % os.listdir(b))
    check(charts.render([], os.path.join(tmp, "c")) == ([], None), "empty report, no charts")
    markdown(doc, drawn)
    # a peer far beyond roam-c and the floor: its bar is cut and marked
    def res(v):
        return {"median": {"unit": "us", "runs": [v], "median": v, "min": v, "max": v}}
    far = [{"id": "rtt.unix", "results": {"roam": res(10.0), "raw": res(9.0), "nng": res(100.0)},
            "ratios": {}}]
    draw(charts, far, os.path.join(tmp, "d"))
    svg = open(os.path.join(tmp, "d", "latency.svg")).read()
    check("100 ↑" in svg and "10.0" in svg and "9.00" in svg,
          "a bar beyond 4× roam-c and the floor is cut and marked")


def markdown(doc, drawn):
    """suite.py's report links the charts relatively, above the table."""
    import suite
    links = [("%s/%s" % (suite.CHART_DIR, f), alt) for f, alt in drawn]
    md = suite.render_md(doc["workloads"], suite.workloads(True), doc["machine"], doc["git"],
                         doc["date"], doc["command"], doc["rounds"], doc["secs_per_run"],
                         doc["loadavg_start"], doc["loadavg_end"], doc["notes"], None, [],
                         1.0, True, None, links).splitlines()
    imgs = [k for k, l in enumerate(md) if l.startswith("![") and l.endswith(".svg)")]
    table = [k for k, l in enumerate(md) if l.startswith("| Workload |")]
    check(len(imgs) == len(drawn), "one image per chart in the Markdown")
    check(all("](perf/" in md[k] for k in imgs), "charts linked as perf/<name>.svg")
    check(table and imgs and max(imgs) < table[0], "charts above the table")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, help="bench/lib")
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--peer-raw")
    a = ap.parse_args()
    sys.path.insert(0, a.lib)
    import charts
    import samples
    with tempfile.TemporaryDirectory() as tmp:
        if a.peer_raw:
            samples_from_peer(samples, a.peer_raw, tmp)
        pooling(samples, tmp)
        if not shutil.which("gnuplot"):
            print("gnuplot not installed: the chart checks are skipped", file=sys.stderr)
            return 1 if failures else 77
        chart_files(charts, a.fixture, tmp)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
