#!/usr/bin/env bash
# bench/analytics.sh: what the analytics rollup job (actors/analytics.hpp) costs. Starts a throwaway PostgreSQL 15,
# fills telemetry.samples with DRONES drones x HZ samples a second for SECONDS seconds of yesterday (SQL
# generate_series, in a day partition, as the node stores them), then times:
#   1. steady state: passes of one minute of that telemetry each (what the job does every analytics.interval_s at
#      that load), and the fixed cost of a pass with almost nothing new;
#   2. late telemetry: every drone's hour marked for recomputing (a fleet reconnecting with stored frames), one pass;
#   3. the writer's side: a 5,000-row batch stored with and without marking late rows (the CTE the telemetry
#      writer runs), with no row late and with every row late.
# Appends a section to bench/analytics-report.md. See bench/README.md ("Analytics").
#
# Options (environment variables):
#   ANALYTICS_DRONES=5000   ANALYTICS_HZ=5   ANALYTICS_SECONDS=120
#   ANALYTICS_BUILD=1              0: use the binaries as they are
#   BENCH_BUILD_DIR=build-bench    build directory (Release); only dccs-bench-analytics is built
#   ANALYTICS_REPORT=bench/analytics-report.md
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
INVOCATION=""
for v in $(compgen -v ANALYTICS_ | sort -r) $(compgen -v BENCH_ | sort -r); do INVOCATION="$v=\"${!v}\" $INVOCATION"; done

ANALYTICS_DRONES=${ANALYTICS_DRONES:-5000}
ANALYTICS_HZ=${ANALYTICS_HZ:-5}
ANALYTICS_SECONDS=${ANALYTICS_SECONDS:-120}
ANALYTICS_BUILD=${ANALYTICS_BUILD:-1}
ANALYTICS_REPORT=${ANALYTICS_REPORT:-bench/analytics-report.md}
BENCH_BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
BUILD=$BENCH_BUILD_DIR
case "$BUILD" in /*) BUILD_ABS=$BUILD ;; *) BUILD_ABS=$ROOT/$BUILD ;; esac
RUN_DIR=$BUILD_ABS/bench-runs/analytics-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RUN_DIR"

LOG_TAG=analytics
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
trap stop_all EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [[ $ANALYTICS_BUILD == 1 ]]; then
  log "building dccs-bench-analytics in $BUILD (Release)"
  [[ -f $BUILD/build.ninja ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCCS_WEB=OFF >"$RUN_DIR/cmake.log"
  ninja -C "$BUILD" dccs-bench-analytics >"$RUN_DIR/build.log" || { tail -30 "$RUN_DIR/build.log" >&2; die "build failed"; }
fi
BIN=$BUILD_ABS/bench/dccs-bench-analytics
[[ -x $BIN ]] || die "no $BIN (ANALYTICS_BUILD=1 builds it)"

pg_start
q -d postgres -c "CREATE DATABASE bench"
URL=$(pg_url bench)
"$BIN" "$URL" 0 60 1 >/dev/null # migrates (the first pass finds no samples)
DAY=$(date -u -d yesterday +%Y-%m-%d)
TODAY=$(date -u +%Y-%m-%d)
START_S=$(date -u -d "$DAY 10:00:00" +%s)
q -d bench -c "CREATE TABLE telemetry.samples_bench PARTITION OF telemetry.samples FOR VALUES FROM ('$DAY 00:00+00') TO ('$TODAY 00:00+00')"
ROWS=$((ANALYTICS_DRONES * ANALYTICS_HZ * ANALYTICS_SECONDS))
log "storing $ROWS samples ($ANALYTICS_DRONES drones x $ANALYTICS_HZ Hz x $ANALYTICS_SECONDS s)"
t0=$(now)
# Flying drones: climbing and descending, moving north, battery draining.
q -d bench -c "
INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed, battery, armed, mode)
SELECT 'sim-' || lpad(d::text, 5, '0'), timestamptz '$DAY 10:00+00' + (t * 1000 / $ANALYTICS_HZ) * interval '1 millisecond',
  t, now(), 47 + d * 0.001 + t * 0.00001, 8, 400 + 50 * sin(t / 300.0), 0, 10, 0, 100 - t * 0.001, true, 'AUTO'
FROM generate_series(1, $ANALYTICS_DRONES) d, generate_series(0, $((ANALYTICS_HZ * ANALYTICS_SECONDS - 1))) t"
FILL_S=$(calc "%.1f" "$(now) - $t0")
q -d bench -c "VACUUM ANALYZE telemetry.samples"
q -d bench -c "UPDATE telemetry.rollup_state SET done = '$DAY 09:59:59+00', claimed = '$DAY 09:59:59+00'"

log "1. passes of one minute each"
NOW_MS=$(((START_S + ANALYTICS_SECONDS) * 1000))
"$BIN" "$URL" "$NOW_MS" 60 | tee "$RUN_DIR/steady.jsonl" >&2
STEADY=$(awk -F'[:,]' '/"samples"/ { for (i = 1; i < NF; i++) { if ($i == "\"ms\"") ms = $(i+1); if ($i == "\"samples\"") s = $(i+1) }
  if ($0 ~ /"caught_up":false/) { n++; tms += ms; ts += s } else { idle = ms } }
  END { printf "%d passes of ~%d samples: %.0f ms each (%.0f samples/s); a pass with almost nothing new: %.0f ms", n, ts / n, tms / n, ts / (tms / 1000), idle }' "$RUN_DIR/steady.jsonl")
log "$STEADY"

log "2. every drone's hour marked late, one pass"
q -d bench -c "INSERT INTO telemetry.rollup_dirty (drone_id, hour) SELECT DISTINCT drone_id, timestamptz '$DAY 10:00+00' FROM telemetry.rollup_cursors"
"$BIN" "$URL" "$NOW_MS" 60 1 | tee "$RUN_DIR/late.jsonl" >&2
LATE=$(awk -F'[:,]' '{ for (i = 1; i < NF; i++) { if ($i == "\"ms\"") ms = $(i+1); if ($i == "\"recomputed\"") r = $(i+1) } }
  END { printf "%d drone-hours of %d samples each computed again in %.0f ms (%.1f ms each)", r, '"$((ANALYTICS_HZ * ANALYTICS_SECONDS))"', ms, ms / r }' "$RUN_DIR/late.jsonl")
log "$LATE"

log "3. the writer's statement, 20 batches of 5,000 rows each way"
writer_sql() { # hour claimed-offset -> psql script
  local hour=$1 i
  echo "CREATE TEMP TABLE src AS SELECT 'w-' || lpad(d::text, 4, '0') AS drone_id, t AS seq FROM generate_series(1, 1000) d, generate_series(1, 5) t;"
  echo '\timing on'
  for i in $(seq 1 20); do
    echo "INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed, battery, armed, mode) SELECT drone_id, timestamptz '$DAY $hour:00+00' + ($i * 10 + seq) * interval '1 second', $i * 10 + seq, now(), 47, 8, 400, 0, 0, 0, 90, true, 'A' FROM src ON CONFLICT DO NOTHING;"
    echo "WITH stored AS (INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed, battery, armed, mode) SELECT drone_id, timestamptz '$DAY $hour:30+00' + ($i * 10 + seq) * interval '1 second', $i * 10 + seq, now(), 47, 8, 400, 0, 0, 0, 90, true, 'A' FROM src ON CONFLICT DO NOTHING RETURNING drone_id, time), late AS (INSERT INTO telemetry.rollup_dirty (drone_id, hour) SELECT DISTINCT drone_id, to_timestamp(floor(extract(epoch FROM time) / 3600) * 3600) FROM stored WHERE time <= (SELECT claimed FROM telemetry.rollup_state WHERE id = 1) ON CONFLICT DO NOTHING) SELECT count(*) FROM stored;"
  done
}
mean_pair() { grep '^Time' | awk '{ if (NR % 2) { a += $2; n++ } else b += $2 } END { printf "%.1f ms plain, %.1f ms with marking", a / n, b / n }'; }
q -d bench -c "UPDATE telemetry.rollup_state SET claimed = '$DAY 09:59:59+00'"
WRITER_NONE=$(writer_sql 12 | psql -X -q -d bench 2>&1 | mean_pair)
q -d bench -c "UPDATE telemetry.rollup_state SET claimed = '$DAY 23:59:00+00'"
WRITER_ALL=$(writer_sql 14 | psql -X -q -d bench 2>&1 | mean_pair)
log "no row late: $WRITER_NONE; every row late: $WRITER_ALL"

[[ -f $ANALYTICS_REPORT ]] ||
  printf '# DCCS analytics rollup benchmark report\n\nWritten by `bench/analytics.sh` (bench/README.md, "Analytics"). Each run appends a section.\n' >"$ANALYTICS_REPORT"
{
  echo
  echo "## $(date -u +'%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "\`${INVOCATION}bench/analytics.sh\` — PostgreSQL $PG_VERSION, $(nproc) cores, machine load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "- telemetry: $ANALYTICS_DRONES drones x $ANALYTICS_HZ Hz x $ANALYTICS_SECONDS s = $ROWS samples (stored in ${FILL_S} s)"
  echo "- steady state (one minute of telemetry per pass): $STEADY"
  echo "- late telemetry: $LATE"
  echo "- the writer, a 5,000-row batch: no row late: $WRITER_NONE; every row late (1,000 drone-hours marked): $WRITER_ALL"
} >>"$ANALYTICS_REPORT"
log "appended to $ANALYTICS_REPORT"
