#!/usr/bin/env bash
# The send-text ratio against the number of requests in flight (issue 11 §7): for each
# CONNECTIONS given, a fresh chatedge with 4 paired instances gets wrk `-cCONNECTIONS` against
# send-text, then the baseline server (`chatedge-loadtest baseline-server`) gets the same wrk
# with the same bodies. A durable send waits for its group commit, so with few requests in
# flight chatedge is bound by the fsync's latency and with many by its CPU; the baseline is
# bound by CPU throughout. The rows show where the one regime gives way to the other.
#
# Usage: concurrency_sweep.sh CONFIG CONNECTIONS... (e.g. `64 128 256 512`). Env: BIN (chatedge
# binary), LOADTEST (chatedge-loadtest binary), both defaulting to the release build; DURATION
# (10s). Use a config with the loadtest settings of docs/BENCHMARKS.md; with `[pacing]
# min_delay_ms = max_delay_ms = 600000` the network's sending is held and only acceptance is
# measured. Needs wrk, curl, python3. Listens on 127.0.0.1:28180–28181 and 127.0.0.1:28190.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release
BIN=${BIN:-$TARGET/chatedge}
LOADTEST=${LOADTEST:-$TARGET/chatedge-loadtest}
CONFIG=${1:?usage: concurrency_sweep.sh CONFIG CONNECTIONS...}
shift
[ $# -gt 0 ] || { echo "usage: concurrency_sweep.sh CONFIG CONNECTIONS..." >&2; exit 2; }
DURATION=${DURATION:-10s}
DP=http://127.0.0.1:28180
CP=http://127.0.0.1:28181
BASELINE=http://127.0.0.1:28190
WORK=
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; [ -n "$WORK" ] && rm -rf "$WORK"' EXIT
# shellcheck source=pair_instances.sh
source "$HERE/pair_instances.sh"

# Requests per second and p99 of one wrk run: "RPS P99".
measure() { # URL CONNECTIONS
  wrk -t1 -c"$2" -d"$DURATION" --latency -s "$HERE/send_text.lua" "$1" -- "${pairs[@]}" |
    awk '/Requests\/sec/ {rps = $2} / 99%/ {p99 = $2} END {print rps, p99}'
}

stop() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; }

printf '%-12s %-24s %-24s %s\n' connections "chatedge req/s (p99)" "baseline req/s (p99)" ratio
for connections in "$@"; do
  WORK=$(mktemp -d)
  CREDS=$WORK/data/credentials.json
  "$BIN" up --data-dir "$WORK/data" --listen 127.0.0.1:28180 --control-listen 127.0.0.1:28181 --config "$CONFIG" \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  until curl -s "$DP/healthz" >/dev/null; do sleep 0.1; done
  pair_instances 4 sweep
  read -r chatedge chatedge_p99 < <(measure "$DP" "$connections")
  stop

  "$LOADTEST" baseline-server --listen 127.0.0.1:28190 >"$WORK/baseline.log" 2>&1 &
  SERVER=$!
  until curl -s -o /dev/null "$BASELINE/"; do sleep 0.1; done
  read -r baseline baseline_p99 < <(measure "$BASELINE" "$connections")
  stop
  rm -rf "$WORK"
  WORK=

  ratio=$(python3 -c "print(f'{$chatedge / $baseline:.3f}')")
  printf '%-12s %-24s %-24s %s\n' "$connections" "$chatedge ($chatedge_p99)" "$baseline ($baseline_p99)" "$ratio"
done
