#!/usr/bin/env bash
# Restart time with a large durable queue: fills the queues of 10 disconnected instances with at
# least 1,000,000 messages (wrk), kills chatedge with SIGKILL, starts it again and reports how
# long until the data plane serves, then checks every queued message is still counted.
# Needs: wrk, curl, python3; the release build (cargo build --release -p chatedge).
set -euo pipefail
W=${WORK:-/tmp/chatedge-restart}
B=${CARGO_TARGET_DIR:-$HOME/.cache/chatedge-target}/release/chatedge
TARGET=${TARGET:-1000000}
rm -rf "$W"; mkdir -p "$W"
cat > "$W/config.toml" <<EOF
[queue]
max_waiting_disconnected = 2000000
EOF
start() {
  "$B" up --data-dir "$W/data" --config "$W/config.toml" --listen 127.0.0.1:38080 \
    --control-listen 127.0.0.1:38081 >>"$W/out.log" 2>>"$W/err.log" &
  echo $!
}
PID=$(start)
until curl -sf localhost:38080/healthz >/dev/null 2>&1; do sleep 0.05; done
IT=$(python3 -c "import json;print(json.load(open('$W/data/credentials.json'))['integratorToken'])")
for _ in $(seq 1 10); do
  curl -s -XPOST localhost:38080/instances/integrator/on-demand -H "Authorization: Bearer $IT" -d '{"name":"r"}' |
    python3 -c "import json,sys;v=json.load(sys.stdin);print('/instances/%s/token/%s' % (v['id'], v['token']))"
done >"$W/paths.txt"
cat >"$W/fill.lua" <<EOF
paths = {}
for line in io.lines("$W/paths.txt") do paths[#paths + 1] = line end
n = 0
request = function()
  n = n + 1
  return wrk.format("POST", paths[(n % #paths) + 1] .. "/send-text", {["Content-Type"] = "application/json"},
    '{"phone": "5511999998888", "message": "queued while disconnected, waiting for the restart test"}')
end
EOF
total() {
  local t=0 c
  while read -r p; do
    c=$(curl -s "localhost:38080$p/queue/count" | python3 -c "import json,sys;print(json.load(sys.stdin).get('count',0))")
    t=$((t + c))
  done <"$W/paths.txt"
  echo $t
}
while [ "$(total)" -lt "$TARGET" ]; do
  wrk -t1 -c64 -d20s -s "$W/fill.lua" http://127.0.0.1:38080 | grep Requests/sec
done
BEFORE=$(total)
echo "queued before kill -9: $BEFORE ($(du -sh "$W/data/dataplane" | cut -f1) on disk)"
kill -9 "$PID"; sleep 0.5
T0=$(date +%s.%N); PID=$(start)
until curl -sf localhost:38080/healthz >/dev/null 2>&1; do sleep 0.01; done
T1=$(date +%s.%N)
AFTER=$(total)
echo "restart: serving after $(python3 -c "print(round($T1 - $T0, 3))") s; queued after restart: $AFTER"
[ "$AFTER" -eq "$BEFORE" ] || { echo "LOST MESSAGES: $BEFORE before, $AFTER after"; exit 1; }
kill -TERM "$PID"
