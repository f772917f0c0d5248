#!/usr/bin/env bash
# Installs what is missing, builds, starts a DCCS node and a simulated fleet of 50 drones, and prints the
# URLs to open. Ctrl-C stops everything. Options: DCCS_PORT (default 8080), DEMO_DRONES (50), DEMO_RATE (5 Hz).
# `./run-demo.sh --nodes 3`: a cluster of 3 nodes on this machine (HTTP ports DCCS_PORT, DCCS_PORT+1, ...;
# cluster ports from DEMO_CLUSTER_PORT, default the first free from 7400), one PostgreSQL, one Redis, the fleet
# spread over all of them (docs/cluster.md).
#
# Databases: when neither DCCS_DB_URL nor DCCS_REDIS_URL is set, it starts a project-local PostgreSQL 15 and
# Redis, with their data under var/ (git-ignored: var/postgres, var/redis), kept between runs, listening on
# 127.0.0.1 only (ports DEMO_PG_PORT, default the first free from 55432, and DEMO_REDIS_PORT, the first free
# from 56379), and stops both on exit. When DCCS_DB_URL or DCCS_REDIS_URL is set, the node uses what is set
# and the script starts no database.
set -euo pipefail
cd "$(dirname "$0")"
nodes=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="${2:-}"; shift 2 || { echo "--nodes needs a number" >&2; exit 2; } ;;
    --nodes=*) nodes="${1#--nodes=}"; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$nodes" in ''|*[!0-9]*) echo "--nodes needs a number from 1 to 9" >&2; exit 2 ;; esac
[ "$nodes" -ge 1 ] && [ "$nodes" -le 9 ] || { echo "--nodes needs a number from 1 to 9" >&2; exit 2; }
port="${DCCS_PORT:-8080}"
drones="${DEMO_DRONES:-50}"
rate="${DEMO_RATE:-5}"
bash deploy/install-deps.sh
bash deploy/build.sh

pg_bin=/usr/lib/postgresql/15/bin
var_dir="$PWD/var"
pg_data="$var_dir/postgres"
pg_log="$var_dir/postgres.log"
redis_data="$var_dir/redis"
pg_user=dccs # the cluster's superuser, and the user the node connects as

node_pids=()
node_logs=()
sim_pid=""
redis_pid=""
pg_started=""
# As root, the cluster belongs to and runs as the `postgres` system user (initdb and postgres refuse root).
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)

cleanup() {
  trap - EXIT INT TERM
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$sim_pid" ] && wait "$sim_pid" 2>/dev/null || true
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true # SIGTERM: Redis saves its snapshot and exits
    wait "$redis_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_started" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop > /dev/null 2>&1 || true
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
# The first free port from $1 on.
first_free_port() {
  local p="$1"
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

start_postgres() {
  local pg_port="$1"
  mkdir -p "$pg_data"
  touch "$pg_log"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$pg_data" "$pg_log"
    if ! runuser -u postgres -- test -w "$pg_data"; then
      echo "the postgres user cannot reach $pg_data (is a parent folder closed to other users?);" \
        "move the repository or set DCCS_DB_URL and DCCS_REDIS_URL" >&2
      exit 1
    fi
  fi
  chmod 700 "$pg_data"
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    echo "Creating a PostgreSQL 15 cluster in $pg_data"
    # Authentication `trust`: this is a local demo cluster that listens on 127.0.0.1 only (no unix socket),
    # so only processes on this machine reach it; no password exists anywhere. Never expose it.
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U "$pg_user" --auth=trust -E UTF8 --no-locale > "$var_dir/initdb.log"
  fi
  pg_started=yes
  if ! "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=''" start > /dev/null; then
    echo "PostgreSQL did not start (is port $pg_port free? set DEMO_PG_PORT); the end of $pg_log:" >&2
    tail -n 20 "$pg_log" >&2
    exit 1
  fi
  local psql=("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -X -q -v ON_ERROR_STOP=1)
  if [ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'dccs'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE dccs"
  fi
}

# A server on our cluster left over from a run that was killed hard: stop it, so that it frees its port.
stop_leftover_postgres() {
  if [ -f "$pg_data/postmaster.pid" ] && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" status > /dev/null 2>&1; then
    echo "Stopping a PostgreSQL left running on $pg_data by an earlier run"
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop > /dev/null
  fi
}

start_redis() {
  local redis_port="$1"
  mkdir -p "$redis_data"
  # Snapshots in var/redis: every 60 s when something changed, and at shutdown.
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_data" --save "60 1" --appendonly no \
    --daemonize no --logfile "$redis_data/redis.log" &
  redis_pid=$!
  local deadline=$((SECONDS + 20))
  until [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2> /dev/null)" = "PONG" ] &&
    redis-cli -h 127.0.0.1 -p "$redis_port" info server 2> /dev/null | tr -d '\r' | grep -qx "process_id:$redis_pid"; do
    if ! kill -0 "$redis_pid" 2> /dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "Redis did not start (is port $redis_port free? set DEMO_REDIS_PORT); the end of its log:" >&2
      tail -n 20 "$redis_data/redis.log" >&2 || true
      exit 1
    fi
    sleep 0.05
  done
}

node_args=(--http.port "$port" --http.static_dir web/dist)
data_msg=""
if [ -z "${DCCS_DB_URL:-}" ] && [ -z "${DCCS_REDIS_URL:-}" ]; then
  stop_leftover_postgres
  pg_port="${DEMO_PG_PORT:-$(first_free_port 55432)}"
  redis_port="${DEMO_REDIS_PORT:-$(first_free_port 56379)}"
  mkdir -p "$var_dir"
  start_postgres "$pg_port"
  start_redis "$redis_port"
  db_url="host=127.0.0.1 port=$pg_port dbname=dccs user=$pg_user"
  redis_url="redis://127.0.0.1:$redis_port"
  node_args+=(--db.url "$db_url" --redis.url "$redis_url")
  data_msg="  PostgreSQL:  $db_url   (psql \"$db_url\")
               data in $pg_data, log in $pg_log
  Redis:       $redis_url   (redis-cli -u $redis_url)
               data in $redis_data
  Both are kept between runs and stopped with the node; delete $var_dir to start afresh."
else
  # The node reads DCCS_DB_URL and DCCS_REDIS_URL itself.
  data_msg="  PostgreSQL:  ${DCCS_DB_URL:-(DCCS_DB_URL not set: the libpq defaults)}
  Redis:       ${DCCS_REDIS_URL:-(DCCS_REDIS_URL not set: no Redis)}
  (set by you: this script started no database)"
fi

# The first admin's password: random, made once, kept in var/ (mode 0600) for the demo's later runs. The node
# uses it only when its user table is empty (there is no default password).
mkdir -p "$var_dir"
admin_file="$var_dir/admin-password"
if [ ! -s "$admin_file" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$admin_file")
fi
login_msg="  Log in:      user admin, password $(cat "$admin_file")   (kept in $admin_file)
  REST:        token=\$(curl -s -X POST http://127.0.0.1:$port/api/v1/auth/login \\
                 -d \"{\\\"name\\\":\\\"admin\\\",\\\"password\\\":\\\"\$(cat $admin_file)\\\"}\" | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')
               curl -s -H \"Authorization: Bearer \$token\" http://127.0.0.1:$port/api/v1/drones
               (tokens verify with http://127.0.0.1:$port/.well-known/jwks.json)"

# Starts node $1 (0-based) with the extra arguments that follow, and waits until it is ready.
start_node() {
  local i="$1"
  shift
  local p=$((port + i))
  local log="$var_dir/node-$((i + 1)).log"
  # The node's log goes to a file: on the terminal it would push the login and URLs below off the screen.
  DCCS_ADMIN_PASSWORD="$(cat "$admin_file")" ./build/dccs "${node_args[@]}" --http.port "$p" "$@" > "$log" 2>&1 &
  node_pids+=($!)
  node_logs+=("$log")
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$p/readyz" > /dev/null 2>&1 && return 0
    if ! kill -0 "${node_pids[$i]}" 2>/dev/null; then
      echo "node $((i + 1)) did not start (is port $p free? set DCCS_PORT); the end of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

urls="ws://127.0.0.1:$port"
cluster_msg=""
if [ "$nodes" -eq 1 ]; then
  start_node 0
else
  # One cluster: the nodes share the signing keys (var/keys), PostgreSQL and Redis (the membership board);
  # each seeds the first node's cluster port. Cluster ports listen on 127.0.0.1 only.
  cport="${DEMO_CLUSTER_PORT:-$(first_free_port 7400)}"
  for i in $(seq 0 $((nodes - 1))); do
    cp_i=$(first_free_port $((cport + i)))
    start_node "$i" --node.data_dir "$var_dir/node-$((i + 1))" --auth.keys_dir "$var_dir/keys" \
      --cluster.port "$cp_i" --cluster.seeds "127.0.0.1:$cport"
    [ "$i" -gt 0 ] && urls="$urls,ws://127.0.0.1:$((port + i))"
  done
  cluster_msg="  Cluster:     $nodes nodes, dashboards http://127.0.0.1:$port/ ... http://127.0.0.1:$((port + nodes - 1))/
               members: curl -s -H \"Authorization: Bearer \$token\" http://127.0.0.1:$port/api/v1/cluster
               node pids: ${node_pids[*]}  (try: kill -9 ${node_pids[$((nodes - 1))]}, and watch every drone stay live)"
fi
./build/sim/dccs-sim --url "$urls" --drones "$drones" --rate "$rate" --report-interval 30 > "$var_dir/sim.log" 2>&1 &
sim_pid=$!

cat <<MSG

DCCS is running with $drones simulated drones at $rate Hz (node log: ${node_logs[*]}; simulator log: $var_dir/sim.log).
  Dashboard:   http://127.0.0.1:$port/
$cluster_msg
$login_msg
  Health:      http://127.0.0.1:$port/healthz   http://127.0.0.1:$port/readyz
$data_msg
Press Ctrl-C to stop.

MSG
wait "${node_pids[0]}"
