#!/usr/bin/env bash
# Start a Testbed server on ADDR, then run one client program against it.
#
#   pair.sh SERVER ADDR client CLIENT
#       runs CLIENT <address the server reports>
#   pair.sh SERVER ADDR subject SUBJECT SCENARIO
#       runs the conformance subject in client mode (PEER_ADDR=host:port, or
#       the ws://host:port/path the server reports)
#
# ADDR may use port 0; "@TMP@" in it is replaced by a fresh temporary
# directory. Afterwards the server gets SIGTERM and must exit 0 (graceful
# shutdown). Exit status 0 only if both went well.
set -u
server=$1 addr=$2 kind=$3 prog=$4 scenario=${5:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/roam-tools-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
addr=${addr//@TMP@/$tmp}

"$server" "$addr" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
real=""
for _ in $(seq 200); do
  real=$(sed -n 's/^listening on //p' "$tmp/server.out")
  [[ -n "$real" ]] && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z "$real" ]]; then
  echo "pair.sh: the server did not start on $addr" >&2
  cat "$tmp/server.err" >&2
  kill -KILL "$spid" 2>/dev/null
  exit 1
fi
echo "pair.sh: server listening on $real"

case $kind in
  client)
    timeout 120 "$prog" "$real"
    crc=$?
    ;;
  subject)
    hostport=${real#tcp://}
    PEER_ADDR=$hostport SUBJECT_MODE=client CLIENT_SCENARIO=$scenario timeout 120 "$prog"
    crc=$?
    ;;
  *)
    echo "pair.sh: unknown kind $kind" >&2
    crc=2
    ;;
esac
echo "pair.sh: $kind exited with status $crc"

kill -TERM "$spid"
src=""
for _ in $(seq 200); do
  if ! kill -0 "$spid" 2>/dev/null; then
    wait "$spid"
    src=$?
    break
  fi
  sleep 0.05
done
if [[ -z "$src" ]]; then
  echo "pair.sh: the server did not exit within 10 s of SIGTERM" >&2
  kill -KILL "$spid" 2>/dev/null
  src=1
fi
echo "pair.sh: server exited with status $src"
if [[ $src -ne 0 ]]; then cat "$tmp/server.err" >&2; fi
[[ $crc -eq 0 && $src -eq 0 ]]
