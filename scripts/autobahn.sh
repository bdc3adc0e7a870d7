#!/usr/bin/env bash
# Autobahn|Testsuite conformance run for ws-framework, both sides:
#
#   server side: builds and starts the `echo_server` example on 127.0.0.1 and
#                runs `wstest -m fuzzingclient` against it;
#   client side: runs `wstest -m fuzzingserver` on 127.0.0.1 and plays every
#                case with the `autobahn_client` example.
#
# usage: scripts/autobahn.sh [options]
# options:
#   --cases LIST        comma-separated case patterns to run (default "*"),
#                       e.g. '1.*,2.*' or '12.1.*,13.1.*'
#   --exclude LIST      comma-separated case patterns to leave out,
#                       e.g. '12.*,13.*' (may be given more than once)
#   --server-only       only test the server (echo_server example)
#   --client-only       only test the client (autobahn_client example)
#   --time-limit SECS   overall limit for setup, build and both runs
#                       (default 5400); a run cut short counts as incomplete
#   --summary-out DIR   write DIR/summary-SIDE.txt (one line per case,
#                       "SIDE CASE BEHAVIOR BEHAVIOR_CLOSE", sorted by case
#                       number; spaces in a result become '_') and
#                       DIR/counts-SIDE.txt (counts per result)
#   --report-dir DIR    wstest's reports (index.html, one .json/.html per
#                       case, logs) go to DIR/server and DIR/client; each is
#                       emptied first (default target/autobahn)
#   --agent NAME        agent name in the reports (default $AUTOBAHN_AGENT,
#                       else ws-framework)
#   --no-setup          do not run scripts/autobahn/setup.sh (wstest must
#                       already be installed in $AUTOBAHN_PREFIX)
#   -v, --verbose       stream wstest's output (always kept in the report dir)
#   -h, --help          this text
#
# wstest is installed by scripts/autobahn/setup.sh into $AUTOBAHN_PREFIX
# (default /opt/autobahn): needs root the first time, Debian's archive and
# PyPI; later runs only check it.
# Exit status: 0 every case passed (OK, NON-STRICT or INFORMATIONAL);
# 1 some case FAILED or UNIMPLEMENTED (or another non-passing result);
# 2 usage error; 3 the run did not complete (setup or build failed, a
# process died, time limit, cases without a result).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/autobahn"
HELPER=(python3 "$HERE/ab_helper.py")
PREFIX="${AUTOBAHN_PREFIX:-/opt/autobahn}"
export AUTOBAHN_PREFIX="$PREFIX"
CARGO="${CARGO:-cargo}"

CASES="*"
EXCL=""
RUN_SERVER=1
RUN_CLIENT=1
TLIMIT=5400
SUMMARY_OUT=""
REPORT_DIR="$ROOT/target/autobahn"
AGENT="${AUTOBAHN_AGENT:-ws-framework}"
SETUP=1
VERBOSE=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "autobahn.sh: $1 needs a value" >&2; usage 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) need "$@"; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#*=}"; shift ;;
    --exclude) need "$@"; EXCL="${EXCL:+$EXCL,}$2"; shift 2 ;;
    --exclude=*) EXCL="${EXCL:+$EXCL,}${1#*=}"; shift ;;
    --server-only) RUN_CLIENT=0; shift ;;
    --client-only) RUN_SERVER=0; shift ;;
    --time-limit) need "$@"; TLIMIT="$2"; shift 2 ;;
    --time-limit=*) TLIMIT="${1#*=}"; shift ;;
    --summary-out) need "$@"; SUMMARY_OUT="$2"; shift 2 ;;
    --summary-out=*) SUMMARY_OUT="${1#*=}"; shift ;;
    --report-dir) need "$@"; REPORT_DIR="$2"; shift 2 ;;
    --report-dir=*) REPORT_DIR="${1#*=}"; shift ;;
    --agent) need "$@"; AGENT="$2"; shift 2 ;;
    --agent=*) AGENT="${1#*=}"; shift ;;
    --no-setup) SETUP=0; shift ;;
    -v|--verbose) VERBOSE=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "autobahn.sh: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[ "$RUN_SERVER$RUN_CLIENT" != 00 ] || { echo "autobahn.sh: --server-only and --client-only exclude each other" >&2; exit 2; }
case "$TLIMIT" in ''|*[!0-9]*) echo "autobahn.sh: --time-limit takes whole seconds" >&2; exit 2 ;; esac
case "$AGENT" in *[!A-Za-z0-9._-]*|"") echo "autobahn.sh: agent name: letters, digits, . _ - only" >&2; exit 2 ;; esac
case "$CASES$EXCL" in *[!0-9.*,\ ]*) echo "autobahn.sh: case patterns use digits, '.', '*' and ','" >&2; exit 2 ;; esac
[ -n "${CASES// /}" ] || CASES="*"

START=$(date +%s)
DEADLINE=$((START + TLIMIT))
# seconds left, at least 1 (`timeout 0` would mean no limit at all)
remaining() { local r=$((DEADLINE - $(date +%s))); [ "$r" -gt 0 ] && echo "$r" || echo 1; }
time_is_up() { [ "$(date +%s)" -ge "$DEADLINE" ]; }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
say() { echo "autobahn: $*" >&2; }

# background processes started by this script, stopped on exit
BG_PIDS=()
stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  # up to 10 s to exit, then SIGKILL
  "${HELPER[@]}" wait-exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { local p; for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

SEL="cases=$CASES exclude=${EXCL:-none}"
say "ws-framework conformance: $SEL sides=$([ "$RUN_SERVER" = 1 ] && echo -n server)$([ "$RUN_SERVER$RUN_CLIENT" = 11 ] && echo -n ,)$([ "$RUN_CLIENT" = 1 ] && echo -n client) agent=$AGENT time-limit=${TLIMIT}s reports=$REPORT_DIR"

# ------------------------------------------------------------------ setup
if [ "$SETUP" = 1 ]; then
  say "checking / installing wstest in $PREFIX"
  timeout "$(remaining)" bash "$HERE/setup.sh" >&2 || { say "setup failed"; exit 3; }
fi
[ -x "$PREFIX/bin/python2.7" ] || { say "wstest is not installed in $PREFIX (run $HERE/setup.sh as root)"; exit 3; }

# ------------------------------------------------------------------ build
EXAMPLES=()
[ "$RUN_SERVER" = 1 ] && EXAMPLES+=(--example echo_server)
[ "$RUN_CLIENT" = 1 ] && EXAMPLES+=(--example autobahn_client)
say "building (release): ${EXAMPLES[*]}"
( cd "$ROOT" && timeout "$(remaining)" "$CARGO" build --release "${EXAMPLES[@]}" ) \
  || { say "cargo build failed or timed out"; exit 3; }

mkdir -p "$REPORT_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
if [ -n "$SUMMARY_OUT" ]; then mkdir -p "$SUMMARY_OUT"; SUMMARY_OUT="$(cd "$SUMMARY_OUT" && pwd)"; fi

# wstest with every listening socket on 127.0.0.1
WSTEST=("$PREFIX/bin/python2.7" -u "$HERE/wstest_loopback.py")

# summarise SIDE's report (prints it, copies the summary files to
# --summary-out); returns ab_helper's status: 0 pass, 1 failing cases,
# 3 no report, 4 incomplete
summarise() {
  local side="$1" out="$2" secs="$3" status=0
  local args=("$out" --side "$side" --agent "$AGENT" --wstest-log "$out/wstest.log"
              --seconds "$secs" --json "$out/summary.json" --selection "$SEL"
              --cases-out "$out/summary-$side.txt" --counts-out "$out/counts-$side.txt")
  [ "$side" = client ] && args+=(--any-agent)
  "${HELPER[@]}" summary "${args[@]}" > "$out/summary.log" || status=$?
  cat "$out/summary.log"
  if [ -n "$SUMMARY_OUT" ]; then
    for f in "summary-$side.txt" "counts-$side.txt"; do
      [ -f "$out/$f" ] && cp "$out/$f" "$SUMMARY_OUT/$f"
    done
  fi
  return "$status"
}

FINAL=0
LINES=()
note_result() {  # side status
  local side="$1" st="$2" line
  line="$(head -n 1 "$REPORT_DIR/$side/summary.log" 2>/dev/null || echo "AUTOBAHN $side: no summary")"
  case "$st" in
    0) ;;
    1) [ "$FINAL" = 0 ] && FINAL=1 ;;
    *) FINAL=3; line="$line (run did not complete)" ;;
  esac
  LINES+=("$line")
}

# ------------------------------------------------------------- server side
run_server_side() {
  local out="$REPORT_DIR/server" port pid rc=0 st=0 t0 secs wrc=0 died=0
  mkdir -p "$out"; find "$out" -mindepth 1 -delete
  port="$("${HELPER[@]}" free-port)"
  say "server side: starting echo_server on 127.0.0.1:$port"
  ( cd "$ROOT" && exec "$CARGO" run --release --quiet --example echo_server -- --addr "127.0.0.1:$port" ) \
    > "$out/echo_server.log" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  "${HELPER[@]}" wait-port 127.0.0.1 "$port" "$(min 120 "$(remaining)")" --pid "$pid" || wrc=$?
  if [ "$wrc" != 0 ]; then
    say "server side: echo_server is not listening on 127.0.0.1:$port ($([ "$wrc" = 4 ] && echo exited || echo timed out)); its output:"
    tail -n 20 "$out/echo_server.log" >&2 || true
    stop_pid "$pid"
    echo "AUTOBAHN server: echo_server did not start" > "$out/summary.log"
    return 3
  fi
  "${HELPER[@]}" spec-client "ws://127.0.0.1:$port" "$AGENT" "$out" "$CASES" "$EXCL" > "$out/fuzzingclient.json"
  say "server side: wstest -m fuzzingclient -> ws://127.0.0.1:$port (report: $out)"
  t0=$(date +%s)
  if [ "$VERBOSE" = 1 ]; then
    ( cd "$out" && timeout --kill-after=10 "$(remaining)" "${WSTEST[@]}" -m fuzzingclient -s "$out/fuzzingclient.json" 2>&1 | tee "$out/wstest.log" ) || rc=$?
  else
    ( cd "$out" && timeout --kill-after=10 "$(remaining)" "${WSTEST[@]}" -m fuzzingclient -s "$out/fuzzingclient.json" > "$out/wstest.log" 2>&1 ) || rc=$?
  fi
  secs=$(( $(date +%s) - t0 ))
  [ "$rc" = 0 ] || say "server side: wstest exited with status $rc (124 = time limit); see $out/wstest.log"
  kill -0 "$pid" 2>/dev/null || died=1
  stop_pid "$pid"
  if [ "$died" = 1 ]; then
    say "server side: echo_server EXITED during the run; last lines of its output:"
    tail -n 20 "$out/echo_server.log" >&2 || true
  fi
  summarise server "$out" "$secs" || st=$?
  [ "$rc" = 0 ] && [ "$died" = 0 ] || st=3
  return "$st"
}

# ------------------------------------------------------------- client side
run_client_side() {
  local out="$REPORT_DIR/client" port pid crc=0 st=0 t0 secs wrc=0
  mkdir -p "$out"; find "$out" -mindepth 1 -delete
  port="$("${HELPER[@]}" free-port)"
  "${HELPER[@]}" spec-server "$port" "$out" "$CASES" "$EXCL" > "$out/fuzzingserver.json"
  say "client side: starting wstest -m fuzzingserver on ws://127.0.0.1:$port (report: $out)"
  if [ "$VERBOSE" = 1 ]; then
    ( cd "$out" && WSTEST_IGNORE_SIGINT=1 exec "${WSTEST[@]}" -m fuzzingserver -s "$out/fuzzingserver.json" -u 0 ) \
      > >(tee "$out/wstest.log") 2>&1 &
  else
    ( cd "$out" && WSTEST_IGNORE_SIGINT=1 exec "${WSTEST[@]}" -m fuzzingserver -s "$out/fuzzingserver.json" -u 0 ) \
      > "$out/wstest.log" 2>&1 &
  fi
  pid=$!
  BG_PIDS+=("$pid")
  "${HELPER[@]}" wait-port 127.0.0.1 "$port" "$(min 60 "$(remaining)")" --pid "$pid" || wrc=$?
  if [ "$wrc" != 0 ]; then
    say "client side: fuzzingserver did not start; see $out/wstest.log"
    tail -n 20 "$out/wstest.log" >&2 || true
    stop_pid "$pid"
    echo "AUTOBAHN client: fuzzingserver did not start" > "$out/summary.log"
    return 3
  fi
  say "client side: cargo run --release --example autobahn_client -- ws://127.0.0.1:$port (agent $AGENT)"
  t0=$(date +%s)
  ( cd "$ROOT" && AUTOBAHN_AGENT="$AGENT" timeout --kill-after=10 "$(remaining)" \
      "$CARGO" run --release --quiet --example autobahn_client -- "ws://127.0.0.1:$port" ) \
    > >(tee "$out/client.log" | sed 's/^/  autobahn_client: /' >&2) 2> "$out/client.stderr.log" || crc=$?
  secs=$(( $(date +%s) - t0 ))
  if [ "$crc" != 0 ]; then
    say "client side: autobahn_client exited with status $crc (124 = time limit); last lines of its stderr ($out/client.stderr.log):"
    tail -n 20 "$out/client.stderr.log" >&2 || true
  fi
  # make sure the reports are written (harmless if the client already asked)
  if kill -0 "$pid" 2>/dev/null; then
    "${HELPER[@]}" update-reports "ws://127.0.0.1:$port" "$AGENT" --timeout 120 \
      || say "client side: could not ask the fuzzingserver for its reports"
  else
    say "client side: the fuzzingserver EXITED during the run; see $out/wstest.log"
  fi
  stop_pid "$pid"
  summarise client "$out" "$secs" || st=$?
  [ "$crc" = 0 ] || st=3
  return "$st"
}

if [ "$RUN_SERVER" = 1 ]; then
  st=0; run_server_side || st=$?
  note_result server "$st"
fi
if [ "$RUN_CLIENT" = 1 ]; then
  if time_is_up; then
    say "client side: skipped, time limit reached"
    FINAL=3; LINES+=("AUTOBAHN client: not run (time limit)")
  else
    st=0; run_client_side || st=$?
    note_result client "$st"
  fi
fi

echo
echo "== Autobahn|Testsuite results ($SEL, $(( $(date +%s) - START ))s) =="
for l in "${LINES[@]}"; do echo "$l"; done
[ -z "$SUMMARY_OUT" ] || echo "per-case summaries: $SUMMARY_OUT/summary-{server,client}.txt"
echo "reports: $REPORT_DIR/{server,client}/index.html"
case "$FINAL" in
  0) echo "autobahn: PASS (no FAILED or UNIMPLEMENTED case)" ;;
  1) echo "autobahn: FAIL (some case FAILED or UNIMPLEMENTED)" ;;
  *) echo "autobahn: FAIL (the run did not complete)" ;;
esac
exit "$FINAL"
