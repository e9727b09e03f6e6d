#!/usr/bin/env bash
# CPU per send-text request, by server thread, for one chatedge build or two alternated
# (issue 11 §7). Throughput on this 2-core machine drifts by 10–20 % over minutes (the virtual
# disk's fsyncs slow down), so only alternated runs compare, several times each; CPU per request
# by thread says where a change moved the cost (it varies too: two runs of one build read 49.6
# and 58.7 µs). Each run starts chatedge on a fresh copy of one data-directory snapshot (the same
# 4 paired instances, so the same shard placement), sends with `wrk -c64` and `send_text.lua`,
# and reads every thread's user + system ticks and context switches from /proc before and after.
# The baseline server is measured the same way once at the end. With PER_INSTANCE=1 each
# instance gets a wrk of its own (CONNECTIONS / 4 connections, each sending to that instance
# only: a client that keeps connections per instance) instead of one wrk whose every
# connection goes round robin over all four; the figures add up. With TLS=1 wrk sends over TLS
# (HTTP/1.1) to chatedge's TLS port (`--tls-self-signed`) and to a TLS baseline server.
#
# Env: A (chatedge binary, default the release build), A_CONFIG (its config file), B and
# B_CONFIG (optional second build and config, alternated with A), RUNS (3), DURATION (10s),
# CONNECTIONS (64), LOADTEST (the chatedge-loadtest binary, for the baseline server). Use a config
# with the loadtest settings of docs/BENCHMARKS.md; with `[pacing] min_delay_ms = max_delay_ms =
# 600000` the network's sending is held and only acceptance is measured. Needs wrk, curl,
# python3. Listens on 127.0.0.1:28180–28181 (and :28143 with TLS=1) and :28190.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release
A=${A:-$TARGET/chatedge}
A_CONFIG=${A_CONFIG:?set A_CONFIG to a chatedge config file (see docs/BENCHMARKS.md)}
B=${B:-}
B_CONFIG=${B_CONFIG:-$A_CONFIG}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
LOADTEST=${LOADTEST:-$TARGET/chatedge-loadtest}
DP=http://127.0.0.1:28180
CP=http://127.0.0.1:28181
TLS=${TLS:-}
SEND_TO=$DP BASELINE=http://127.0.0.1:28190
[ -n "$TLS" ] && SEND_TO=https://127.0.0.1:28143 BASELINE=https://127.0.0.1:28190
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
# shellcheck source=pair_instances.sh
source "$HERE/pair_instances.sh"

start() { # binary config data-dir
  "$1" up --data-dir "$3" --listen 127.0.0.1:28180 --control-listen 127.0.0.1:28181 --config "$2" \
    ${TLS:+--tls-self-signed --tls-listen 127.0.0.1:28143} >"$WORK/server.log" 2>&1 &
  SERVER=$!
  until curl -s "$DP/healthz" >/dev/null; do sleep 0.1; done
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }

# 1. Four paired instances, kept as a snapshot.
start "$A" "$A_CONFIG" "$WORK/snapshot"
CREDS=$WORK/snapshot/credentials.json
pair_instances 4 cpu
stop

ticks() { # pid → "thread-kind ticks switches" lines (shard-0, shard-1 … count as "shard")
  for t in /proc/"$1"/task/*; do
    echo "$(tr ' ' _ <"$t/comm" | sed 's/^shard-[0-9]*$/shard/') $(awk '{print $14 + $15}' "$t/stat")" \
      "$(awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {n += $2} END {print n}' "$t/status")"
  done
}
report() { # label before-file after-file wrk-output
  python3 - "$@" <<'PY'
import collections, re, sys
label, before, after, out = sys.argv[1:5]
def read(f):
    cpu, switches = collections.Counter(), collections.Counter()
    for line in open(f):
        k, v, w = line.split(); cpu[k] += int(v); switches[k] += int(w)
    return cpu, switches
(a, sa), (b, sb) = read(before), read(after)
# One wrk's output, or several (PER_INSTANCE=1): requests and rates add up, the worst p99 shows.
n = sum(int(x) for x in re.findall(r"(\d+) requests in", out))
rps = sum(float(x) for x in re.findall(r"Requests/sec:\s+([\d.]+)", out))
def ms(v):
    num, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(num) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}.get(unit, 1.0)
worst = max(ms(x) for x in re.findall(r"\n\s+99%\s+(\S+)", out))
p99 = f"{worst:.2f}ms"
per = {k: (b[k] - a[k]) * 1e4 / n for k in b if b[k] > a[k]}  # ticks are 10 ms
order = sorted(per, key=lambda k: -per[k])
threads = " ".join(f"{k} {per[k]:.1f}" for k in order)
switched = " ".join(f"{k} {(sb[k] - sa[k]) / n:.2f}" for k in order)
print(f"{label:8} {float(rps):>9,.0f} req/s  p99 {p99:>8}  CPU {sum(per.values()):5.1f} µs/req: {threads}")
print(f"{'':8} context switches per request (voluntary + not): {switched}")
PY
}
send() { # base-url → wrk's output (one wrk per instance, concatenated, with PER_INSTANCE=1)
  if [ -z "${PER_INSTANCE:-}" ]; then
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/send_text.lua" "$1" -- "${pairs[@]}"
    return
  fi
  local each=$((CONNECTIONS / ${#pairs[@]})) i=0
  for p in "${pairs[@]}"; do
    wrk -t1 -c"$each" -d"$DURATION" --latency -s "$HERE/send_text.lua" "$1" -- "$p" >"$WORK/wrk.$i" &
    i=$((i + 1))
  done
  wait
  cat "$WORK"/wrk.*; rm -f "$WORK"/wrk.*
}

# 2. Runs, alternating A and B.
for r in $(seq 1 "$RUNS"); do
  for side in A B; do
    [ "$side" = B ] && [ -z "$B" ] && continue
    bin=$A; cfg=$A_CONFIG; [ "$side" = B ] && { bin=$B; cfg=$B_CONFIG; }
    rm -rf "$WORK/data"; cp -a "$WORK/snapshot" "$WORK/data"
    start "$bin" "$cfg" "$WORK/data"; wait_connected
    ticks "$SERVER" >"$WORK/t0"; out=$(send "$SEND_TO"); ticks "$SERVER" >"$WORK/t1"
    grep -q "Non-2xx" <<<"$out" && echo "note: run $r $side had non-2xx answers" >&2
    report "$side run $r" "$WORK/t0" "$WORK/t1" "$out"
    stop
  done
done

# 3. The baseline server, measured the same way.
"$LOADTEST" baseline-server --listen 127.0.0.1:28190 ${TLS:+--tls-self-signed} >"$WORK/baseline.log" 2>&1 &
SERVER=$!
until grep -q "listening on" "$WORK/baseline.log" 2>/dev/null; do
  kill -0 "$SERVER" 2>/dev/null || { echo "the baseline server did not start:" >&2; cat "$WORK/baseline.log" >&2; SERVER=; exit 1; }
  sleep 0.05
done
ticks "$SERVER" >"$WORK/t0"; out=$(send "$BASELINE"); ticks "$SERVER" >"$WORK/t1"
report "baseline" "$WORK/t0" "$WORK/t1" "$out"
