#!/usr/bin/env bash
# Installs what is missing, builds, starts a DCCS node and a simulated fleet of 50 drones, and prints the
# URLs to open. Ctrl-C stops both. Options: DCCS_PORT (default 8080), DEMO_DRONES (50), DEMO_RATE (5 Hz).
set -euo pipefail
cd "$(dirname "$0")"
port="${DCCS_PORT:-8080}"
drones="${DEMO_DRONES:-50}"
rate="${DEMO_RATE:-5}"
bash deploy/install-deps.sh
bash deploy/build.sh

node_pid=""
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

./build/dccs --http.port "$port" --http.static_dir web &
node_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || { echo "the node did not start (is port $port free? set DCCS_PORT)"; exit 1; }
  sleep 0.1
done
./build/sim/dccs-sim --url "ws://127.0.0.1:$port" --drones "$drones" --rate "$rate" --report-interval 30 &
sim_pid=$!

cat <<MSG

DCCS is running with $drones simulated drones at $rate Hz.
  Dashboard:   http://127.0.0.1:$port/
  Drones:      http://127.0.0.1:$port/api/v1/drones
  Health:      http://127.0.0.1:$port/healthz   http://127.0.0.1:$port/readyz
  Metrics:     http://127.0.0.1:$port/metrics
Press Ctrl-C to stop.

MSG
wait "$node_pid"
