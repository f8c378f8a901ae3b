# Helpers of the roam CLI tests (sourced): a Testbed server per test, checks
# that print what differed.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roam-cli-test.XXXXXX")
failures=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_server SERVER ADDR: sets $addr to the address it reports
start_server() {
  "$1" "$2" >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
  pids+=("$server_pid")
  addr=""
  for _ in $(seq 200); do
    addr=$(sed -n 's/^listening on //p' "$tmp/server.out")
    [[ -n "$addr" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "the server did not start" >&2
  cat "$tmp/server.err" >&2
  exit 1
}

# start_spy ROAM TARGET ARGS...: sets $spy_addr, $spy_pid; output in $tmp/spy.out
start_spy() {
  local roam=$1 target=$2
  shift 2
  "$roam" spy 127.0.0.1:0 "$target" "$@" >"$tmp/spy.out" 2>"$tmp/spy.err" &
  spy_pid=$!
  pids+=("$spy_pid")
  spy_addr=""
  for _ in $(seq 200); do
    spy_addr=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$tmp/spy.err")
    [[ -n "$spy_addr" ]] && return 0
    kill -0 "$spy_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "the spy did not start" >&2
  cat "$tmp/spy.err" >&2
  exit 1
}

# wait_pid PID SECONDS: wait for a background process; its status in $wait_status
wait_pid() {
  local pid=$1 secs=$2
  for _ in $(seq $((secs * 20))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      wait_status=$?
      return 0
    fi
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null
  wait_status=124
  return 1
}

# stop_server: SIGTERM; the server must shut down cleanly (exit 0)
stop_server() {
  kill -TERM "$server_pid"
  wait_pid "$server_pid" 10
  [[ $wait_status -eq 0 ]] && echo "ok: server shut down cleanly" ||
    { fail "server exit status $wait_status"; cat "$tmp/server.err" >&2; }
}

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect NAME STATUS STDOUT STDERR_SUBSTRING -- CMD...: run CMD (stdin from
# $stdin_file when set), compare its exit status and whole stdout, and look
# for a piece of its stderr ("" = anything). STDOUT "*" = anything.
expect() {
  local name=$1 want_status=$2 want_out=$3 want_err=$4
  shift 5
  local out err status
  if [[ -n "${stdin_file:-}" ]]; then
    timeout 60 "$@" <"$stdin_file" >"$tmp/out" 2>"$tmp/err"
  else
    timeout 60 "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  fi
  status=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
  if [[ $status -ne $want_status ]]; then
    fail "$name: exit status $status, expected $want_status (stderr: $err)"
  elif [[ "$want_out" != "*" && "$out" != "$want_out" ]]; then
    fail "$name: stdout differs"
    printf '  expected: %s\n  got:      %s\n' "$want_out" "$out" >&2
  elif [[ -n "$want_err" && "$err" != *"$want_err"* ]]; then
    fail "$name: stderr lacks '$want_err' (got: $err)"
  else
    echo "ok: $name"
  fi
}

finish() {
  if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
