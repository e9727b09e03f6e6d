#!/usr/bin/env bash
# Where a send-text request's time goes (issue 11 §7): one wrk run against a fresh chatedge with
# 4 paired instances, reporting the throughput, how the machine's CPU time was spent over the
# run (`/proc/stat`: user, system, idle, iowait, softirq …) and the committer's group commits
# from chatedge's own `/metrics` (how many, their mean size and duration, how much of the run the
# committer spent committing). Closed loop: with more connections the groups grow; a stage that
# gets faster while the throughput stays shows up as smaller groups, not more requests.
#
# Usage: commit_cycle.sh CONFIG [CONNECTIONS]. Env: BIN (chatedge binary, default the release
# build), DURATION (10s). Use a config with the loadtest settings of docs/BENCHMARKS.md; with
# `[pacing] min_delay_ms = max_delay_ms = 600000` the network's sending is held and only
# acceptance is measured. Needs wrk, curl, python3. Listens on 127.0.0.1:28180–28181.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release
BIN=${BIN:-$TARGET/chatedge}
CONFIG=${1:?usage: commit_cycle.sh CONFIG [CONNECTIONS]}
CONNECTIONS=${2:-64}
DURATION=${DURATION:-10s}
DP=http://127.0.0.1:28180
CP=http://127.0.0.1:28181
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
CREDS=$WORK/data/credentials.json
# shellcheck source=pair_instances.sh
source "$HERE/pair_instances.sh"

"$BIN" up --data-dir "$WORK/data" --listen 127.0.0.1:28180 --control-listen 127.0.0.1:28181 --config "$CONFIG" \
  >"$WORK/server.log" 2>&1 &
SERVER=$!
until curl -s "$DP/healthz" >/dev/null; do sleep 0.1; done
pair_instances 4 cycle

commits() { curl -s "$DP/metrics" | grep -E '^chatedge_dp_store_(commit_seconds|batch_size)_(sum|count)' || true; }
commits >"$WORK/m0"
head -1 /proc/stat >"$WORK/s0"
out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/send_text.lua" "$DP" -- "${pairs[@]}")
head -1 /proc/stat >"$WORK/s1"
commits >"$WORK/m1"
grep -q "Non-2xx" <<<"$out" && echo "note: the run had non-2xx answers" >&2

python3 - "$WORK" "$out" <<'PY'
import re, sys
work, out = sys.argv[1:3]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = re.search(r"\n\s+99%\s+(\S+)", out).group(1)
print(f"{rps:,.0f} req/s, p99 {p99}")
before = list(map(int, open(f"{work}/s0").read().split()[1:9]))
after = list(map(int, open(f"{work}/s1").read().split()[1:9]))
spent = [b - a for a, b in zip(before, after)]
names = "user nice system idle iowait irq softirq steal".split()
print("CPU: " + ", ".join(f"{n} {v * 100 / sum(spent):.1f} %" for n, v in zip(names, spent)))
def metrics(f):
    return {line.split()[0]: float(line.split()[1]) for line in open(f)}
m0, m1 = metrics(f"{work}/m0"), metrics(f"{work}/m1")
d = {k: m1[k] - m0.get(k, 0.0) for k in m1}
n = d.get("chatedge_dp_store_commit_seconds_count", 0)
if n:
    busy = d["chatedge_dp_store_commit_seconds_sum"]
    size = d["chatedge_dp_store_batch_size_sum"] / n
    print(f"group commits: {n:,.0f}, {size:.1f} batches each, {busy / n * 1e3:.3f} ms each, committing {busy:.2f} s of the run")
PY
