#!/usr/bin/env bash
# `roam bench` against roam-testbed-server: -n N over two links through a
# `roam spy --json`, whose record of what reached the server must show
# exactly N Requests and N Responses, equal to the calls the JSON report
# counts; a short -d run's JSON checked for sanity; errors counted and
# reported with exit status 2.
#   cli_bench.sh ROAM SERVER TESTBED_RS PYTHON
roam=$1 server=$2 schema=$3 python=$4
. "$(dirname "$0")/lib.sh"
start_server "$server" 127.0.0.1:0
A=$addr
N=600

start_spy "$roam" "$A" --json --count 2
timeout 60 "$roam" bench "$spy_addr" Testbed.echo '["bench"]' -s "$schema" -n $N -c 2 -p 8 \
  --json "$tmp/bench.json" >"$tmp/bench.out" 2>"$tmp/bench.err" ||
  fail "bench -n exit status $?: $(cat "$tmp/bench.err")"
wait_pid "$spy_pid" 20
"$python" - "$tmp/bench.json" "$tmp/spy.out" $N <<'PY' && echo "ok: bench -n counts what the server saw" || fail "bench -n"
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[3])
spy = [json.loads(l) for l in open(sys.argv[2])]
reqs = sum(1 for m in spy if m["kind"] == "Request" and m["dir"] == "c>s")
resps = sum(1 for m in spy if m["kind"] == "Response" and m["dir"] == "s>c")
assert r["calls"] == n and r["ok"] == n and r["errors"] == 0, r
assert reqs == n and resps == n, (reqs, resps)
assert r["links"] == 2 and r["inflight_per_link"] == 8 and r["method"] == "Testbed.echo", r
assert r["method_id"] == "0x9aabc4ba61fd5df3" and r["payload_bytes"] == 6, r
l = r["latency_us"]
assert 0 < l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["p99_9"] <= l["max"], l
assert l["min"] <= l["mean"] <= l["max"], l
assert r["seconds"] > 0 and abs(r["calls_per_s"] - n / r["seconds"]) < 1 + 0.01 * r["calls_per_s"], r
PY
grep -q "calls     $N in" "$tmp/bench.out" && grep -q "p99.9" "$tmp/bench.out" &&
  echo "ok: bench text report" || fail "bench text report: $(cat "$tmp/bench.out")"

timeout 60 "$roam" bench "$A" Testbed.get_points '[4]' -s "$schema" -d 0.3 -p 4 --json - \
  >"$tmp/d.out" 2>"$tmp/d.err" || fail "bench -d exit status $?: $(cat "$tmp/d.err")"
tail -1 "$tmp/d.out" | "$python" -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["calls"] > 0 and r["calls"] == r["ok"] and r["errors"] == 0, r
assert 0.25 < r["seconds"] < 5, r
l = r["latency_us"]
assert 0 < l["p50"] <= l["p99"] <= l["max"], l
' && echo "ok: bench -d" || fail "bench -d JSON: $(cat "$tmp/d.out")"

expect bench-user-errors 2 '*' '50 calls failed' -- "$roam" bench "$A" Testbed.divide '[1,0]' -s "$schema" -n 50
expect bench-channels 1 '' 'channel arguments' -- "$roam" bench "$A" Testbed.sum '[[1]]' -s "$schema" -n 5
expect bench-unreachable 2 '' 'cannot connect' -- "$roam" bench 127.0.0.1:1 Testbed.echo '["x"]' -s "$schema" -n 5
expect bench-usage 1 '' '-c wants' -- "$roam" bench "$A" Testbed.echo '["x"]' -s "$schema" -c 0
stop_server
finish
