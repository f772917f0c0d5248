#!/usr/bin/env bash
# bench/cluster.sh: failover of a DCCS cluster on this machine.
#
# Starts CLUSTER_NODES nodes (default 3; storing nothing: --db.enabled false, found through seeds), a simulated
# fleet spread over all of them (CLUSTER_DRONES drones at CLUSTER_RATE Hz, default 600 x 5), then CLUSTER_KILLS
# times (default 10): kill -9 one node (in turn), and measures on a survivor, by polling its REST API every 20 ms:
#   - detection: from the kill to the survivor's membership without the node (GET /api/v1/cluster);
#   - live again: from the kill to 99 % and to 100 % of the fleet connected with telemetry received after the kill
#     (GET /api/v1/drones: `connected`, `recv`, the node's clock, the same machine's);
# then restarts the node (same ports: a join, a quarter or a third of the drones move back by handoff) and waits
# until the whole fleet is live on every node. Prints every round and p50 / p99 / max; appends to
# CLUSTER_REPORT (default bench/cluster-report.md).
#
#   bench/cluster.sh                                  # defaults
#   CLUSTER_KILLS=20 CLUSTER_DRONES=1500 bench/cluster.sh
#   CLUSTER_BUILD_DIR=build-bench-node bench/cluster.sh  # binaries from another build folder (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=cluster
source bench/lib.sh

NODES=${CLUSTER_NODES:-3}
DRONES=${CLUSTER_DRONES:-600}
RATE=${CLUSTER_RATE:-5}
KILLS=${CLUSTER_KILLS:-10}
HEARTBEAT=${CLUSTER_HEARTBEAT_MS:-500}
TIMEOUT=${CLUSTER_TIMEOUT_MS:-3000}
REPORT=${CLUSTER_REPORT:-bench/cluster-report.md}
BUILD=$(build_dir "${CLUSTER_BUILD_DIR:-build}" dccs sim/dccs-sim) || exit 1
command -v python3 >/dev/null || die "python3 is needed for the measuring loop"

RUN_DIR=$(mktemp -d /tmp/dccs-cluster-bench.XXXXXX)
NODE_PIDS=()
cleanup() {
  for p in "${NODE_PIDS[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  stop_all
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=() CPORT=()
for ((i = 0; i < NODES; i++)); do HTTP+=("$(free_port)"); CPORT+=("$(free_port)"); done
TOKEN=$(run_token "$BUILD" cluster-bench)

start_node() { # index
  local i=$1
  mkdir -p "$RUN_DIR/node$i"
  "$BUILD/dccs" --http.port "${HTTP[$i]}" --cluster.port "${CPORT[$i]}" --cluster.seeds "127.0.0.1:${CPORT[0]},127.0.0.1:${CPORT[1]}" \
    --cluster.heartbeat_ms "$HEARTBEAT" --cluster.timeout_ms "$TIMEOUT" --db.enabled false --log.level warn \
    --auth.keys_dir "$RUN_DIR/keys" --node.data_dir "$RUN_DIR/node$i" >>"$RUN_DIR/node$i.log" 2>&1 &
  NODE_PIDS[$i]=$!
}

# python3 helper: waits for a condition on the nodes, or measures one kill (see the header).
measure() {
  python3 - "$@" <<'PY'
import json, sys, time, urllib.parse, urllib.request
mode, token, drones = sys.argv[1], sys.argv[2], int(sys.argv[3])
ports = [int(p) for p in sys.argv[4].split(",")]
def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=2) as r:
        return json.load(r)
def members(port):
    try: return len(get(port, "/api/v1/cluster")["members"])
    except Exception: return -1
def fresh(port, since):  # every page of GET /api/v1/drones
    count, after = 0, ""
    try:
        while True:
            page = get(port, "/api/v1/drones?limit=1000" + ("&cursor=" + urllib.parse.quote(after) if after else ""))
            count += sum(1 for d in page["drones"] if d.get("connected") and d.get("recv", 0) > since)
            after = page.get("next_cursor") or ""
            if not after: return count
    except Exception:
        return count
if mode == "ready":  # every node sees every member and the whole fleet live
    deadline = time.time() + 120
    while time.time() < deadline:
        now = time.time() * 1000 - 1000
        if all(members(p) == len(ports) for p in ports) and all(fresh(p, now) == drones for p in ports):
            sys.exit(0)
        time.sleep(0.2)
    sys.exit(1)
# mode "kill": argv[5] = the pid to kill; measured on the first port
pid = int(sys.argv[5]); survivor = ports[0]; n_after = len(ports)
import os, signal
t0 = time.time(); os.kill(pid, signal.SIGKILL)
since = t0 * 1000
detect = p99 = p100 = None
while time.time() - t0 < 60 and p100 is None:
    # (each time is taken when the answer is in: an upper bound by one poll)
    if detect is None and members(survivor) == n_after: detect = time.time() - t0
    f = fresh(survivor, since)
    t = time.time() - t0
    if p99 is None and f >= 0.99 * drones: p99 = t
    if f == drones: p100 = t
    time.sleep(0.02)
print(json.dumps({"detect_s": detect, "live99_s": p99, "live100_s": p100}))
PY
}

log "run folder: $RUN_DIR; $NODES nodes, $DRONES drones x $RATE Hz, heartbeat $HEARTBEAT ms, timeout $TIMEOUT ms"
for ((i = 0; i < NODES; i++)); do start_node "$i"; done
urls=""
for ((i = 0; i < NODES; i++)); do urls+="${urls:+,}ws://127.0.0.1:${HTTP[$i]}"; done
"$BUILD/sim/dccs-sim" --url "$urls" --drones "$DRONES" --rate "$RATE" --report-interval 60 >"$RUN_DIR/sim.log" 2>&1 &
PIDS+=($!)
all_ports=$(IFS=,; echo "${HTTP[*]}")
measure ready "$TOKEN" "$DRONES" "$all_ports" || die "the cluster did not get ready (logs in $RUN_DIR)"
results=()
for ((k = 0; k < KILLS; k++)); do
  victim=$((1 + k % (NODES - 1))) # never node 0, the one measured on
  others=${HTTP[0]}
  for ((i = 1; i < NODES; i++)); do [ "$i" -ne "$victim" ] && others+=",${HTTP[$i]}"; done
  r=$(measure kill "$TOKEN" "$DRONES" "$others" "${NODE_PIDS[$victim]}")
  wait "${NODE_PIDS[$victim]}" 2>/dev/null || true
  log "kill $((k + 1))/$KILLS (node $victim): $r"
  results+=("$r")
  start_node "$victim"
  measure ready "$TOKEN" "$DRONES" "$all_ports" || die "the cluster did not recover after kill $((k + 1))"
done

summary=$(printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def pct(vals, q):
    vals = sorted(v for v in vals if v is not None)
    if not vals: return "n/a"
    i = min(len(vals) - 1, int(round(q * (len(vals) - 1))))
    return "%.2f" % vals[i]
for key, name in (("detect_s", "detection"), ("live99_s", "99 % live again"), ("live100_s", "100 % live again")):
    vals = [r[key] for r in rows]
    missing = sum(1 for v in vals if v is None)
    print("| %s | %s | %s | %s |%s" % (name, pct(vals, .5), pct(vals, .99), pct(vals, 1.0),
          "" if not missing else " %d rounds never reached it |" % missing))
')
{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`CLUSTER_NODES=$NODES CLUSTER_DRONES=$DRONES CLUSTER_RATE=$RATE CLUSTER_KILLS=$KILLS" \
    "CLUSTER_HEARTBEAT_MS=$HEARTBEAT CLUSTER_TIMEOUT_MS=$TIMEOUT CLUSTER_BUILD_DIR=$(basename "$BUILD") bench/cluster.sh\`;" \
    "$(nproc) CPUs, simulator on the same machine. Seconds from kill -9 (measured on a survivor's REST API, 20 ms polls):"
  echo
  echo "| | p50 | p99 | max |"
  echo "|---|---|---|---|"
  echo "$summary"
} | tee -a "$REPORT"
