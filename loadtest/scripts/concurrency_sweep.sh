#!/usr/bin/env bash
# The send-text ratio against the number of requests in flight (issue 11 §7): for each
# CONNECTIONS given, a fresh chatedge, measured side by side with the baseline server by
# `wrk_side_by_side.sh` with `CONNECTIONS` connections. A durable send waits for its group
# commit, so with few requests in flight chatedge is bound by the fsync's latency and with many
# by its CPU; the baseline is bound by CPU throughout. The rows show where the one regime gives
# way to the other. A fresh server per row keeps one row's held backlog out of the next.
#
# Usage: concurrency_sweep.sh CONFIG CONNECTIONS... (e.g. `64 128 256 512`). Env: BIN (chatedge
# binary, default the release build), ROUNDS (1), and what `wrk_side_by_side.sh` reads
# (LOADTEST, DURATION, DRAIN_LIMIT …). Use a config with the loadtest settings of
# docs/BENCHMARKS.md; with `[pacing] min_delay_ms = max_delay_ms = 600000` the network's
# sending is held, only acceptance is measured, and `DRAIN_LIMIT=1` is enough. Needs wrk, curl,
# python3. Listens on 127.0.0.1:28180–28181.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release/chatedge}
CONFIG=${1:?usage: concurrency_sweep.sh CONFIG CONNECTIONS...}
shift
[ $# -gt 0 ] || { echo "usage: concurrency_sweep.sh CONFIG CONNECTIONS..." >&2; exit 2; }
export DP=http://127.0.0.1:28180 CP=http://127.0.0.1:28181 ROUNDS=${ROUNDS:-1}
WORK=
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; [ -n "$WORK" ] && rm -rf "$WORK"' EXIT

for connections in "$@"; do
  WORK=$(mktemp -d)
  "$BIN" up --data-dir "$WORK/data" --listen 127.0.0.1:28180 --control-listen 127.0.0.1:28181 --config "$CONFIG" \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  until curl -s "$DP/healthz" >/dev/null; do sleep 0.1; done
  result=$(CREDS=$WORK/data/credentials.json CONNECTIONS=$connections "$HERE/wrk_side_by_side.sh" | tail -1)
  echo "$connections connections: $result"
  kill "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  rm -rf "$WORK"
  WORK=
done
