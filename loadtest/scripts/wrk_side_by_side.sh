#!/usr/bin/env bash
# wrk against chatedge's send-text and against `chatedge-loadtest baseline-server`, side by side
# in one run (issue 11 §7: the ratio measured with an independent client): provisions and pairs
# INSTANCES instances through the integrator API and the sim network, starts the baseline server
# (with TLS when DP is https://), then alternates ROUNDS times: wrk on the baseline, wrk on
# chatedge, and a wait until chatedge's queue has drained (chatedge_dp_queue_depth reads 0 at
# least 1.1 s after the round: the shards publish it once a second), as chatedge-loadtest does.
# Prints each round, the medians and the ratio. wrk speaks HTTP/1.1 only (over TLS for https://).
#
# Env: DP (data plane, default http://127.0.0.1:28080), CP (control plane, default
# http://127.0.0.1:28081), CREDS (credentials.json of `chatedge up`), LOADTEST (the
# chatedge-loadtest binary), INSTANCES (4), ROUNDS (3), DURATION (10s), CONNECTIONS (64),
# THREADS (1), PAUSE (0.5 s), DRAIN_LIMIT (60 s: the longest wait for a round's backlog; with
# the network's sending held, as in docs/BENCHMARKS.md's held measurement, 1 is enough: the
# queue never drains). Needs wrk, curl, python3. chatedge needs the loadtest config of
# docs/BENCHMARKS.md (no pacing, instance_rps = 0).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DP=${DP:-http://127.0.0.1:28080}
CP=${CP:-http://127.0.0.1:28081}
CREDS=${CREDS:?set CREDS to the credentials.json that chatedge up wrote}
LOADTEST=${LOADTEST:-${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release/chatedge-loadtest}
INSTANCES=${INSTANCES:-4}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
PAUSE=${PAUSE:-0.5}
DRAIN_LIMIT=${DRAIN_LIMIT:-60}
K=(-sk --fail-with-body)
# shellcheck source=pair_instances.sh
source "$HERE/pair_instances.sh"
pair_instances "$INSTANCES" "wrk-$$"
echo "paired $INSTANCES instances" >&2

tls=(); case $DP in https://*) tls=(--tls-self-signed) ;; esac
out=$(mktemp)
"$LOADTEST" baseline-server --listen 127.0.0.1:0 "${tls[@]}" >"$out" &
BASELINE_PID=$!
trap 'kill $BASELINE_PID 2>/dev/null; rm -f "$out"' EXIT
until [ -s "$out" ]; do
  kill -0 "$BASELINE_PID" 2>/dev/null || { echo "the baseline server did not start" >&2; exit 1; }
  sleep 0.05
done
BASE=$(head -1 "$out" | sed 's/^baseline-server listening on //')
echo "baseline server at $BASE" >&2

queue_depth() {
  curl "${K[@]}" "$DP/metrics" |
    awk '/^chatedge_dp_queue_depth[ {]/ { s += $NF } END { printf "%d\n", s }'
}
drain() {
  local ended=$1
  sleep 1.1
  while [ "$(queue_depth)" != 0 ]; do
    sleep 0.2
    if python3 -c "import time,sys;sys.exit(time.time() - $ended < $DRAIN_LIMIT)"; then
      echo "note: queue not drained $DRAIN_LIMIT s after the round" >&2; return
    fi
  done
}
round() { # target URL → "req/s p99"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/send_text.lua" "$1" -- "${pairs[@]}" |
    tee -a "$out.log" | awk '/Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = $2 } END { print rps, p99 }'
}
results=()
for r in $(seq 1 "$ROUNDS"); do
  b=$(round "$BASE"); sleep "$PAUSE"
  c=$(round "$DP"); ended=$(date +%s.%N)
  echo "round $r: baseline $b  chatedge $c (req/s p99)" >&2
  drain "$ended"; sleep "$PAUSE"
  results+=("$b $c")
done
grep -h "Non-2xx\|Socket errors" "$out.log" >&2 || true
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
b = statistics.median(float(r[0]) for r in rows); c = statistics.median(float(r[2]) for r in rows)
print(f"wrk send-text: chatedge median {c:,.0f} req/s, baseline median {b:,.0f} req/s, ratio {c / b:.3f}")'
rm -f "$out.log"
