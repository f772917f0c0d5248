#!/usr/bin/env bash
# bench/persist.sh: persisted-ingest benchmark. Starts a throwaway PostgreSQL 15 (initdb + pg_ctl in a temporary
# folder), a node writing telemetry to it, and dccs-sim at sustained loads; measures the rows committed per second,
# receive-to-commit latency (from the node's histogram), drops, node and PostgreSQL CPU; then measures the
# database alone on the same rows (plain COPY, the node's two-step COPY + INSERT ... ON CONFLICT, variants) and
# appends a section to bench/persist-report.md. See bench/README.md ("Persisted ingest").
#
# Options (environment variables):
#   PERSIST_LOADS="2000x10 5000x10 10000x10:2"  best-effort loads, DRONESxHZ[:SIM_THREADS]
#   PERSIST_ACK_LOADS="2000x10"  loads run with dccs-sim --ack (acknowledged telemetry); "" = none
#   PERSIST_DURATION=180         measured window per load, seconds (20 for a smoke run)
#   PERSIST_SETTLE=5             seconds between "fleet connected" and the window
#   PERSIST_CEILING=1            1: after each load, time the database alone on the committed rows
#   PERSIST_CEILING_ROWS=500000  at most this many rows for the ceiling measurements
#   PERSIST_NODE_ARGS=""         extra node flags, e.g. "--telemetry.batch_rows 20000"
#   PERSIST_PG_CONF=""           extra postgresql.conf lines, ";"-separated, e.g. "synchronous_commit=off"
#   PERSIST_BUILD=1              0: use the binaries as they are
#   BENCH_BUILD_DIR=build-bench  build directory (Release); only dccs and dccs-sim are built
#   BENCH_CONNECT_TIMEOUT=120    seconds allowed for the fleet to connect
#   BENCH_SEED=1                 dccs-sim --seed
#   PERSIST_REPORT=bench/persist-report.md   the section is appended (the file is created if missing)
#   PERSIST_KEEP_DUMPS=0         1: keep the exported row files of the ceiling measurements
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

INVOCATION="bench/persist.sh"
for v in $(compgen -v PERSIST_ | sort -r) $(compgen -v BENCH_ | sort -r); do INVOCATION="$v=\"${!v}\" $INVOCATION"; done

PERSIST_LOADS=${PERSIST_LOADS-"2000x10 5000x10 10000x10:2"}
PERSIST_ACK_LOADS=${PERSIST_ACK_LOADS-"2000x10"}
PERSIST_DURATION=${PERSIST_DURATION:-180}
PERSIST_SETTLE=${PERSIST_SETTLE:-5}
PERSIST_CEILING=${PERSIST_CEILING:-1}
PERSIST_CEILING_ROWS=${PERSIST_CEILING_ROWS:-500000}
PERSIST_NODE_ARGS=${PERSIST_NODE_ARGS:-}
PERSIST_PG_CONF=${PERSIST_PG_CONF:-}
PERSIST_BUILD=${PERSIST_BUILD:-1}
PERSIST_REPORT=${PERSIST_REPORT:-bench/persist-report.md}
PERSIST_KEEP_DUMPS=${PERSIST_KEEP_DUMPS:-0}
BENCH_BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
BENCH_CONNECT_TIMEOUT=${BENCH_CONNECT_TIMEOUT:-120}
BENCH_SEED=${BENCH_SEED:-1}

BUILD=$BENCH_BUILD_DIR
NODE_BIN=$BUILD/dccs
SIM_BIN=$BUILD/sim/dccs-sim
case "$BUILD" in /*) BUILD_ABS=$BUILD ;; *) BUILD_ABS=$ROOT/$BUILD ;; esac # an absolute build folder stays as it is
RUN_DIR=$BUILD_ABS/bench-runs/persist-$(date -u +%Y%m%d-%H%M%S)
RESULTS=$RUN_DIR/results.tsv
BATCH_ROWS=5000 # the node's telemetry.batch_rows (its default unless PERSIST_NODE_ARGS sets it)
[[ $PERSIST_NODE_ARGS =~ telemetry.batch_rows[=\ ]+([0-9]+) ]] && BATCH_ROWS=${BASH_REMATCH[1]}

LOG_TAG=persist
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# ------------------------------------------------------------------------------------------------
# Processes we start are stopped on exit, whatever happens; so is the throwaway cluster.
cleanup() {
  stop_all
  [[ $PERSIST_KEEP_DUMPS == 1 ]] || rm -f "$RUN_DIR"/*/rows.txt "$RUN_DIR"/*/staging.txt "$RUN_DIR"/*/chunk-* 2>/dev/null
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
# Helpers (the rest in bench/lib.sh)

# Quantile from the difference of two scrapes of a Prometheus histogram: "upper-bound interpolated".
# The result is only as fine as the buckets: the upper bound is the bucket's le, the second figure a linear
# interpolation inside the bucket.
hist_quantile() { # file0 file1 name q
  awk -v n="$3_bucket" -v q="$4" '
    FNR == 1 { f++ }
    index($1, n "{le=\"") == 1 { le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (f == 1) a[le] = $NF; else { b[le] = $NF; order[++k] = le } }
    END { total = b["+Inf"] - a["+Inf"]; if (total <= 0) { print "n/a n/a"; exit }
      t = q * total; prevc = 0; prevle = 0
      for (i = 1; i <= k; i++) { le = order[i]; c = b[le] - a[le]
        if (c >= t) { if (le == "+Inf") { printf ">%s >%s\n", prevle, prevle; exit }
          v = (c > prevc) ? prevle + (le - prevle) * (t - prevc) / (c - prevc) : le
          printf "%s %.1f\n", le, v; exit }
        prevc = c; prevle = le } }' "$1" "$2"
}

# ------------------------------------------------------------------------------------------------
# Build and the throwaway cluster

mkdir -p "$RUN_DIR" || die "cannot create $RUN_DIR"
chmod 755 "$RUN_DIR"
if [[ $PERSIST_BUILD == 1 ]]; then
  log "building dccs dccs-sim in $BUILD (Release)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCCS_SIM_ONLY=OFF >"$RUN_DIR/cmake.log" 2>&1 ||
      { tail -20 "$RUN_DIR/cmake.log" >&2; die "cmake failed"; }
  fi
  ninja -C "$BUILD" dccs dccs-sim >"$RUN_DIR/build.log" 2>&1 ||
    { tail -30 "$RUN_DIR/build.log" >&2; die "build failed (log: $RUN_DIR/build.log)"; }
fi
[[ -x $NODE_BIN && -x $SIM_BIN ]] || die "$NODE_BIN or $SIM_BIN missing"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

pg_start "$PERSIST_PG_CONF"
PG_SETTINGS=$(q -d postgres -F ' = ' -c "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN
  ('shared_buffers','synchronous_commit','fsync','wal_level','full_page_writes','max_wal_size','checkpoint_timeout',
   'wal_compression','wal_buffers','autovacuum') ORDER BY name" | paste -sd ';' | sed 's/;/; /g')
log "PostgreSQL $PG_VERSION in $PGDIR (port $PGPORT): $PG_SETTINGS"

# ------------------------------------------------------------------------------------------------
# One measurement: mode (best|ack) x load -> one line of $RESULTS

COLS=(mode load drones rate sim_threads connected offered_fps window_s committed_fps received_fps count_total counter_total
  p50_le p50 p99_le p99 mean_ms max_buffer_rows end_buffer_rows dropped refused duplicates batches rows_per_batch
  failures node_cpu pg_cpu writer_backend_cpu sim_cpu machine_busy other_cpu wal_bytes_per_row checkpoints
  acked unacked resent ack_stalls ack_errors errors reconnects
  c_rows c_copy c_twostep c_twostep_async c_twostep_offset0 c_copy_batches status)
(IFS=$'\t'; echo "${COLS[*]}") >"$RESULTS"

declare -A R
emit() { local c out=(); for c in "${COLS[@]}"; do out+=("${R[$c]:-}"); done; (IFS=$'\t'; echo "${out[*]}") >>"$RESULTS"; }

# psql script pieces for the ceiling measurements
STAGING_DDL="CREATE TEMP TABLE samples_in (drone_id text, seq int8, mode text, nums text) ON COMMIT DELETE ROWS;"
STAGING_INSERT="INSERT INTO ceiling.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed,
 battery, armed, mode, roll, pitch, yaw, voltage, sats, fix)
 SELECT drone_id, to_timestamp(a[1] / 1000.0), seq, to_timestamp(a[2] / 1000.0), a[3], a[4], a[5], a[6],
 a[7], a[8], a[9], a[10] <> 0, mode, a[11], a[12], a[13], a[14], a[15]::int4, a[16]::int4
 FROM (SELECT drone_id, seq, mode, string_to_array(nums, ',', 'N')::float8[] AS a FROM samples_in) s
 ON CONFLICT DO NOTHING;"
COLUMNS="drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed, battery, armed, mode, roll, pitch, yaw, voltage, sats, fix"
STAGING_EXPORT="SELECT drone_id, seq, mode, concat_ws(',', (extract(epoch FROM time) * 1000)::float8,
 (extract(epoch FROM received) * 1000)::float8, lat, lon, alt, heading, speed, vspeed, battery, armed::int,
 coalesce(roll::text, 'N'), coalesce(pitch::text, 'N'), coalesce(yaw::text, 'N'), coalesce(voltage::text, 'N'),
 coalesce(sats::text, 'N'), coalesce(fix::text, 'N')) FROM ceiling.samples"

timed_psql() { # db script-file -> seconds on stdout (empty on failure)
  local t0 t1
  t0=$(now)
  q -d "$1" -f "$2" >"$2.out" 2>&1 || { log "ceiling script $2 failed: $(tail -3 "$2.out")"; return 1; }
  t1=$(now)
  calc "%.3f" "$t1 - $t0"
}

ceiling() { # db dir batch_rows: fills R[c_*]
  local db=$1 dir=$2 batch=$3 n secs f
  log "ceiling: exporting up to $PERSIST_CEILING_ROWS committed rows"
  # The same table: columns, unique index, partitions with the same bounds.
  q -d "$db" <<SQL >"$dir/ceiling-ddl.log" 2>&1 || { log "ceiling DDL failed"; return 1; }
CREATE SCHEMA ceiling;
CREATE TABLE ceiling.samples (LIKE telemetry.samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (time);
CREATE UNIQUE INDEX samples_drone_time_seq ON ceiling.samples (drone_id, time, seq);
DO \$\$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry.samples'::regclass LOOP
    EXECUTE format('CREATE TABLE ceiling.%I PARTITION OF ceiling.samples %s', r.relname, r.bound);
  END LOOP; END \$\$;
SQL
  # In the order the node inserted them (heap order; synchronized scans off), at most PERSIST_CEILING_ROWS.
  q -d "$db" -c "SET synchronize_seqscans = off" \
    -c "\\copy (SELECT $COLUMNS FROM telemetry.samples LIMIT $PERSIST_CEILING_ROWS) TO '$dir/rows.txt'" ||
    { log "export failed"; return 1; }
  n=$(wc -l <"$dir/rows.txt")
  R[c_rows]=$n
  ((n > 0)) || return 1
  q -d "$db" -c "CHECKPOINT" >/dev/null
  # 1. Plain COPY of every row in one transaction: the ceiling.
  echo "\\copy ceiling.samples FROM '$dir/rows.txt'" >"$dir/c_copy.sql"
  secs=$(timed_psql "$db" "$dir/c_copy.sql") && R[c_copy]=$(calc "%.0f" "$n / $secs")
  log "ceiling: plain COPY ${R[c_copy]:-?} rows/s"
  # The node's staging format, exported from the copy (same rows, same order: the table was filled in order).
  q -d "$db" -c "SET synchronize_seqscans = off" -c "\\copy ($STAGING_EXPORT) TO '$dir/staging.txt'" || return 1
  (cd "$dir" && split -l "$batch" -a 5 staging.txt chunk-s- && split -l "$batch" -a 5 rows.txt chunk-r-)
  # 2. The node's path: per batch, COPY into the temp table then INSERT ... ON CONFLICT DO NOTHING, one transaction.
  # twostep_async: the same with synchronous_commit off (no WAL flush wait at commit). twostep_offset0: the same
  # statement with OFFSET 0 in its subquery, so that PostgreSQL does not flatten it (flattened, the
  # string_to_array(nums)::float8[] of every row is computed once per a[i] reference, 16 times).
  for variant in twostep twostep_async twostep_offset0; do
    local ins=$STAGING_INSERT
    [[ $variant == twostep_offset0 ]] && ins=${STAGING_INSERT/FROM samples_in) s/FROM samples_in OFFSET 0) s}
    {
      [[ $variant == twostep_async ]] && echo "SET synchronous_commit = off;"
      echo "$STAGING_DDL"
      for f in "$dir"/chunk-s-*; do
        echo "BEGIN;"
        echo "\\copy samples_in FROM '$f'"
        echo "$ins"
        echo "COMMIT;"
      done
    } >"$dir/c_$variant.sql"
  done
  # 3. COPY straight into the table per batch (no staging, no ON CONFLICT): what best-effort rows could cost.
  { for f in "$dir"/chunk-r-*; do echo "\\copy ceiling.samples FROM '$f'"; done; } >"$dir/c_copy_batches.sql"
  for variant in twostep twostep_async twostep_offset0 copy_batches; do
    # Each on an empty table, after a checkpoint (not timed).
    q -d "$db" -c "TRUNCATE ceiling.samples" -c "CHECKPOINT" >/dev/null
    secs=$(timed_psql "$db" "$dir/c_$variant.sql") && R[c_$variant]=$(calc "%.0f" "$n / $secs")
    log "ceiling: $variant ${R[c_$variant]:-?} rows/s"
  done
  q -d "$db" -c "SELECT count(*) FROM ceiling.samples" >"$dir/ceiling-count.txt" 2>&1
}

measure() { # mode load
  local mode=$1 load=$2
  local spec=${load%%:*} sim_threads=1
  [[ $load == *:* ]] && sim_threads=${load##*:}
  local drones=${spec%%x*} rate=${spec##*x}
  local dir=$RUN_DIR/$mode-$drones-x-$rate
  local db="persist_${mode}_${drones}x${rate//./_}"
  mkdir -p "$dir"
  R=()
  R[mode]=$mode; R[load]=$load; R[drones]=$drones; R[rate]=$rate; R[sim_threads]=$sim_threads
  local status="" port node_pid sim_pid
  q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || die "cannot create database $db"
  local url
  url=$(pg_url "$db")

  port=$(free_port) || die "no free port"
  # shellcheck disable=SC2086
  "$NODE_BIN" --http.port "$port" --log.level warn --db.url "$url" --http.metrics_public true $PERSIST_NODE_ARGS >"$dir/node.log" 2>&1 &
  node_pid=$!
  PIDS+=("$node_pid")
  if ! wait_ready "$node_pid" "$port" 60; then
    log "node not ready (log: $dir/node.log)"; tail -5 "$dir/node.log" >&2
    stop_pid "$node_pid"; PIDS=(); R[status]="node not ready"; emit; return 0
  fi
  local safety=$((BENCH_CONNECT_TIMEOUT + PERSIST_SETTLE + PERSIST_DURATION + 120))
  local sim_cmd=("$SIM_BIN" --url "ws://127.0.0.1:$port" --drones "$drones" --rate "$rate" --threads "$sim_threads"
    --seed "$BENCH_SEED" --json --duration "$safety")
  [[ $mode == ack ]] && sim_cmd+=(--ack)
  echo "$NODE_BIN --http.port $port --log.level warn --db.url '$url' $PERSIST_NODE_ARGS" >"$dir/node.cmd"
  start_sim "$dir" "${sim_cmd[@]}"
  sim_pid=$SIM_PID
  log "$mode: $drones drones x $rate Hz (sim threads $sim_threads), node port $port, db $db: connecting"
  if ! wait_fleet "$sim_pid" "$dir/sim.log" "$BENCH_CONNECT_TIMEOUT"; then
    status="${status}; fleet not fully connected after ${BENCH_CONNECT_TIMEOUT}s"
  fi
  sleep "$PERSIST_SETTLE"

  local wsql="SELECT (SELECT wal_bytes FROM pg_stat_wal), (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
  local writer_pid i
  # The writer's backend: its last statement mentions samples_in (or is COMMIT between batches): retry a little.
  for ((i = 0; i < 50; i++)); do
    writer_pid=$(q -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%samples_in%' AND pid <> pg_backend_pid() LIMIT 1")
    [[ -n $writer_pid ]] && break
    sleep 0.1
  done
  # Window boundaries: the middle of the /metrics request.
  local ta t0 t1 k0 k1 p0 p1 w0 w1 b0 b1 wal0 wal1 ck0 ck1
  read -r wal0 ck0 < <(q -d "$db" -F ' ' -c "$wsql")
  ta=$(now); scrape "$port" "$dir/metrics0.txt"; t0=$(calc "%.6f" "($ta + $(now)) / 2")
  k0=$(cpu_ticks "$node_pid"); p0=$(pg_ticks "$PM_PID"); b0=$(machine_busy)
  [[ -n $writer_pid ]] && w0=$(cpu_ticks "$writer_pid")
  kill -USR1 "$sim_pid" 2>/dev/null
  log "$mode: window of ${PERSIST_DURATION}s (writer backend pid ${writer_pid:-?})"
  # Every 5 s: rows waiting and rows committed (a timeline, and the buffer's peak).
  local end=$(($(date +%s) + PERSIST_DURATION)) maxbuf=0 b tl=$dir/timeline.tsv
  printf 't_s\tcommitted_total\tbuffer_rows\tdropped_total\n' >"$tl"
  while (($(date +%s) < end)); do
    sleep $((end - $(date +%s) < 5 ? end - $(date +%s) : 5))
    scrape "$port" "$dir/metrics-t.txt"
    b=$(metric "$dir/metrics-t.txt" dccs_telemetry_buffer_rows)
    [[ -n $b ]] && ((b > maxbuf)) && maxbuf=$b
    printf '%s\t%s\t%s\t%s\n' "$(calc "%.1f" "$(now) - $t0")" "$(metric "$dir/metrics-t.txt" dccs_telemetry_rows_committed_total)" \
      "$b" "$(metric "$dir/metrics-t.txt" dccs_telemetry_rows_dropped_total)" >>"$tl"
  done
  ta=$(now); scrape "$port" "$dir/metrics1.txt"; t1=$(calc "%.6f" "($ta + $(now)) / 2")
  k1=$(cpu_ticks "$node_pid"); p1=$(pg_ticks "$PM_PID"); b1=$(machine_busy)
  [[ -n $writer_pid ]] && w1=$(cpu_ticks "$writer_pid")
  read -r wal1 ck1 < <(q -d "$db" -F ' ' -c "$wsql")
  kill -0 "$node_pid" 2>/dev/null || status="${status}; node died during the window"

  stop_pid "$sim_pid" 30
  # Let the writer drain what is buffered, then stop the node.
  # Drained: nothing buffered and the committed counter unchanged for a second (the last batch is in flight
  # while the buffer already reads 0).
  local prev="" cur
  for ((i = 0; i < 120; i++)); do
    scrape "$port" "$dir/metrics2.txt"
    cur=$(metric "$dir/metrics2.txt" dccs_telemetry_rows_committed_total)
    [[ $(metric "$dir/metrics2.txt" dccs_telemetry_buffer_rows) == 0 && -n $cur && $cur == "$prev" ]] && break
    prev=$cur
    sleep 1
  done
  stop_pid "$node_pid" 20
  ((STOP_RC != 0 && STOP_RC != 143)) && status="${status}; node exit status $STOP_RC on SIGTERM"
  PIDS=()

  local secs c0 c1
  secs=$(calc "%.3f" "$t1 - $t0")
  R[window_s]=$secs
  c0=$(metric "$dir/metrics0.txt" dccs_telemetry_rows_committed_total)
  c1=$(metric "$dir/metrics1.txt" dccs_telemetry_rows_committed_total)
  [[ -n $c0 && -n $c1 ]] && R[committed_fps]=$(calc "%.0f" "($c1 - $c0) / $secs") || status="${status}; no /metrics"
  R[counter_total]=$(metric "$dir/metrics2.txt" dccs_telemetry_rows_committed_total)
  R[count_total]=$(q -d "$db" -c "SELECT count(*) FROM telemetry.samples")
  R[received_fps]=$(calc "%.0f" "$(q -d "$db" -c "SELECT count(*) FROM telemetry.samples WHERE received >= to_timestamp($t0) AND received < to_timestamp($t1)") / $secs")
  read -r 'R[p50_le]' 'R[p50]' < <(hist_quantile "$dir/metrics0.txt" "$dir/metrics1.txt" dccs_telemetry_commit_latency_ms 0.5)
  read -r 'R[p99_le]' 'R[p99]' < <(hist_quantile "$dir/metrics0.txt" "$dir/metrics1.txt" dccs_telemetry_commit_latency_ms 0.99)
  local s0 s1 n0 n1
  s0=$(awk '$1 == "dccs_telemetry_commit_latency_ms_sum" { print $2 }' "$dir/metrics0.txt")
  s1=$(awk '$1 == "dccs_telemetry_commit_latency_ms_sum" { print $2 }' "$dir/metrics1.txt")
  n0=$(metric "$dir/metrics0.txt" dccs_telemetry_commit_latency_ms_count); n1=$(metric "$dir/metrics1.txt" dccs_telemetry_commit_latency_ms_count)
  [[ -n $n1 && $n1 != "${n0:-0}" ]] && R[mean_ms]=$(calc "%.1f" "($s1 - $s0) / ($n1 - $n0)")
  R[max_buffer_rows]=$maxbuf
  R[end_buffer_rows]=$(metric "$dir/metrics1.txt" dccs_telemetry_buffer_rows)
  local m
  for m in dropped:dccs_telemetry_rows_dropped_total refused:dccs_telemetry_rows_refused_total \
    duplicates:dccs_telemetry_rows_duplicate_total batches:dccs_telemetry_batches_total failures:dccs_telemetry_write_failures_total; do
    local a z
    a=$(metric "$dir/metrics0.txt" "${m#*:}"); z=$(metric "$dir/metrics1.txt" "${m#*:}")
    [[ -n $a && -n $z ]] && R[${m%%:*}]=$((z - a))
  done
  [[ -n ${R[batches]:-} && ${R[batches]} -gt 0 ]] && R[rows_per_batch]=$(calc "%.0f" "($c1 - $c0) / ${R[batches]}")
  R[node_cpu]=$(calc "%.1f" "100 * ($k1 - $k0) / $CLK_TCK / $secs")
  R[pg_cpu]=$(calc "%.1f" "100 * ($p1 - $p0) / $CLK_TCK / $secs")
  [[ -n ${w0:-} && -n ${w1:-} ]] && R[writer_backend_cpu]=$(calc "%.1f" "100 * ($w1 - $w0) / $CLK_TCK / $secs")
  R[machine_busy]=$(calc "%.1f" "100 * ($b1 - $b0) / $CLK_TCK / $secs")
  R[sim_cpu]=$(calc "%.1f" "$(json_get "$dir/sim.json" window_cpu_percent)")
  R[other_cpu]=$(calc "%.1f" "${R[machine_busy]} - ${R[node_cpu]} - ${R[pg_cpu]} - ${R[sim_cpu]:-0}")
  [[ -n $wal0 && -n $wal1 && $c1 != "$c0" ]] && R[wal_bytes_per_row]=$(calc "%.0f" "($wal1 - $wal0) / ($c1 - $c0)")
  [[ -n $ck0 && -n $ck1 ]] && R[checkpoints]=$((ck1 - ck0))
  R[connected]=$(json_get "$dir/sim.json" connected_at_end)
  R[offered_fps]=$(calc "%.0f" "$(json_get "$dir/sim.json" window_frames_per_s)")
  R[errors]=$(json_get "$dir/sim.json" errors); R[reconnects]=$(json_get "$dir/sim.json" reconnects)
  if [[ $mode == ack ]]; then
    R[acked]=$(json_get "$dir/sim.json" frames_acked); R[unacked]=$(json_get "$dir/sim.json" frames_unacked)
    R[resent]=$(json_get "$dir/sim.json" frames_resent); R[ack_stalls]=$(json_get "$dir/sim.json" ack_stalls)
    R[ack_errors]=$(json_get "$dir/sim.json" ack_errors)
  fi
  [[ ${R[counter_total]} == "${R[count_total]}" ]] || status="${status}; counter ${R[counter_total]} != count(*) ${R[count_total]}"
  log "$mode $load: committed ${R[committed_fps]:-?} rows/s (offered ${R[offered_fps]:-?}), p50 ≤${R[p50_le]} p99 ≤${R[p99_le]} ms," \
    "node ${R[node_cpu]} % pg ${R[pg_cpu]} % sim ${R[sim_cpu]} % busy ${R[machine_busy]} %, dropped ${R[dropped]:-?}, max buffer $maxbuf"
  if [[ $PERSIST_CEILING == 1 && $mode == best ]]; then
    ceiling "$db" "$dir" "$BATCH_ROWS" || status="${status}; ceiling failed"
  fi
  q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  status=${status#; }
  R[status]=${status:-ok}
  emit
}

for load in $PERSIST_LOADS; do
  [[ $load =~ ^[0-9]+x[0-9.]+(:[0-9]+)?$ ]] || die "bad load '$load'"
  measure best "$load"
done
for load in $PERSIST_ACK_LOADS; do
  [[ $load =~ ^[0-9]+x[0-9.]+(:[0-9]+)?$ ]] || die "bad load '$load'"
  measure ack "$load"
done

# ------------------------------------------------------------------------------------------------
# Report: one section appended

field() { awk -F'\t' -v r="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } NR - 1 == r { print $col[c] }' "$RESULTS"; }
qfmt() { # le interpolated -> "≤le (~x)", or ">10000" past the last bucket
  case $1 in '') printf 'n/a' ;; '>'*) printf '%s' "$1" ;; *) printf '≤%s (~%s)' "$1" "$2" ;; esac
}
na() { if [[ -n $1 ]]; then printf '%s' "$1"; else printf 'n/a'; fi; }
nrows=$(($(wc -l <"$RESULTS") - 1))
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain 2>/dev/null) ]] && commit="$commit (with uncommitted changes)"
{
  [[ -s $PERSIST_REPORT ]] || { echo "# DCCS persisted-ingest benchmark report"; echo; echo "Written by \`bench/persist.sh\` (see bench/README.md, \"Persisted ingest\"); each run appends a section."; }
  echo
  echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC'), window ${PERSIST_DURATION}s"
  echo
  echo "- command: \`$INVOCATION\`"
  echo "- machine: $(nproc) CPUs, $cpu_model, Linux $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- commit $commit; binaries: $NODE_BIN ($(date -u -r "$NODE_BIN" '+%H:%M UTC')), $SIM_BIN; node args: \`--log.level warn --db.url ... ${PERSIST_NODE_ARGS}\` (telemetry.batch_rows $BATCH_ROWS)"
  echo "- PostgreSQL $PG_VERSION, throwaway cluster on the same machine (unix socket): $PG_SETTINGS"
  echo "- raw data and logs: \`${RUN_DIR#"$ROOT"/}\`"
  echo
  echo "| mode | load (drones × Hz, sim threads) | offered frames/s | **committed rows/s** | rows received in window /s | p50 / p99 receive-to-commit (ms, bucket ≤ / interpolated) | mean ms | buffer rows max / end | dropped / refused / dup | batches (rows/batch) | node CPU % | PG CPU % (writer backend) | sim CPU % | machine busy % (other) | WAL B/row | checkpoints | count(*) = counter | status |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for ((r = 1; r <= nrows; r++)); do
    f() { field "$r" "$1"; }
    eq="$(f count_total) / $(f counter_total)"
    [[ $(f count_total) == "$(f counter_total)" ]] && eq="$(f count_total) ✓"
    echo "| $(f mode) | $(f drones) × $(f rate), $(f sim_threads) | $(na "$(f offered_fps)") | **$(na "$(f committed_fps)")** | $(na "$(f received_fps)") | $(qfmt "$(f p50_le)" "$(f p50)") / $(qfmt "$(f p99_le)" "$(f p99)") | $(na "$(f mean_ms)") | $(f max_buffer_rows) / $(f end_buffer_rows) | $(f dropped) / $(f refused) / $(f duplicates) | $(f batches) ($(f rows_per_batch)) | $(f node_cpu) | $(f pg_cpu) ($(na "$(f writer_backend_cpu)")) | $(f sim_cpu) | $(f machine_busy) ($(f other_cpu)) | $(na "$(f wal_bytes_per_row)") | $(f checkpoints) | $eq | $(f status) |"
  done
  if [[ -n $PERSIST_ACK_LOADS ]]; then
    echo
    echo "Acknowledged mode (\`dccs-sim --ack\`), simulator totals at exit:"
    echo
    echo "| load | acked | unacked at exit | resent | ack stalls | ack errors | errors / reconnects |"
    echo "|---|---|---|---|---|---|---|"
    for ((r = 1; r <= nrows; r++)); do
      [[ $(field "$r" mode) == ack ]] || continue
      echo "| $(field "$r" drones) × $(field "$r" rate) | $(field "$r" acked) | $(field "$r" unacked) | $(field "$r" resent) | $(field "$r" ack_stalls) | $(field "$r" ack_errors) | $(field "$r" errors) / $(field "$r" reconnects) |"
    done
  fi
  if [[ $PERSIST_CEILING == 1 ]]; then
    echo
    echo "The database alone on the same rows (exported in arrival order, after the node stopped; identical empty table:"
    echo "same columns, unique index, partitions), rows/s, via psql over the unix socket:"
    echo
    echo "| load | rows | plain COPY, one tx (ceiling) | node path: COPY temp + INSERT ON CONFLICT per batch | same, synchronous_commit off | same statement with OFFSET 0 in the subquery | COPY straight into the table per batch (no ON CONFLICT) | node ÷ ceiling | node ÷ node path in SQL |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for ((r = 1; r <= nrows; r++)); do
      [[ $(field "$r" mode) == best ]] || continue
      c=$(field "$r" c_copy); t=$(field "$r" c_twostep); n=$(field "$r" committed_fps)
      r1=""; r2=""
      [[ -n $c && -n $n ]] && r1=$(calc "%.2f" "$n / $c")
      [[ -n $t && -n $n ]] && r2=$(calc "%.2f" "$n / $t")
      echo "| $(field "$r" drones) × $(field "$r" rate) | $(na "$(field "$r" c_rows)") | $(na "$c") | $(na "$t") | $(na "$(field "$r" c_twostep_async)") | $(na "$(field "$r" c_twostep_offset0)") | $(na "$(field "$r" c_copy_batches)") | $(na "$r1") | $(na "$r2") |"
    done
  fi
  echo
  echo "Target (reported, not asserted): 100,000 rows/s committed with p99 receive-to-commit ≤ 250 ms on 2 cores."
  echo "Latency quantiles come from the node's histogram buckets (le 1 2 5 10 20 50 100 150 200 250 300 500 1000 2000"
  echo "5000 10000 ms), end-of-window minus start-of-window: bucket resolution only."
} >>"$PERSIST_REPORT"
log "section appended to $PERSIST_REPORT (raw: $RESULTS)"
