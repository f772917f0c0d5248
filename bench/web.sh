#!/usr/bin/env bash
# bench/web.sh: the dashboard's frame rate, main-thread time, first load and bundle size in headless Chromium, with
# a real node and WEB_FLEETS simulated drones (default "1000 10000") at WEB_HZ (5) frames/s (bench/web.mjs).
# Builds the node, the simulator and the dashboard (Release, BENCH_BUILD_DIR, default build-bench), starts a
# throwaway PostgreSQL and Redis, and appends a section to WEB_REPORT (default bench/web-report.md). The run folder
# ($BUILD_DIR/bench-runs/web-<time>) keeps the node's and the simulator's logs, each fleet's screenshot, page
# console, /metrics before and after, and with WEB_PROFILE=1 the trace and CPU profile.
#
#   bench/web.sh                         # 1,000 and 10,000 drones at 5 Hz, 10 s each (about 3 minutes)
#   WEB_FLEETS=1000 WEB_MEASURE_S=5 bench/web.sh
#   BENCH_BUILD=0 BENCH_BUILD_DIR=build bench/web.sh     # the binaries already built in build/, web/dist as it is
#   WEB_PROFILE=1 WEB_FLEETS=1000 bench/web.sh           # also where the main thread's time goes (trace, V8 profile)
#   WEB_DRIVER=socket bench/web.sh       # no browser: what the node's operator socket delivers (all, then 500 ids)
#   WEB_DRIVER=playwright bench/web.sh   # the page driven as the E2E tests do (Playwright copies every frame)
#   WEB_FEED=synthetic bench/web.sh      # no simulator: a feed made in the page, every drone at WEB_HZ (the page alone)
#   WEB_DIST=/tmp/old-dist bench/web.sh  # another build of the dashboard (e.g. an older commit's, to compare)
#   WEB_COMPARE="before=/tmp/old-dist after=web/dist" WEB_REPEAT=3 bench/web.sh   # both builds in turn, 3 runs, medians
#   DCCS_NODE_ARGS="--http.threads 2" bench/web.sh       # a node setting to compare
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
LOG_TAG=web
source bench/lib.sh

BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
REPORT=${WEB_REPORT:-bench/web-report.md}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BUILD_DIR/bench-runs"
RUN_DIR=$(cd "$BUILD_DIR/bench-runs" && pwd)/web-$STAMP
mkdir -p "$RUN_DIR"
if [[ ${BENCH_BUILD:-1} == 1 ]]; then
  log "building dccs dccs-sim dccs_web in $BUILD_DIR (Release)"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCCS_SIM_ONLY=OFF >"$RUN_DIR/cmake.log" 2>&1 ||
      { tail -20 "$RUN_DIR/cmake.log" >&2; die "cmake failed (log: $RUN_DIR/cmake.log)"; }
  fi
  ninja -C "$BUILD_DIR" dccs dccs-sim dccs_web >"$RUN_DIR/build.log" 2>&1 ||
    { tail -30 "$RUN_DIR/build.log" >&2; die "build failed (log: $RUN_DIR/build.log)"; }
fi
BUILD=$(build_dir "$BUILD_DIR" dccs sim/dccs-sim) || exit 1
GIVEN_DIST=${WEB_DIST:-}
WEB_DIST=$(cd "${WEB_DIST:-web/dist}" 2>/dev/null && pwd) || die "no ${WEB_DIST:-web/dist}"
[[ -f $WEB_DIST/index.html ]] || die "$WEB_DIST is not built (cd web && npm run build)"
npm ci --prefix tests/web --no-audit --no-fund --loglevel=error >"$RUN_DIR/npm.log" 2>&1 ||
  die "npm ci in tests/web failed (log: $RUN_DIR/npm.log)"
trap stop_all EXIT
log "run folder: $RUN_DIR"
pg_start "max_connections = 200"
redis_start
export PGDATABASE=postgres DCCS_NODE_BIN=$BUILD/dccs DCCS_SIM_BIN=$BUILD/sim/dccs-sim DCCS_WEB_DIST=$WEB_DIST
export DCCS_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT DCCS_E2E_ARTIFACTS=$RUN_DIR DCCS_E2E_DEADLINE_S=${DCCS_E2E_DEADLINE_S:-7200}
export WEB_COMMAND="${BENCH_BUILD:+BENCH_BUILD=$BENCH_BUILD }${BENCH_BUILD_DIR:+BENCH_BUILD_DIR=$BENCH_BUILD_DIR }${WEB_FLEETS:+WEB_FLEETS=\"$WEB_FLEETS\" }${WEB_HZ:+WEB_HZ=$WEB_HZ }${WEB_DRIVER:+WEB_DRIVER=$WEB_DRIVER }${WEB_PROFILE:+WEB_PROFILE=$WEB_PROFILE }${WEB_FEED:+WEB_FEED=$WEB_FEED }${GIVEN_DIST:+WEB_DIST=$GIVEN_DIST }${WEB_COMPARE:+WEB_COMPARE=\"$WEB_COMPARE\" }${WEB_REPEAT:+WEB_REPEAT=$WEB_REPEAT }${DCCS_NODE_ARGS:+DCCS_NODE_ARGS=\"$DCCS_NODE_ARGS\" }bench/web.sh"
# WEB_DRIVER=socket uses Node.js's WebSocket: a flag before Node.js 22.
NODE_FLAGS=()
node -e 'process.exit(typeof WebSocket === "undefined" ? 0 : 1)' && NODE_FLAGS+=(--experimental-websocket --no-warnings)
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
node "${NODE_FLAGS[@]}" bench/web.mjs >"$RUN_DIR/section.md" || die "bench/web.mjs failed (logs in $RUN_DIR)"
{ echo; cat "$RUN_DIR/section.md"; } >>"$REPORT"
cat "$RUN_DIR/section.md"
log "appended to $REPORT (logs: $RUN_DIR)"
