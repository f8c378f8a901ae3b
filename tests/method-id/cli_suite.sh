#!/bin/sh
# usage: cli_suite.sh TOOL
# More roam-method-id cases: all Testbed methods written out in the text
# grammar, options, and error handling.
tool=$1
fails=0

# ok ID ARGS...: exit 0 and stdout exactly ID.
ok() {
  want=$1
  shift
  out=$("$tool" "$@" 2>/dev/null)
  rc=$?
  if [ $rc -ne 0 ] || [ "$out" != "$want" ]; then
    echo "FAIL: $*: exit $rc, got '$out', want '$want'" >&2
    fails=$((fails + 1))
  fi
}

# bad STATUS PATTERN ARGS...: exit STATUS, nothing on stdout, stderr matches.
bad() {
  want_rc=$1 pat=$2
  shift 2
  errf=$(mktemp)
  out=$("$tool" "$@" 2>"$errf")
  rc=$?
  err=$(cat "$errf")
  rm -f "$errf"
  if [ $rc -ne "$want_rc" ] || [ -n "$out" ] || ! printf '%s' "$err" | grep -q -- "$pat"; then
    echo "FAIL: $*: exit $rc (want $want_rc), stdout '$out', stderr '$err' (want /$pat/)" >&2
    fails=$((fails + 1))
  fi
}

POINT='struct Point { x: i32, y: i32 }'
PERSON='struct Person { name: String, age: u8, email: Option<String> }'
SHAPE='enum Shape { Circle { radius: f64 } = 0, Rectangle { width: f64, height: f64 } = 1, Point = 2 }'
COLOR='enum Color { Red = 0, Green = 1, Blue = 2 }'

ok 0x9aabc4ba61fd5df3 Testbed echo 'message: String -> String'
ok 0xcba154600f640175 Testbed reverse 'String -> String'
ok 0xc3964cbee4b1d590 Testbed divide 'enum MathError { DivisionByZero, Overflow }; i64, i64 -> Result<i64, MathError>'
ok 0xe71a0faedd014e59 Testbed lookup "$PERSON; enum LookupError { NotFound, AccessDenied }; id: u32 -> Result<Person, LookupError>"
ok 0xe71a0faedd014e59 Testbed lookup 'id: u32 -> Result<Person, LookupError>'
ok 0x855b3a25d97bfefd Testbed sum 'numbers: Rx<i32> -> i64'
ok 0x54d2273d8cdb9c38 Testbed generate 'count: u32, output: Tx<i32> -> ()'
ok 0x5d9895604eb18b19 Testbed transform 'input: Rx<String>, output: Tx<String>'
ok 0x453fa9bf6932528c Testbed echo_point "$POINT; point: Point -> Point"
ok 0x453fa9bf6932528c Testbed echo_point "point: $POINT -> Point"
ok 0x3dd231f57b1bca21 Testbed create_person "name: String, age: u8, email: Option<String> -> $PERSON"
ok 0xba75c48683f1d9e6 Testbed rectangle_area "$POINT; rect: struct Rectangle { top_left: Point, bottom_right: Point, label: Option<String> } -> f64"
ok 0x04ef653fdf0653c4 --literal Testbed rectangle_area "$POINT; rect: struct Rectangle { top_left: Point, bottom_right: Point, label: Option<String> } -> f64"
ok 0xe285f31c6dfffbfc Testbed parse_color "name: String -> Option<$COLOR>"
ok 0x6e706354167c00c2 Testbed shape_area "shape: $SHAPE -> f64"
ok 0xa914982e7d3c7b55 Testbed create_canvas "$SHAPE; $COLOR; name: String, shapes: Vec<Shape>, background: Color -> struct Canvas { name: String, shapes: Vec<Shape>, background: Color }"
ok 0xed1dc0c625889d30 Testbed process_message 'msg: enum Message { Text(String), Number(i64), Data(Vec<u8>) } -> Message'
ok 0xed1dc0c625889d30 Testbed process_message 'enum Message { Text(String), Number(i64), Data(bytes) }; Message -> Message'
ok 0x5c8707f5ae4ccbcc Testbed get_points "count: u32 -> Vec<$POINT>"
ok 0xacd19a29fe0d470c Testbed swap_pair 'pair: (i32, String) -> (String, i32)'
# Name forms are kebab-cased first.
ok 0x453fa9bf6932528c testbed echoPoint "$POINT; Point -> Point"
# Aliases and transparent wrappers.
ok 0x9aabc4ba61fd5df3 Testbed echo '&str -> std::string::String'
ok 0x9aabc4ba61fd5df3 Testbed echo 'Box<String> -> Arc<(String)>'

out=$("$tool" --testbed)
if [ $? -ne 0 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 16 ] ||
   ! printf '%s\n' "$out" | grep -q '^swap_pair  *0xacd19a29fe0d470c$'; then
  echo "FAIL: --testbed: $out" >&2
  fails=$((fails + 1))
fi
if ! "$tool" --help | grep -q 'SIGNATURE grammar'; then
  echo "FAIL: --help" >&2
  fails=$((fails + 1))
fi
if ! "$tool" -v Testbed echo 'String -> String' | grep -q '^signature: 25010f0f$'; then
  echo "FAIL: --verbose signature bytes" >&2
  fails=$((fails + 1))
fi

bad 2 'parse error at column 6: unknown type .MathError.' S m 'i64, MathError'
bad 2 'parse error at column 8: Vec takes one type parameter' S m 'Vec<u32, u8>'
bad 2 'expected a type, found end of input' S m 'i32 ->'
bad 2 "expected ',' or '->'" S m 'i32 i64'
bad 2 'expected end of input' S m '-> i32 i32'
bad 2 'is already defined' S m 'struct A; struct A'
bad 2 'duplicate field' S m 'struct A { x: u8, x: u8 }'
bad 2 'duplicate variant' S m 'enum E { A, A }'
bad 2 'number too large' S m '[u8; 99999999999999999999999]'
bad 2 "expected '>'" S m 'Option<u8'
bad 2 'nested too deeply' S m "$(i=0; while [ $i -lt 150 ]; do printf 'Vec<'; i=$((i+1)); done)u8"
bad 2 'expected SERVICE METHOD SIGNATURE' S m
bad 2 'unknown option' --bogus S m 'u8'
bad 1 'invalid UTF-8\|not valid UTF-8' "$(printf 'S\377')" m 'u8'

if [ $fails -ne 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "all roam-method-id cases passed"
