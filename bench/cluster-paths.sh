#!/usr/bin/env bash
# bench/cluster-paths.sh: what distribution costs on this machine, in three measurements.
#
#   1. CAF's middleman ceiling: dccs-bench-caf between two processes on 127.0.0.1 — round trips (one at a time,
#      then 64 in flight) and one-way messages of 200 bytes and 4 KB.
#   2. Forwarding: 2 nodes, PATHS_DRONES drones (default 1000) x PATHS_RATE Hz (5) all connected to node 0, and
#      two observers on node 0 at once: one subscribed to the drones node 0 owns (socket, actor and hub on one
#      node), one to the drones node 1 owns (each frame goes to the actor on node 1, the state comes back in node
#      1's hub sync). Drone-to-operator latency p50 / p99 / max of each over PATHS_WINDOW seconds (default 20).
#      The owners are computed from GET /api/v1/cluster with the placement function (runtime/placement.cpp).
#   3. The price of distribution: PATHS_LOAD (default 5000x5) on 1 node, then the same fleet spread over 3 nodes
#      on the same cores. CPU per accepted frame = CPU of every node over the window / frames accepted by all;
#      with the cluster's traffic over the window (syncs, drone states in them, forwarded frames) against 1.
#
# Nodes store nothing (--db.enabled false): the paths between sockets, actors and hubs are what is measured.
# Appends to PATHS_REPORT (default bench/cluster-report.md); raw logs stay in the run folder it prints.
#
#   bench/cluster-paths.sh
#   PATHS_LOAD=2000x5 PATHS_WINDOW=10 bench/cluster-paths.sh
#   PATHS_BUILD_DIR=build-bench-node bench/cluster-paths.sh   # binaries from another build folder (default build)
set -uo pipefail # (no -e: stopping a process returns its signal status)
cd "$(dirname "$0")/.."
LOG_TAG=paths
source bench/lib.sh

DRONES=${PATHS_DRONES:-1000}
RATE=${PATHS_RATE:-5}
WINDOW=${PATHS_WINDOW:-20}
LOAD=${PATHS_LOAD:-5000x5}
REPORT=${PATHS_REPORT:-bench/cluster-report.md}
# dccs-bench-caf is not in the default build: built here (a no-op when it is current).
[[ -f ${PATHS_BUILD_DIR:-build}/build.ninja ]] && ninja -C "${PATHS_BUILD_DIR:-build}" dccs-bench-caf >/dev/null
BUILD=$(build_dir "${PATHS_BUILD_DIR:-build}" dccs sim/dccs-sim bench/dccs-bench-caf) || exit 1
command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"

RUN_DIR=$(mktemp -d /tmp/dccs-paths-bench.XXXXXX)
trap stop_all EXIT
TOKEN=$(run_token "$BUILD" paths-bench)
printf '%s\n' "$TOKEN" >"$RUN_DIR/token"
get() { curl -sf --max-time 15 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1$2"; } # port path
log "run folder: $RUN_DIR"

# -- 1. the middleman's ceiling ---------------------------------------------------------------------------------
CAF_PORT=$(free_port)
"$BUILD/bench/dccs-bench-caf" serve "$CAF_PORT" 2>"$RUN_DIR/caf-serve.log" &
CAF_PID=$!
PIDS+=("$CAF_PID")
sleep 0.5
caf_ping1=$("$BUILD/bench/dccs-bench-caf" ping "$CAF_PORT" 5 1)
caf_ping64=$("$BUILD/bench/dccs-bench-caf" ping "$CAF_PORT" 5 64)
caf_push200=$("$BUILD/bench/dccs-bench-caf" push "$CAF_PORT" 5 200)
caf_push4k=$("$BUILD/bench/dccs-bench-caf" push "$CAF_PORT" 5 4000)
stop_pid "$CAF_PID" 2
log "middleman: $caf_ping1 $caf_ping64 $caf_push200 $caf_push4k"
jf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; } # json key

# -- nodes --------------------------------------------------------------------------------------------------------
HTTP=() CPORT=() NODE_PID=()
start_nodes() { # count: a fresh cluster of `count` nodes (seeded by node 0), each waited for
  local n=$1 i k seeds
  HTTP=() CPORT=() NODE_PID=()
  for ((i = 0; i < n; i++)); do HTTP+=("$(free_port)"); CPORT+=("$(free_port)"); done
  for ((i = 0; i < n; i++)); do
    local args=(--http.port "${HTTP[$i]}" --db.enabled false --log.level warn --auth.keys_dir "$RUN_DIR/keys"
      --node.data_dir "$RUN_DIR/node$n-$i")
    if ((n > 1)); then
      seeds="" # every node started before it
      for ((k = 0; k < i; k++)); do seeds+="${seeds:+,}127.0.0.1:${CPORT[$k]}"; done
      args+=(--cluster.port "${CPORT[$i]}")
      [ -n "$seeds" ] && args+=(--cluster.seeds "$seeds")
    fi
    mkdir -p "$RUN_DIR/node$n-$i"
    "$BUILD/dccs" "${args[@]}" >>"$RUN_DIR/node$n-$i.log" 2>&1 &
    NODE_PID+=($!)
    PIDS+=($!)
    wait_ready "${NODE_PID[$i]}" "${HTTP[$i]}" 30 || die "node $i of $n did not start (log $RUN_DIR/node$n-$i.log)"
  done
  if ((n > 1)); then
    local deadline=$((SECONDS + 30))
    until all_met "$n"; do
      ((SECONDS < deadline)) || die "the $n nodes did not meet"
      sleep 0.2
    done
  fi
}
all_met() { # count -> 0 when every node sees `count` members
  local i
  for ((i = 0; i < $1; i++)); do
    [ "$(get "${HTTP[$i]}" /api/v1/cluster | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))' 2>/dev/null)" = "$1" ] || return 1
  done
}
stop_nodes() { local p; for p in "${NODE_PID[@]}"; do stop_pid "$p" 10; done; }
metric_sum() { # name: the metric summed over every node
  local i s=0 v
  for ((i = 0; i < ${#HTTP[@]}; i++)); do
    v=$(get "${HTTP[$i]}" /metrics | awk -v n="$1" '$1 == n { print $2 }')
    s=$(calc "%.0f" "$s + ${v:-0}")
  done
  echo "$s"
}
cpu_sum() { local p s=0; for p in "${NODE_PID[@]}"; do s=$((s + $(cpu_ticks "$p"))); done; echo "$s"; }

# -- 2. forwarding ------------------------------------------------------------------------------------------------
start_nodes 2
get "${HTTP[0]}" /api/v1/cluster >"$RUN_DIR/cluster.json"
python3 - "$RUN_DIR/cluster.json" "$DRONES" "$RUN_DIR" <<'PY'
import json, sys
# runtime/placement.cpp: FNV-1a 64 over kind, 0xFF, id, 0xFF, node; MurmurHash3 fmix64; highest weight wins.
M = (1 << 64) - 1
def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 1099511628211) & M
    return h
def fmix(k):
    k ^= k >> 33; k = (k * 0xff51afd7ed558ccd) & M; k ^= k >> 33; k = (k * 0xc4ceb9fe1a85ec53) & M; k ^= k >> 33
    return k
def owner(kind, ident, nodes):
    prefix = fnv(fnv(fnv(fnv(14695981039346656037, kind.encode()), b"\xff"), ident.encode()), b"\xff")
    return max(sorted(nodes), key=lambda n: (fmix(fnv(prefix, n.encode())), [-c for c in n.encode()]))
c = json.load(open(sys.argv[1]))
me = c["self"]
nodes = [m["id"] for m in c["members"]]
local, remote = [], []
for i in range(int(sys.argv[2])):
    ident = "sim-%05d" % i
    (local if owner("drone", ident, nodes) == me else remote).append(ident)
open(sys.argv[3] + "/local.ids", "w").write("\n".join(local) + "\n")
open(sys.argv[3] + "/remote.ids", "w").write("\n".join(remote) + "\n")
print(len(local), len(remote))
PY
mkdir -p "$RUN_DIR/fwd"
start_sim "$RUN_DIR/fwd" "$BUILD/sim/dccs-sim" --url "ws://127.0.0.1:${HTTP[0]}" --drones "$DRONES" --rate "$RATE" \
  --report-interval 60 --json
FLEET_SIM=$SIM_PID
wait_fleet "$FLEET_SIM" "$RUN_DIR/fwd/sim.log" 60 || die "the fleet did not connect (log $RUN_DIR/fwd/sim.log)"
# Every drone actor where placement says (the counts per node match the id files).
owned0=$(get "${HTTP[0]}" /metrics | awk '$1 == "dccs_drone_actors" { print $2 }')
sleep 3
for side in local remote; do
  mkdir -p "$RUN_DIR/fwd-$side"
  "$BUILD/sim/dccs-sim" --url "ws://127.0.0.1:${HTTP[0]}" --drones 0 --observe --observe-ids "$RUN_DIR/$side.ids" \
    --token-file "$RUN_DIR/token" --duration "$WINDOW" --report-interval 60 --json \
    >"$RUN_DIR/fwd-$side/sim.json" 2>"$RUN_DIR/fwd-$side/sim.log" &
  PIDS+=($!)
done
sleep "$WINDOW"
sleep 3
lat() { # side -> "p50 / p99 / max (samples)"
  local f="$RUN_DIR/fwd-$1/sim.json"
  echo "$(round 2 "$(json_get "$f" total_latency_p50_ms)") / $(round 2 "$(json_get "$f" total_latency_p99_ms)") / $(round 2 "$(json_get "$f" total_latency_max_ms)") ms ($(json_get "$f" total_latency_samples) samples, $(json_get "$f" drones_seen) drones)"
}
lat_local=$(lat local)
lat_remote=$(lat remote)
n_local=$(grep -c . "$RUN_DIR/local.ids")
n_remote=$(grep -c . "$RUN_DIR/remote.ids")
log "forwarding: owner node $lat_local; other node $lat_remote (node 0 runs $owned0 actors, placement says $n_local)"
stop_pid "$FLEET_SIM" 20
stop_nodes

# -- 3. 1 node vs 3 nodes -----------------------------------------------------------------------------------------
load_drones=${LOAD%x*}
load_rate=${LOAD#*x}
declare -A CPU_US TRAFFIC
for n in 1 3; do
  start_nodes "$n"
  urls=""
  for ((i = 0; i < n; i++)); do urls+="${urls:+,}ws://127.0.0.1:${HTTP[$i]}"; done
  mkdir -p "$RUN_DIR/load$n"
  start_sim "$RUN_DIR/load$n" "$BUILD/sim/dccs-sim" --url "$urls" --drones "$load_drones" --rate "$load_rate" \
    --report-interval 60 --json
  wait_fleet "$SIM_PID" "$RUN_DIR/load$n/sim.log" 120 || die "the fleet did not connect to $n node(s)"
  sleep 5
  f0=$(metric_sum dccs_frames_accepted_total) c0=$(cpu_sum) t0=$(now)
  b0=$(metric_sum dccs_cluster_replica_batches_sent_total) s0=$(metric_sum dccs_cluster_replica_states_received_total)
  w0=$(metric_sum dccs_drone_frames_forwarded_total) busy0=$(machine_busy)
  sleep "$WINDOW"
  f1=$(metric_sum dccs_frames_accepted_total) c1=$(cpu_sum) t1=$(now)
  b1=$(metric_sum dccs_cluster_replica_batches_sent_total) s1=$(metric_sum dccs_cluster_replica_states_received_total)
  w1=$(metric_sum dccs_drone_frames_forwarded_total) busy1=$(machine_busy)
  dt=$(calc "%.3f" "$t1 - $t0")
  frames=$((f1 - f0))
  CPU_US[$n]=$(calc "%.2f" "($c1 - $c0) / $CLK_TCK * 1000000 / ($frames > 0 ? $frames : 1)")
  TRAFFIC[$n]="$(calc "%.0f" "$frames / $dt") frames/s accepted, node CPU $(calc "%.0f" "($c1 - $c0) / $CLK_TCK / $dt * 100") %, machine busy $(calc "%.0f" "($busy1 - $busy0) / $CLK_TCK / $dt / $(nproc) * 100") %"
  if ((n > 1)); then
    TRAFFIC[$n]+="; syncs $(calc "%.0f" "($b1 - $b0) / $dt")/s, drone states in them $(calc "%.0f" "($s1 - $s0) / $dt")/s, frames forwarded $(calc "%.0f" "($w1 - $w0) / $dt")/s"
  fi
  log "$n node(s): ${CPU_US[$n]} µs CPU per frame; ${TRAFFIC[$n]}"
  stop_pid "$SIM_PID" 20
  stop_nodes
done

{
  echo
  echo "## Cluster paths — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
  echo
  echo "Command: \`bench/cluster-paths.sh\` (PATHS_DRONES=$DRONES PATHS_RATE=$RATE PATHS_WINDOW=$WINDOW PATHS_LOAD=$LOAD), build \`${BUILD#$PWD/}\`, nodes without storage."
  echo
  echo "| measurement | figure |"
  echo "|---|---|"
  echo "| CAF middleman, 1 round trip at a time | $(jf "$caf_ping1" round_trips_per_s)/s, p50 $(jf "$caf_ping1" rtt_p50_us) µs, p99 $(jf "$caf_ping1" rtt_p99_us) µs |"
  echo "| CAF middleman, 64 round trips in flight | $(jf "$caf_ping64" round_trips_per_s)/s |"
  echo "| CAF middleman, one-way 200 B messages | $(jf "$caf_push200" messages_per_s)/s |"
  echo "| CAF middleman, one-way 4 KB messages | $(jf "$caf_push4k" messages_per_s)/s ($(jf "$caf_push4k" mbytes_per_s) MB/s) |"
  echo "| drone-to-operator, drone owned by the socket's node ($n_local drones) | $lat_local |"
  echo "| drone-to-operator, drone owned by the other node ($n_remote drones) | $lat_remote |"
  echo "| $LOAD on 1 node: CPU per accepted frame | ${CPU_US[1]} µs (${TRAFFIC[1]}) |"
  echo "| $LOAD on 3 nodes, same cores: CPU per accepted frame | ${CPU_US[3]} µs (${TRAFFIC[3]}) |"
} >>"$REPORT"
log "appended to $REPORT"
