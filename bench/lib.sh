# shellcheck shell=bash disable=SC2034  # the globals set here are read by the sourcing script
# bench/lib.sh: shell helpers shared by bench/run.sh and bench/persist.sh (sourced, not run).
#
# The sourcing script sets LOG_TAG (the prefix of its log lines) and RUN_DIR, keeps the processes it starts in
# PIDS, and calls stop_all from its EXIT trap: it stops those processes and the throwaway PostgreSQL and Redis
# started with pg_start / redis_start. Everything listens on 127.0.0.1 or a unix socket only.

LOG_TAG=${LOG_TAG:-bench}
CLK_TCK=$(getconf CLK_TCK)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------------------------------------
# Processes

PIDS=()    # processes of the current measurement, stopped by stop_all
SIM_PID="" # the last simulator start_sim started
STOP_RC=0  # exit status of the last process stop_pid stopped
PGDIR=""   # throwaway PostgreSQL (pg_start)
PM_PID=""  # its postmaster
REDIS_DIR="" REDIS_PID="" REDIS_PORT="" # throwaway Redis (redis_start)

stop_pid() { # pid [grace seconds]
  local pid=$1 grace=${2:-10} i
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    STOP_RC=$?
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop in ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  STOP_RC=$?
  return 0
}

stop_all() { # the measurement's processes, then Redis and PostgreSQL
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
  PIDS=()
  redis_stop
  pg_stop
}

# ------------------------------------------------------------------------------------------------
# Measuring

http_get() { # port path [timeout s] -> body on stdout, non-zero unless 200
  local limit=${3:-3}
  if command -v curl >/dev/null 2>&1; then
    curl -sf --max-time "$limit" "http://127.0.0.1:$1$2"
  else
    local resp
    resp=$(timeout "$limit" bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "'"$2"'" >&3 && cat <&3') || return 1
    [[ $resp == HTTP/1.?\ 200* ]] || return 1
    printf '%s' "${resp#*$'\r\n\r\n'}"
  fi
}
# A saturated server may answer slowly: allow 15 s rather than lose the figure.
scrape() { http_get "$1" /metrics 15 >"$2" || : >"$2"; } # port file: /metrics, empty file on failure
metric() { # file name -> value (sum over labels), empty if absent
  awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF; k++ } END { if (k) printf "%.0f", s }' "$1" 2>/dev/null
}

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; } # utime + stime, all threads
pg_ticks() { # postmaster pid -> utime+stime of the postmaster, its reaped children and its live children
  awk -v pm="$1" '{ sub(/^[0-9]+ \(.*\) /, ""); pid = FILENAME; sub(/^\/proc\//, "", pid); sub(/\/stat$/, "", pid)
      if (pid == pm) s += $12 + $13 + $14 + $15; else if ($2 == pm) s += $12 + $13 } END { print s + 0 }' \
    /proc/[0-9]*/stat 2>/dev/null
}
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # user nice system irq softirq steal
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; } # format expression
round() { [[ $2 =~ ^-?[0-9.]+$ ]] && calc "%.${1}f" "$2"; return 0; } # decimals value (empty stays empty)
json_get() { # file key -> value (numbers, true/false, null)
  grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -1 | cut -d: -f2- | tr -d '"'
}

build_dir() { # dir binaries... -> the build folder as an absolute path; dies naming a binary it lacks
  local dir=$1 b
  shift
  case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
  for b in "$@"; do
    [ -x "$dir/$b" ] || die "build $dir/$b first"
  done
  echo "$dir"
}

run_token() { # build subject -> an admin access token signed with a key made for this run ($RUN_DIR/keys)
  mkdir -p "$RUN_DIR/keys"
  "$1/dccs" keys generate --auth.keys_dir "$RUN_DIR/keys" >/dev/null 2>&1
  "$1/dccs" keys token "$2" admin --auth.keys_dir "$RUN_DIR/keys" 2>/dev/null | tail -1
}

free_port() { # a port nobody listens on, below the ephemeral range used by the simulator's sockets
  local lo p i
  lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for ((i = 0; i < 500; i++)); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

wait_ready() { # pid port seconds -> 0 once GET /readyz answers 200
  local pid=$1 port=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    http_get "$port" /readyz >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

start_sim() { # dir command...: the load generator in the background (dir/sim.cmd, sim.json, sim.log); sets SIM_PID
  local dir=$1
  shift
  echo "$*" >"$dir/sim.cmd"
  "$@" >"$dir/sim.json" 2>"$dir/sim.log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
}

wait_fleet() { # sim-pid sim-log seconds -> 0 once "fleet connected" is printed
  local pid=$1 logf=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    grep -q "fleet connected" "$logf" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------------------------------------------
# Throwaway PostgreSQL 15: initdb + pg_ctl in a temporary folder (as the postgres user when run as root), unix
# socket only, default settings plus extra lines. Not pg_virtualenv: as root it creates the cluster 15/regress
# under /etc/postgresql and refuses to run while run-tests.sh has one.

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; } # psql, quiet, unaligned

pg_start() { # [extra postgresql.conf lines, ";"-separated]: exports PGHOST PGPORT PGUSER; sets PM_PID PG_VERSION
  local extra_conf=${1:-} port l extra
  [[ -x $PGBIN/initdb ]] || die "PostgreSQL 15 not found in $PGBIN (set PGBIN)"
  PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/dccs-$LOG_TAG-pg.XXXXXX") || die "cannot create a folder for PostgreSQL"
  chmod 755 "$PGDIR"
  [[ $(id -u) == 0 ]] && chown postgres:postgres "$PGDIR"
  port=$(free_port) || die "no free port for PostgreSQL"
  as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale C >"$RUN_DIR/initdb.log" 2>&1 ||
    { tail -20 "$RUN_DIR/initdb.log" >&2; die "initdb failed"; }
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$PGDIR'"
    echo "port = $port"
    IFS=';' read -ra extra <<<"$extra_conf"
    for l in "${extra[@]}"; do [[ -n ${l// /} ]] && echo "$l"; done
  } >>"$PGDIR/data/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start >"$RUN_DIR/pg_ctl.log" 2>&1 ||
    { cat "$PGDIR/server.log" >&2; die "PostgreSQL did not start"; }
  export PGHOST=$PGDIR PGPORT=$port PGUSER=postgres
  unset PGPASSWORD PGDATABASE PGSERVICE
  PM_PID=$(head -1 "$PGDIR/data/postmaster.pid")
  PG_VERSION=$(q -d postgres -c "SHOW server_version")
}

pg_stop() {
  if [[ -n $PGDIR && -d $PGDIR ]]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PGDIR"
  fi
  PGDIR=""
}

pg_url() { echo "host=$PGHOST port=$PGPORT user=postgres dbname=$1"; } # database -> libpq connection string

# ------------------------------------------------------------------------------------------------
# Throwaway Redis: redis-server on a free port of 127.0.0.1, no persistence, its folder deleted at the end.

redis_start() { # sets REDIS_PID REDIS_PORT
  local port try deadline
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found (apt-get install redis-server)"
  REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dccs-$LOG_TAG-redis.XXXXXX") || die "cannot create a folder for Redis"
  for try in 1 2 3 4 5; do # a port may be taken between the check and the bind: try another
    port=$(free_port) || die "no free port for Redis"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' --appendonly no \
      --daemonize no --logfile "$REDIS_DIR/redis.log" &
    REDIS_PID=$!
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && kill -0 "$REDIS_PID" 2>/dev/null; do
      # Ours, not some other server that took the port meanwhile.
      if redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$REDIS_PID"; then
        REDIS_PORT=$port
        return 0
      fi
      sleep 0.05
    done
    stop_pid "$REDIS_PID" 5
    REDIS_PID=""
  done
  cat "$REDIS_DIR/redis.log" >&2
  die "Redis did not start (try $try)"
}

redis_stop() {
  [[ -n $REDIS_PID ]] && stop_pid "$REDIS_PID" 5
  REDIS_PID=""
  [[ -n $REDIS_DIR && -d $REDIS_DIR ]] && rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}

redis_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
