# Sourced by the load scripts: `pair_instances COUNT NAME` creates COUNT instances through the
# integrator API of $CP, pairs each on the sim network through $DP (phones 5521999900001 …) and
# leaves "id:token" pairs in the array `pairs`. Needs DP, CP and CREDS (the credentials.json of
# `chatedge up`), curl and python3. Returns once every instance reports connected.
json() { python3 -c "import json,sys;print(json.load(sys.stdin)$1)"; }

pair_instances() {
  local count=$1 name=$2 k=(-sk --fail-with-body) it at created id token qr i
  it=$(json "['integratorToken']" <"$CREDS")
  at=$(json "['adminToken']" <"$CREDS")
  pairs=()
  for i in $(seq 1 "$count"); do
    created=$(curl "${k[@]}" -XPOST "$CP/instances/integrator/on-demand" -H "Authorization: Bearer $it" \
      -d "{\"name\":\"$name-$i\"}")
    id=$(json "['id']" <<<"$created"); token=$(json "['token']" <<<"$created")
    until qr=$(curl "${k[@]}" "$DP/instances/$id/token/$token/qr-code" 2>/dev/null); do sleep 0.05; done # visible to the data plane
    curl "${k[@]}" -XPOST "$DP/sim/scan" -H "Authorization: Bearer $at" \
      -d "{\"qr\":\"$(json "['value']" <<<"$qr")\",\"phone\":\"55219999$(printf %05d "$i")\"}" >/dev/null
    pairs+=("$id:$token")
  done
  wait_connected
}

# Returns once every instance in `pairs` reports connected (after a restart, say).
wait_connected() {
  local p
  for p in "${pairs[@]}"; do
    until curl -sk "$DP/instances/${p%%:*}/token/${p##*:}/status" | grep -q '"connected":true'; do sleep 0.05; done
  done
}
