#!/bin/sh
# usage: expect_id.sh TOOL EXPECTED_ID ARGS...
# Runs TOOL ARGS...; passes if it exits 0, prints exactly EXPECTED_ID and
# writes nothing to stderr.
tool=$1 want=$2
shift 2
err=$(mktemp) || exit 1
out=$("$tool" "$@" 2>"$err")
rc=$?
msg=$(cat "$err")
rm -f "$err"
if [ $rc -ne 0 ] || [ "$out" != "$want" ] || [ -n "$msg" ]; then
  echo "FAIL: $tool $*" >&2
  echo "  exit $rc, stdout '$out' (want '$want'), stderr '$msg'" >&2
  exit 1
fi
echo "ok: $* -> $out"
