#!/usr/bin/env bash
# `roam call`, `roam list`, `roam method-id` and `roam help` against a real
# roam-testbed-server: every Testbed method with its JSON output, user
# errors, streams both ways from arguments and from standard input, a
# virtual connection, --raw, and each error class with its exit status.
#   cli_call.sh ROAM SERVER TESTBED_RS PYTHON
roam=$1 server=$2 schema=$3 python=${4:-python3}
. "$(dirname "$0")/lib.sh"
start_server "$server" 127.0.0.1:0
A=$addr


# --- every Testbed method ----------------------------------------------------
expect echo 0 '"hi \"there\""' '' -- "$roam" call "$A" -s "$schema" Testbed.echo '["hi \"there\""]'
expect echo-object 0 '"by name"' '' -- "$roam" call "$A" -s "$schema" Testbed.echo '{"message":"by name"}'
expect reverse 0 '"🦀 olléh"' '' -- "$roam" call "$A" -s "$schema" Testbed.reverse '["héllo 🦀"]'
expect divide 0 '-3' '' -- "$roam" call "$A" -s "$schema" Testbed.divide '[-7,2]'
expect divide-by-zero 3 '"DivisionByZero"' 'returned its own error' -- "$roam" call "$A" -s "$schema" Testbed.divide '[7,0]'
expect divide-overflow 3 '"Overflow"' 'returned its own error' \
  -- "$roam" call "$A" -s "$schema" Testbed.divide '[-9223372036854775808,-1]'
expect lookup 0 '{"name":"Alice","age":30,"email":"alice@example.com"}' '' -- "$roam" call "$A" -s "$schema" Testbed.lookup '[1]'
expect lookup-no-email 0 '{"name":"Bob","age":25,"email":null}' '' -- "$roam" call "$A" -s "$schema" Testbed.lookup '{"id":2}'
expect lookup-not-found 3 '"NotFound"' 'returned its own error' -- "$roam" call "$A" -s "$schema" Testbed.lookup '[99]'
expect sum-array 0 '2' '' -- "$roam" call "$A" -s "$schema" Testbed.sum '[[1,2,3,-4]]'
expect sum-empty 0 '0' '' -- "$roam" call "$A" -s "$schema" Testbed.sum '[[]]'
printf '1\n2\n\n3\n' >"$tmp/nums"
stdin_file=$tmp/nums expect sum-stdin 0 '6' '' -- "$roam" call "$A" -s "$schema" Testbed.sum '["-"]'
# past the initial credit (64 KiB): the stream waits for credit and resumes
seq 1 100000 >"$tmp/many"
stdin_file=$tmp/many expect sum-stdin-long 0 '5000050000' '' -- "$roam" call "$A" -s "$schema" Testbed.sum '{"numbers":"-"}'
seq 1 3 | "$roam" call "$A" Testbed.sum '["-"]' -s "$schema" >"$tmp/pipe.out" 2>&1
[[ "$(cat "$tmp/pipe.out")" == 6 ]] && echo "ok: sum-pipe" || fail "sum-pipe: $(cat "$tmp/pipe.out")"
expect generate 0 $'0\n1\n2\nnull' '' -- "$roam" call "$A" -s "$schema" Testbed.generate '[3]'
expect generate-null-tx 0 $'0\nnull' '' -- "$roam" call "$A" -s "$schema" Testbed.generate '[1,null]'
expect transform 0 $'"a"\n"b c"\nnull' '' -- "$roam" call "$A" -s "$schema" Testbed.transform '[["a","b c"]]'
printf '"x"\n"y"\n' >"$tmp/strs"
stdin_file=$tmp/strs expect transform-stdin 0 $'"x"\n"y"\nnull' '' -- "$roam" call "$A" -s "$schema" Testbed.transform '["-"]'
expect echo_point 0 '{"x":1,"y":-2}' '' -- "$roam" call "$A" -s "$schema" Testbed.echo_point '[{"x":1,"y":-2}]'
expect create_person 0 '{"name":"Zed","age":40,"email":"z@example.com"}' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.create_person '["Zed",40,"z@example.com"]'
expect create_person-null 0 '{"name":"Zed","age":40,"email":null}' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.create_person '{"name":"Zed","age":40,"email":null}'
expect rectangle_area 0 '12.0' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.rectangle_area '[{"top_left":{"x":0,"y":0},"bottom_right":{"x":3,"y":4}}]'
expect parse_color 0 '"Green"' '' -- "$roam" call "$A" -s "$schema" Testbed.parse_color '["green"]'
expect parse_color-none 0 'null' '' -- "$roam" call "$A" -s "$schema" Testbed.parse_color '["mauve"]'
expect shape_area-circle 0 '12.566370614359172' '' -- "$roam" call "$A" -s "$schema" Testbed.shape_area '[{"Circle":{"radius":2}}]'
expect shape_area-rect 0 '13.5' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.shape_area '[{"Rectangle":{"width":3,"height":4.5}}]'
expect shape_area-point 0 '0.0' '' -- "$roam" call "$A" -s "$schema" Testbed.shape_area '["Point"]'
expect create_canvas 0 '{"name":"c","shapes":[{"Circle":{"radius":0.5}},"Point"],"background":"Blue"}' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.create_canvas '["c",[{"Circle":{"radius":0.5}},"Point"],"Blue"]'
expect process_message-text 0 '{"Text":"processed: hi"}' '' -- "$roam" call "$A" -s "$schema" Testbed.process_message '[{"Text":"hi"}]'
# i64 exact at both ends of its range (the server doubles the number)
expect process_message-i64max 0 '{"Number":9223372036854775806}' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.process_message '[{"Number":4611686018427387903}]'
expect process_message-i64min 0 '{"Number":-9223372036854775808}' '' \
  -- "$roam" call "$A" -s "$schema" Testbed.process_message '[{"Number":-4611686018427387904}]'
expect process_message-bytes 0 '{"Data":[255,0,1]}' '' -- "$roam" call "$A" -s "$schema" Testbed.process_message '[{"Data":[1,0,255]}]'
expect get_points 0 '[{"x":0,"y":0},{"x":1,"y":2}]' '' -- "$roam" call "$A" -s "$schema" Testbed.get_points '[2]'
expect swap_pair 0 '["x",-1]' '' -- "$roam" call "$A" -s "$schema" Testbed.swap_pair '[[-1,"x"]]'

# --- a virtual connection, metadata, --raw -----------------------------------
expect connection 0 '"on conn"' '' -- "$roam" call "$A" -s "$schema" Testbed.echo '["on conn"]' --connection
expect connection-stream 0 $'0\n1\nnull' '' -- "$roam" call "$A" -s "$schema" Testbed.generate '[2]' --connection
expect metadata 0 '"m"' '' -- "$roam" call "$A" -s "$schema" Testbed.echo '["m"]' -m trace=abc --metadata k=v
expect raw 0 '026869' '' -- "$roam" call --raw "$A" 0x9aabc4ba61fd5df3 026869
expect raw-by-name 0 '026869' '' -- "$roam" call "$A" -s "$schema" --raw Testbed.echo '02 68 69'
expect raw-user-error 3 '00' 'own error' -- "$roam" call --raw "$A" 0xc3964cbee4b1d590 0e00

# --- errors and their exit statuses -------------------------------------------
expect unknown-method-id 2 '' 'UnknownMethod' -- "$roam" call --raw "$A" 0x1234
expect invalid-payload 2 '' 'InvalidPayload' -- "$roam" call "$A" -s "$schema" --raw Testbed.echo 05
expect bad-json 1 '' 'not valid JSON' -- "$roam" call "$A" -s "$schema" Testbed.echo '["hi"'
expect wrong-arity 1 '' 'takes 1 argument (message: String), got 2' -- "$roam" call "$A" -s "$schema" Testbed.echo '["a","b"]'
expect wrong-type 1 '' 'at message: expected a string' -- "$roam" call "$A" -s "$schema" Testbed.echo '[5]'
expect out-of-range 1 '' 'out of range for u8' -- "$roam" call "$A" -s "$schema" Testbed.create_person '["a",256,null]'
expect unknown-field 1 '' "unknown field 'z'" -- "$roam" call "$A" -s "$schema" Testbed.echo_point '[{"x":1,"y":2,"z":3}]'
expect unknown-variant 1 '' "unknown variant 'Square'" -- "$roam" call "$A" -s "$schema" Testbed.shape_area '[{"Square":{}}]'
expect unknown-method-name 1 '' "unknown method 'nope' of Testbed" -- "$roam" call "$A" -s "$schema" Testbed.nope '[]'
expect unknown-service 1 '' "unknown service 'Nope'" -- "$roam" call "$A" -s "$schema" Nope.echo '[]'
printf '1\nnot json\n' >"$tmp/bad"
stdin_file=$tmp/bad expect bad-stdin-line 1 '' 'standard input line 2' -- "$roam" call "$A" -s "$schema" Testbed.sum '["-"]'
expect no-schema 1 '' '--schema' -- "$roam" call "$A" Testbed.echo '["x"]'
expect bad-schema 1 '' 'nonexistent.rs' -- "$roam" call "$A" Testbed.echo '["x"]' -s "$tmp/nonexistent.rs"
expect unreachable 2 '' 'cannot connect to 127.0.0.1:1' -- "$roam" call 127.0.0.1:1 Testbed.echo '["x"]' -s "$schema"
expect unreachable-unix 2 '' 'cannot connect' -- "$roam" call "unix:$tmp/none.sock" Testbed.echo '["x"]' -s "$schema"
expect usage 1 '' 'expected ADDR Service.method' -- "$roam" call "$A"
expect unknown-option 1 '' "unknown option '--frobnicate'" -- "$roam" call "$A" -s "$schema" Testbed.echo '[]' --frobnicate

# --- --timeout against a peer that completes the handshake and never answers ---
"$python" - "$tmp/mute.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.sendall(b"\x01\x08\x01\x80\x80\x40\x80\x80\x04\x00")  # Hello V2, COBS-framed
while c.recv(65536):
    pass
PY
pids+=($!)
for _ in $(seq 100); do [[ -s "$tmp/mute.port" ]] && break; sleep 0.05; done
expect call-timeout 2 '' 'no answer within 0.3 s' \
  -- "$roam" call "127.0.0.1:$(cat "$tmp/mute.port")" Testbed.echo '["x"]' -s "$schema" --timeout 0.3

# --- list, method-id, help ------------------------------------------------------
"$roam" list -s "$schema" >"$tmp/list" 2>&1 || fail "list: exit status $?"
grep -qF '0x9aabc4ba61fd5df3  echo(message: String) -> String' "$tmp/list" &&
  grep -qF '0x855b3a25d97bfefd  sum(numbers: Rx<i32>) -> i64' "$tmp/list" &&
  grep -qF 'enum Shape { Circle { radius: f64 }, Rectangle { width: f64, height: f64 }, Point }' "$tmp/list" &&
  echo "ok: list" || { fail "list output"; cat "$tmp/list" >&2; }
expect list-unknown 1 '' "no service 'Nope'" -- "$roam" list -s "$schema" Nope
expect method-id 0 '0x9aabc4ba61fd5df3' '' -- "$roam" method-id Testbed echo 'String -> String'
expect method-id-usage 2 '' 'roam method-id: expected SERVICE METHOD SIGNATURE' -- "$roam" method-id Testbed
expect help-unknown 1 '' "unknown subcommand 'nope'" -- "$roam" help nope
for c in call list spy bench method-id; do
  "$roam" help $c | grep -q "usage: roam $c" && echo "ok: help $c" || fail "help $c"
done
expect no-subcommand 1 '' 'usage: roam SUBCOMMAND' -- "$roam"
stop_server

# --- over WebSocket (CLI_WS=1: the build has ws:// links) ----------------------
if [[ "${CLI_WS:-0}" == 1 ]]; then
  start_server "$server" ws://127.0.0.1:0/cli
  expect ws-echo 0 '"over ws"' '' -- "$roam" call "$addr" -s "$schema" Testbed.echo '["over ws"]'
  expect ws-generate 0 $'0\n1\nnull' '' -- "$roam" call "$addr" -s "$schema" Testbed.generate '[2]'
  expect ws-sum 0 '6' '' -- "$roam" call "$addr" -s "$schema" Testbed.sum '[[1,2,3]]'
  stop_server
fi
finish
