#!/usr/bin/env bash
# `roam spy` between roam-testbed-client and roam-testbed-server (the known
# exchange, decoded with the schema, text and --json), and forwarding that
# survives garbage: bytes through the spy arrive unchanged, undecodable
# frames are reported, and the spy keeps serving links afterwards.
#   cli_spy.sh ROAM SERVER CLIENT TESTBED_RS PYTHON
roam=$1 server=$2 client=$3 schema=$4 python=$5
. "$(dirname "$0")/lib.sh"
start_server "$server" 127.0.0.1:0
A=$addr

# --- the Testbed client's exchange, as text ------------------------------------
start_spy "$roam" "$A" -s "$schema" --count 1
timeout 60 "$client" "$spy_addr" >"$tmp/client.out" 2>&1 || fail "testbed client through the spy"
wait_pid "$spy_pid" 20
[[ $wait_status -eq 0 ]] || fail "spy exit status $wait_status: $(cat "$tmp/spy.err")"
# drop the timestamps
cut -d' ' -f2- "$tmp/spy.out" >"$tmp/spy.txt"
want=(
  '#1 c>s Hello V2 max_payload=1048576 initial_credit=65536'
  '#1 s>c Hello V2 max_payload=1048576 initial_credit=65536'
  '#1 c>s Request conn=0 req=1 method=0x9aabc4ba61fd5df3 meta=0 channels=[] payload=12B Testbed.echo args=["hello, roam"]'
  '#1 s>c Response conn=0 req=1 meta=0 channels=[] payload=13B Testbed.echo result="hello, roam"'
  '#1 c>s Request conn=0 req=4 method=0xc3964cbee4b1d590 meta=0 channels=[] payload=2B Testbed.divide args=[1,0]'
  '#1 s>c Response conn=0 req=4 meta=0 channels=[] payload=3B Testbed.divide error=User user_error="DivisionByZero"'
  '#1 c>s Request conn=0 req=7 method=0x855b3a25d97bfefd meta=0 channels=[1] payload=1B Testbed.sum args=[{"channel":1}]'
  '#1 c>s Data conn=0 chan=1 payload=1B (numbers) value=1'
  '#1 c>s Close conn=0 chan=1'
  '#1 s>c Data conn=0 chan=7 payload=4B (output) value="one"'
  '#1 s>c Response conn=0 req=9 meta=0 channels=[] payload=1B Testbed.transform result=null'
  '#1 s>c Response conn=0 req=17 meta=0 channels=[] payload=20B Testbed.create_canvas result={"name":"sketch","shapes":[{"Circle":{"radius":1.5}},"Point"],"background":"Blue"}'
  '#1 c>s Connect req=1 meta=0'
  '#1 s>c Accept req=1 conn=1 meta=0'
  '#1 c>s Request conn=1 req=1 method=0x9aabc4ba61fd5df3 meta=0 channels=[] payload=32B Testbed.echo args=["hello over a virtual connection"]'
  '#1 c>s Goodbye conn=0 reason=""'
)
missing=0
for w in "${want[@]}"; do
  grep -qxF -- "$w" "$tmp/spy.txt" || { fail "spy output lacks: $w"; missing=1; }
done
[[ $missing -eq 0 ]] && echo "ok: spy text output of the Testbed exchange"
grep -q '^#1 --- link closed (both sides closed' "$tmp/spy.txt" && echo "ok: spy link closed" ||
  fail "no closed line"
grep -q undecodable "$tmp/spy.txt" && fail "undecodable messages in a clean exchange"

# --- --json, with a roam call through it ----------------------------------------
start_spy "$roam" "$A" -s "$schema" --json --count 1
out=$(timeout 30 "$roam" call "$spy_addr" Testbed.lookup '[2]' -s "$schema")
[[ "$out" == '{"name":"Bob","age":25,"email":null}' ]] && echo "ok: call through the spy" ||
  fail "call through the spy: $out"
wait_pid "$spy_pid" 20
"$python" - "$tmp/spy.out" <<'PY' && echo "ok: spy --json" || fail "spy --json output"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
kinds = [(l.get("dir"), l["kind"]) for l in lines]
assert ("c>s", "Hello") in kinds and ("s>c", "Hello") in kinds, kinds
req = [l for l in lines if l["kind"] == "Request"][0]
assert req["method"] == "Testbed.lookup" and req["args"] == [2], req
assert req["method_id"] == "0xe71a0faedd014e59", req
resp = [l for l in lines if l["kind"] == "Response"][0]
assert resp["result"] == {"name": "Bob", "age": 25, "email": None}, resp
assert all(isinstance(l["ts"], float) for l in lines)
PY

# --- garbage: byte-exact forwarding to a non-roam echo server -------------------
"$python" - "$tmp/echo.port" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def serve(c):
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
    c.close()
for _ in range(2):
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,)).start()
PY
echo_pid=$!
pids+=("$echo_pid")
for _ in $(seq 100); do [[ -s "$tmp/echo.port" ]] && break; sleep 0.05; done
start_spy "$roam" "127.0.0.1:$(cat "$tmp/echo.port")" --count 1
"$python" - "${spy_addr#tcp://}" <<'PY' && echo "ok: garbage forwarded byte for byte" || fail "garbage forwarding"
import os, random, socket, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
random.seed(7)
# random bytes with many zeros (frame ends), a frame too long to buffer whole,
# and a valid Hello in the middle
data = bytes(random.choice([0, 1, 2, 255, random.randrange(256)]) for _ in range(200000))
data += b"\x01\x08\x01\x80\x80\x40\x80\x80\x04\x00" + os.urandom(300000) + b"\x00"
s = socket.create_connection((host, int(port)))
got = bytearray()
def reader():
    while True:
        b = s.recv(65536)
        if not b: break
        got.extend(b)
t = threading.Thread(target=reader); t.start()
s.sendall(data); s.shutdown(socket.SHUT_WR); t.join(30)
assert bytes(got) == data, (len(got), len(data))
PY
wait_pid "$spy_pid" 20
grep -q 'undecodable' "$tmp/spy.out" && echo "ok: garbage reported as undecodable" ||
  fail "no undecodable line for garbage"

# --- garbage to the roam server, then a good link through the same spy ---------
start_spy "$roam" "$A" -s "$schema" --count 2
"$python" - "${spy_addr#tcp://}" <<'PY' && echo "ok: server's Goodbye forwarded" || fail "garbage to the server"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.settimeout(10)
# a valid Hello V2, then a frame that is not a roam message
s.sendall(b"\x01\x08\x01\x80\x80\x40\x80\x80\x04\x00" + b"\x03\xff\xff\x00")
got = b""
while True:
    b = s.recv(65536)
    if not b: break
    got += b
assert b"message.decode-error" in got or b"message.unknown-variant" in got, got
PY
out=$(timeout 30 "$roam" call "$spy_addr" Testbed.echo '["still here"]' -s "$schema")
[[ "$out" == '"still here"' ]] && echo "ok: the spy serves a link after garbage" ||
  fail "call after garbage: $out"
wait_pid "$spy_pid" 20
[[ $wait_status -eq 0 ]] || fail "spy exit status $wait_status"
grep -q "#1 c>s Hello V2" "$tmp/spy.out" && grep -q "#1 c>s undecodable message" "$tmp/spy.out" && grep -q '#1 s>c Goodbye conn=0 reason="message' "$tmp/spy.out" &&
  echo "ok: spy printed the garbage and the Goodbye" || { fail "spy output for garbage"; cat "$tmp/spy.out" >&2; }
stop_server
finish
