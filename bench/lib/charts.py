#!/usr/bin/python3
"""SVG charts of a bench/run report, drawn with gnuplot.

bench/lib/suite.py calls render() after a run; as a command,

    bench/lib/charts.py REPORT.json OUTDIR

draws the charts again from `bench/run --json` output. Every chart is a
function of the report alone (no dates or paths inside the SVG), so the
same figures give the same bytes.

Bar charts: one panel per workload, each with its own y scale (so a row
with a peer twenty times slower still shows roam-c against the floor),
bars at the median over the rounds with min-max error bars, one colour per
implementation; a peer's bar far above roam-c and the floor is cut and
marked. CDF charts: the pooled round-trip samples of every round
(bench/lib/samples.py), one curve per implementation. Python 3 standard
library only.
"""
import json
import math
import os
import shutil
import subprocess
import sys

IMPLS = ["roam", "raw", "nng", "nghttp2", "tcp"]
TITLE = {"roam": "roam-c", "raw": "raw floor", "nng": "nng", "nghttp2": "nghttp2",
         "tcp": "roam-c over tcp:// (same server)"}
# Okabe-Ito colours: distinguishable with every common colour blindness
COLOUR = {"roam": "#0072B2", "raw": "#7F7F7F", "nng": "#E69F00", "nghttp2": "#009E73",
          "tcp": "#CC79A7"}
# A bar taller than CAP_FACTOR times the highest of these is cut (panel_cap)
CAP_REF, CAP_FACTOR = ("roam", "raw", "tcp"), 4.0
# Which comparison a panel's ratio line names first: the floor, else a peer.
RATIO_PREF = ["raw", "tcp", "nghttp2", "nng"]
FONT = "sans-serif"  # a generic family: every browser has one

# name, title, y label, "higher"/"lower", panels [(workload, [(metric, label)])]
BAR_CHARTS = [
    ("latency", "Sequential round trip, 32 B: median and p99", "µs per call", "lower",
     [("rtt.unix", [("median", "median"), ("p99", "p99")]),
      ("rtt.tcp", [("median", "median"), ("p99", "p99")]),
      ("rtt.ws", [("median", "median"), ("p99", "p99")])]),
    ("calls", "Unary calls per second, 32 B", "calls/s", "higher",
     [("pipelined64.unix", [("rate", "")]), ("pipelined64.tcp", [("rate", "")]),
      ("pipelined64.ws", [("rate", "")]), ("active1000.tcp", [("rate", "")])]),
    ("session", "In-memory session cycles (no sockets), 32 B", "cycles/s", "higher",
     [("session1", [("rate", "")]), ("session64", [("rate", "")])]),
    ("streams", "Channel streams, Unix socket", "GB/s", "higher",
     [("stream64k.unix", [("throughput", "")]), ("stream64k-w1m.unix", [("throughput", "")]),
      ("stream64k-w64k.unix", [("throughput", "")]),
      ("stream8k-w16k.unix", [("throughput", "")])]),
    ("memory", "Memory per idle link, TCP: RSS growth per link", "bytes per link", "lower",
     [("idle1000.tcp", [("server_mem", "server"), ("client_mem", "client")]),
      ("idle10000.tcp", [("server_mem", "server"), ("client_mem", "client")])]),
]
# Panels whose roam-c bar is not over the transport the id suggests
PANEL_TITLE = {"rtt.ws": "rtt.ws: ws:// vs tcp://",
               "pipelined64.ws": "pipelined64.ws: ws:// vs tcp://"}
# name, workload, transport title
CDF_CHARTS = [("rtt-unix-cdf", "rtt.unix", "Unix socket"),
              ("rtt-tcp-cdf", "rtt.tcp", "TCP loopback")]
CHART_NAMES = [c[0] for c in BAR_CHARTS] + [c[0] for c in CDF_CHARTS]


def gp_str(s):
    """A gnuplot double-quoted string (\\n stays a line break)."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


RATE_UNITS = ("calls/s", "cycles/s")


def chart_scale(vmax, unit):
    """(divisor, axis label) of a chart's numbers: memory in KiB once it
    reaches 2 KiB. Rates keep their unit and get k/M per number (label)."""
    if unit == "bytes per link" and vmax >= 2048:
        return 1024.0, "KiB per link"
    return 1.0, unit


def fmt(v, suffix=""):
    """A bar's value, three significant digits or so."""
    if v == 0:
        return "0"
    if v < 0.01:
        return "<0.01" + suffix
    if v >= 100:
        return "%.0f%s" % (v, suffix)
    if v >= 10:
        return "%.1f%s" % (v, suffix)
    return "%.2f%s" % (v, suffix)


def label(v, unit, tick=False):
    """The text of a bar label (tick=False) or an axis tick: rates as 53k,
    2.05M; everything else as it is (already in the chart's scale)."""
    f = (lambda x, suf="": "%g%s" % (x, suf)) if tick else fmt
    if v == 0:
        return "0"
    if unit in RATE_UNITS and v >= 1e6:
        return f(v / 1e6, "M")
    if unit in RATE_UNITS and v >= 1e3:
        return f(v / 1e3, "k")
    return f(v)


def lin_tics(top):
    """0 and about five round steps (1, 2, 2.5, 5 times a power of ten) up to top."""
    raw = top / 5.0
    mag = 10.0 ** math.floor(math.log10(raw))
    step = min(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    return [i * step for i in range(int(top / step + 1e-9) + 1)]


def ratio_line(entry, metric):
    r = entry.get("ratios", {}).get(metric, {})
    for peer in RATIO_PREF:
        if peer in r and r[peer].get("ratio") is not None:
            name = {"raw": "floor", "tcp": "tcp://"}.get(peer, peer)
            return "%.2f× %s" % (r[peer]["ratio"], name)
    return ""


def legend_row(impls, y):
    """gnuplot commands drawing a legend (a swatch and a name per
    implementation) in one row centred at screen height y."""
    char_w, swatch, pad = 6.3 / 800, 14 / 800, 22 / 800  # 11 pt text on 800 px
    widths = [swatch + 5 / 800 + len(TITLE[i]) * char_w for i in impls]
    x = 0.5 - (sum(widths) + pad * (len(impls) - 1)) / 2
    out = []
    for n, (i, w) in enumerate(zip(impls, widths), 1):
        out.append("set object %d rect from screen %.4f,%.4f to screen %.4f,%.4f "
                   "fc rgb %s fs solid 1.0 noborder" % (n, x, y - 0.015, x + swatch, y + 0.015,
                                                        gp_str(COLOUR[i])))
        out.append("set label %d %s at screen %.4f,%.4f left font %s"
                   % (n, gp_str(TITLE[i]), x + swatch + 5 / 800, y - 0.001,
                      gp_str(FONT + ",11")))
        x += w + pad
    return out


def panel_cap(e, ms):
    """The height beyond which a panel's bars are cut: CAP_FACTOR times the
    tallest error bar of roam-c and the floor (what the panel compares), so
    that a peer ten times slower does not flatten them."""
    ref = max([e["results"][i][m]["max"] for m, _ in ms for i in CAP_REF
               if e["results"].get(i, {}).get(m)] or [0.0])
    return ref * CAP_FACTOR if ref > 0 else float("inf")


def bar_chart(title, ylabel, better, panels, entries):
    """The gnuplot script of one bar chart, or None when no panel has data."""
    have = []
    for wid, metrics in panels:
        e = entries.get(wid)
        if not e:
            continue
        ms = [(m, lab) for m, lab in metrics
              if any(e["results"].get(i, {}).get(m) for i in IMPLS)]
        if ms:
            have.append((e, ms))
    if not have:
        return None
    used = [i for i in IMPLS if any(e["results"].get(i, {}).get(m)
                                    for e, ms in have for m, _ in ms)]
    n = len(have)
    vmax = max(e["results"][i][m]["max"] for e, ms in have for m, _ in ms
               for i in IMPLS if e["results"].get(i, {}).get(m))
    div, axis_label = chart_scale(vmax, ylabel)
    left, right, bottom, top, gap = 0.095, 0.99, 0.25, 0.83, 0.045
    pw = (right - left - gap * (n - 1)) / n
    L = ["set terminal svg size 800,400 dynamic noenhanced font %s background rgb \"white\""
         % gp_str(FONT + ",12"),
         "set encoding utf8",
         "set multiplot title %s font %s"
         % (gp_str("%s (%s is better)" % (title, better)), gp_str(FONT + ",14")),
         "set tmargin at screen %g" % top,
         "set bmargin at screen %g" % bottom,
         "unset key",
         "set style fill solid 1.0 noborder",
         "set border 3 lc rgb \"#555555\"",
         "set grid ytics lc rgb \"#e0e0e0\" lt 1",
         "set tics nomirror out scale 0.5",
         "set ytics font %s" % gp_str(FONT + ",10"),
         "set format y \"%g\"",
         "set xtics scale 0 font %s" % gp_str(FONT + ",10")]
    for k, (e, ms) in enumerate(have):
        L.append("set lmargin at screen %.4f" % (left + k * (pw + gap)))
        L.append("set rmargin at screen %.4f" % (left + k * (pw + gap) + pw))
        L.append("set title %s font %s" % (gp_str(PANEL_TITLE.get(e["id"], e["id"])),
                                           gp_str(FONT + ",12")))
        L.append("set ylabel %s" % (gp_str(axis_label) if k == 0 else '""'))
        # clusters at x = 0, 1, ...; bars of the implementations measured
        # for that metric side by side inside a cluster
        blocks = {i: [] for i in used}
        top_val = 0.0
        tics = []
        cap = panel_cap(e, ms) / div
        for c, (m, lab) in enumerate(ms):
            present = [i for i in used if e["results"].get(i, {}).get(m)]
            w = min(0.8 / max(len(present), 1), 0.3)  # no slabs when there are few
            for j, i in enumerate(present):
                s = e["results"][i][m]
                x = c + w * (j + 0.5 - len(present) / 2.0)
                med, lo, hi = s["median"] / div, s["min"] / div, s["max"] / div
                text = label(med, ylabel)
                if med > cap:  # cut at the cap, marked, no error bar
                    med, lo, hi, text = cap, float("nan"), float("nan"), text + " ↑"
                top = min(hi, cap) if hi == hi else cap
                # x, bar, error bar low and high, bar width, label, label height
                blocks[i].append("%.4f %.6g %.6g %.6g %.4f %s %.6g" % (
                    x, med, lo, hi, w * 0.92, gp_str(text), top))
                top_val = max(top_val, top)
            tics.append("%s %d" % (gp_str("\n".join(t for t in (lab, ratio_line(e, m)) if t)),
                                   c))
        L.append("set xtics (%s)" % ", ".join(tics))
        L.append("set xrange [-0.5:%g]" % (len(ms) - 0.5))
        ytop = (top_val or 1.0) * 1.3
        L.append("set yrange [0:%.6g]" % ytop)
        L.append("set ytics (%s)" % ", ".join(
            "%s %.6g" % (gp_str(label(round(t, 9), ylabel, tick=True)), t)
            for t in lin_tics(ytop)))
        plots = []
        for i in used:
            if not blocks[i]:
                continue
            dname = "$%s%d" % (i, k)
            L.append("%s << EOD" % dname)
            L.extend(blocks[i])
            L.append("EOD")
            col = gp_str(COLOUR[i])
            plots.append("%s using 1:2:5 with boxes lc rgb %s notitle" % (dname, col))
            # error bars as plain lines (gnuplot's yerrorbars adds point
            # markers that browsers draw): the bar, then its two caps
            bar = "with vectors nohead lc rgb \"#333333\" notitle"
            plots.append("%s using 1:3:(0):($4-$3) %s" % (dname, bar))
            for end in (3, 4):
                plots.append("%s using ($1-$5/6):%d:($5/3):(0) %s" % (dname, end, bar))
            plots.append("%s using 1:7:6 with labels center offset 0,0.55 font %s notitle"
                         % (dname, gp_str(FONT + ",8")))
        L.append("plot " + ", \\\n     ".join(plots))
    # one legend for the whole figure, in one row under the panels (drawn
    # by hand: gnuplot's key wraps to the width of a single panel)
    L += ["unset title", "unset ylabel", "unset xtics", "unset ytics", "unset grid",
          "unset border", "set xrange [0:1]", "set yrange [0:1]"]
    L += legend_row(used, 0.05)
    L.append("plot NaN notitle")
    L.append("unset multiplot")
    return "\n".join(L) + "\n"


def log_tics(lo, hi):
    """1-2-5 tics (1, 2, 3, 5 where there is room) between lo and hi."""
    steps = (1, 2, 3, 5) if hi / lo < 30 else (1, 2, 5)
    out, decade = [], 10.0 ** math.floor(math.log10(lo))
    while decade <= hi:
        out.extend(decade * m for m in steps if lo <= decade * m <= hi)
        decade *= 10
    return out


def cdf_chart(wid, tname, entry):
    cdf = (entry or {}).get("latency_cdf") or {}
    used = [i for i in IMPLS if cdf.get(i, {}).get("points")]
    if not used:
        return None
    L = ["set terminal svg size 800,400 dynamic noenhanced font %s background rgb \"white\""
         % gp_str(FONT + ",12"),
         "set encoding utf8",
         "set title %s font %s" % (gp_str(
             "%s: round-trip latency distribution, 32 B, %s (further left is better)"
             % (wid, tname)), gp_str(FONT + ",14")),
         "set xlabel %s" % gp_str("round trip, µs (log scale)"),
         "set ylabel %s" % gp_str("calls at most that slow, %"),
         "set logscale x",
         "set border 3 lc rgb \"#555555\"",
         "set grid xtics mxtics ytics lc rgb \"#e0e0e0\" lt 1",
         "set tics nomirror out scale 0.5",
         "set ytics (0, 10, 25, 50, 75, 90, 99)",
         "set yrange [0:100]",
         "set key below font %s" % gp_str(FONT + ",11")]
    lo = min(cdf[i]["points"][0][1] for i in used) * 0.9
    hi = max(cdf[i]["points"][-1][1] for i in used) * 1.1
    L.append("set xrange [%.6g:%.6g]" % (lo, hi))
    L.append("set xtics (%s)" % ", ".join('"%g" %g' % (t, t) for t in log_tics(lo, hi)))
    plots = []
    for i in used:
        c = cdf[i]
        dname = "$%s" % i
        L.append("%s << EOD" % dname)
        L.extend("%.6g %.6g" % (us, p * 100.0) for p, us in c["points"])
        L.append("EOD")
        key = "%s (%s calls, %d runs)" % (TITLE[i], format(c["n"], ","), c["runs"])
        plots.append("%s using 1:2 with lines lw 2 lc rgb %s title %s"
                     % (dname, gp_str(COLOUR[i]), gp_str(key)))
    L.append("plot " + ", \\\n     ".join(plots))
    return "\n".join(L) + "\n"


def scripts(report):
    """[(chart name, alt text, gnuplot script)] for every chart the report
    has data for, in CHART_NAMES order."""
    entries = {e["id"]: e for e in report}
    out = []
    for name, title, ylabel, better, panels in BAR_CHARTS:
        s = bar_chart(title, ylabel, better, panels, entries)
        if s:
            out.append((name, "%s (%s is better)" % (title, better), s))
    for name, wid, tname in CDF_CHARTS:
        s = cdf_chart(wid, tname, entries.get(wid))
        if s:
            out.append((name, "%s: round-trip latency distribution (CDF)" % wid, s))
    return out


def gnuplot_path():
    return shutil.which("gnuplot")


def render(report, outdir, gnuplot=None):
    """Draw every chart the report has data for into outdir/<name>.svg and
    remove this module's charts left there by an earlier run that has no
    data now. Returns ([(file name, alt text)], error or None); without
    gnuplot nothing is drawn."""
    gnuplot = gnuplot or gnuplot_path()
    if not gnuplot:
        return [], "gnuplot is not installed: the charts were skipped"
    os.makedirs(outdir, exist_ok=True)
    drawn = []
    for name, alt, script in scripts(report):
        path = os.path.join(outdir, name + ".svg")
        tmp = path + ".tmp"
        try:
            term, rest = script.split("\n", 1)
            p = subprocess.run([gnuplot], input="%s\nset output %s\n%s" % (
                term, gp_str(tmp), rest), capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return drawn, "gnuplot failed on %s: %s" % (name, e)
        if p.returncode != 0 or not os.path.isfile(tmp):
            err = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            if os.path.exists(tmp):
                os.remove(tmp)
            return drawn, "gnuplot failed on %s: %s" % (name, err[:200])
        os.replace(tmp, path)
        drawn.append((name + ".svg", alt))
    names = {d[0] for d in drawn}
    for name in CHART_NAMES:
        stale = os.path.join(outdir, name + ".svg")
        if name + ".svg" not in names and os.path.isfile(stale):
            os.remove(stale)
    return drawn, None


def main(argv):
    if len(argv) != 3:
        print("usage: charts.py REPORT.json OUTDIR", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    drawn, err = render(doc.get("workloads", []), argv[2])
    for name, _alt in drawn:
        print(os.path.join(argv[2], name))
    if err:
        print("charts.py: " + err, file=sys.stderr)
        return 1
    if not drawn:
        print("charts.py: no chart has data in %s" % argv[1], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
