#!/bin/sh
# roam-gen's command line: --list prints the sixteen published Testbed ids in
# declaration order on stdout; errors give file:line:column on stderr and a
# non-zero status; usage errors exit 2.
set -u
gen=$1
testbed=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$gen" --list "$testbed" >"$tmp/out" 2>"$tmp/err" || fail "--list exit status $?"
[ -s "$tmp/err" ] && fail "--list wrote to stderr: $(cat "$tmp/err")"
cat >"$tmp/want" <<'WANT'
Testbed.echo 0x9aabc4ba61fd5df3
Testbed.reverse 0xcba154600f640175
Testbed.divide 0xc3964cbee4b1d590
Testbed.lookup 0xe71a0faedd014e59
Testbed.sum 0x855b3a25d97bfefd
Testbed.generate 0x54d2273d8cdb9c38
Testbed.transform 0x5d9895604eb18b19
Testbed.echo_point 0x453fa9bf6932528c
Testbed.create_person 0x3dd231f57b1bca21
Testbed.rectangle_area 0xba75c48683f1d9e6
Testbed.parse_color 0xe285f31c6dfffbfc
Testbed.shape_area 0x6e706354167c00c2
Testbed.create_canvas 0xa914982e7d3c7b55
Testbed.process_message 0xed1dc0c625889d30
Testbed.get_points 0x5c8707f5ae4ccbcc
Testbed.swap_pair 0xacd19a29fe0d470c
WANT
cmp -s "$tmp/out" "$tmp/want" || { diff "$tmp/want" "$tmp/out" >&2; fail "--list output"; }

# two files: both listed, in order
cat >"$tmp/two.rs" <<'EOF2'
#[roam::service]
trait Second { fn ping(&self); }
EOF2
"$gen" --list "$testbed" "$tmp/two.rs" >"$tmp/out" 2>"$tmp/err" || fail "two files"
[ "$(wc -l <"$tmp/out")" -eq 17 ] || fail "two files: $(wc -l <"$tmp/out") lines"
tail -n 1 "$tmp/out" | grep -Eq '^Second\.ping 0x[0-9a-f]{16}$' || fail "second file line"

# an error: file:line:column: message on stderr, status 1, nothing on stdout
printf 'struct A {\n    x: Strin,\n}\n' >"$tmp/bad.rs"
"$gen" --list "$tmp/bad.rs" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "bad definition: status"
[ -s "$tmp/out" ] && fail "bad definition: stdout not empty"
grep -qx "$tmp/bad.rs:2:8: unknown type \`Strin\`" "$tmp/err" || fail "bad: $(cat "$tmp/err")"

# a missing file
"$gen" --list "$tmp/none.rs" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] || fail "missing file: status"
grep -q "none.rs: No such file" "$tmp/err" || fail "missing file: $(cat "$tmp/err")"

# usage errors
"$gen" >/dev/null 2>&1
[ $? -eq 2 ] || fail "no arguments: status"
"$gen" --bogus x >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown option: status"
echo "roam-gen cli: ok"
