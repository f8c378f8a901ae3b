#!/usr/bin/env bash
# ROAM_WIRE_SPY and ROAM_DEBUG in programs built on the runtime, with real
# processes: the Testbed server (its own log callback), the Testbed client
# and the demo (no log callback: the runtime's stderr sink). Without the
# variables the library prints nothing.
#
#   debug_env.sh SERVER CLIENT DEMO
set -u
server=$1 client=$2 demo=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roam-debug-env.XXXXXX")
spid=""
cleanup() {
  [[ -n "$spid" ]] && kill -KILL "$spid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# has FILE REGEX WHAT / lacks FILE REGEX WHAT
has() { grep -Eq -- "$2" "$1" || { fail "$3: no line matching '$2' in $1:"; head -n 20 "$1" >&2; }; }
lacks() { ! grep -Eq -- "$2" "$1" || { fail "$3: unexpected line matching '$2':"; grep -E -m 5 -- "$2" "$1" >&2; }; }

ROAM_WIRE_SPY=1 "$server" 127.0.0.1:0 >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
addr=""
for _ in $(seq 200); do
  addr=$(sed -n 's/^listening on //p' "$tmp/server.out")
  [[ -n "$addr" ]] && break
  sleep 0.05
done
[[ -n "$addr" ]] || { echo "the server did not start" >&2; cat "$tmp/server.err" >&2; exit 1; }

# run NAME ENV... : the client against the server, stdout and stderr kept
run() {
  local name=$1
  shift
  env "$@" "$client" "$addr" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
    fail "$name: the client failed (status $?)"
  has "$tmp/$name.out" "results as expected" "$name: stdout"
}

run plain -u ROAM_WIRE_SPY -u ROAM_DEBUG
lacks "$tmp/plain.err" "." "no variable: the library is silent"

run spy ROAM_WIRE_SPY=1
has "$tmp/spy.err" "^roam \[tcp://[^]]+\] info: send Hello V2" "ROAM_WIRE_SPY: client"
has "$tmp/spy.err" "info: send Request conn=0 req=1 method=0x9aabc4ba61fd5df3" "ROAM_WIRE_SPY: client"
has "$tmp/spy.err" "info: recv Response conn=0 req=1 " "ROAM_WIRE_SPY: client"
has "$tmp/spy.err" "info: recv Data conn=0 chan=" "ROAM_WIRE_SPY: client"
lacks "$tmp/spy.err" "debug:" "ROAM_WIRE_SPY alone"

run spy0 ROAM_WIRE_SPY=0
lacks "$tmp/spy0.err" "." "ROAM_WIRE_SPY=0"

run debug ROAM_DEBUG=1
has "$tmp/debug.err" "^roam debug: link tcp://[^ ]+: Hello exchanged" "ROAM_DEBUG: client"
has "$tmp/debug.err" "^roam debug: link tcp://[^ ]+ closed" "ROAM_DEBUG: client"
lacks "$tmp/debug.err" "send Request" "ROAM_DEBUG alone (no wire spy)"

# The server, spying, saw every call of the runs above.
has "$tmp/server.err" "^roam-testbed-server: recv Request conn=0 req=1 " "ROAM_WIRE_SPY: server"
has "$tmp/server.err" "^roam-testbed-server: send Response conn=0 req=1 " "ROAM_WIRE_SPY: server"
has "$tmp/server.err" "^roam-testbed-server: send Data conn=0 chan=" "ROAM_WIRE_SPY: server"

kill -TERM "$spid"
wait "$spid"
src=$?
spid=""
[[ $src -eq 0 ]] || fail "the server exited with status $src"

ROAM_WIRE_SPY=1 "$demo" >"$tmp/demo.out" 2>"$tmp/demo.err" || fail "demo failed (status $?)"
has "$tmp/demo.err" "^roam \[demo-client\] info: send Request" "ROAM_WIRE_SPY: demo"
has "$tmp/demo.err" "^roam \[demo-server\] info: recv Request" "ROAM_WIRE_SPY: demo"

if [[ $failures -ne 0 ]]; then
  echo "debug_env.sh: $failures failure(s)" >&2
  exit 1
fi
echo "debug_env.sh: ok"
