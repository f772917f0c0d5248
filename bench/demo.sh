#!/usr/bin/env bash
# bench/demo.sh: records the demo of the whole system (docs/demo.md). Starts a 3-node cluster on this machine with
# its own throwaway PostgreSQL and Redis and a simulated fleet, then drives Chromium through a scripted story
# (bench/demo.mjs): log in, the fleet live on the map and the table, a take-off command, a mission planned and flown,
# a geofence breach alarm acknowledged, a node killed (kill -9) and the fleet re-homed on the others, the analytics
# page. Writes numbered screenshots and a video (Playwright's recordVideo) to DEMO_DIR (default build/demo).
# Everything it started is stopped on exit, also on Ctrl-C or a failed step; the data folders are deleted.
#
#   bench/demo.sh                       # about 2½ minutes; build/demo/NN-*.png, build/demo/demo.webm
#   DEMO_PAUSE_MS=0 DEMO_VIDEO=0 bench/demo.sh     # the story only, as fast as the conditions allow
#   DEMO_DOCS=1 bench/demo.sh           # also refresh the screenshots committed in docs/demo/
#
# Needs a build (build/dccs, build/sim/dccs-sim, web/dist), PostgreSQL 15, Redis and Chromium (bash
# deploy/install-deps.sh), playwright-core (npm ci --prefix tests/web, run here when missing) and, for the video,
# ffmpeg with VP9 (Debian's ffmpeg package: installed here when missing and run as root; DEMO_VIDEO=0 records none).
# Knobs (environment): DEMO_DIR, DEMO_BUILD_DIR (build), DEMO_NODES (3), DEMO_DRONES (30, of which DEMO_AUTOPILOT
# = 6 are autopilots on the ground), DEMO_RATE (5 Hz), DEMO_TIME_SCALE (2), DEMO_PAUSE_MS (1500: pauses that only
# make the video watchable), DEMO_VIDEO (1), DEMO_HEADED (0), DEMO_TILE_URL (empty: the offline base map),
# DEMO_CAPTIONS (1: a caption on the page says what each step does), DEMO_DEADLINE_S (900), DEMO_SHOT_WIDTH (960:
# width of the small copies, made with ffmpeg), DEMO_DOCS (0).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
LOG_TAG=demo
source bench/lib.sh

DIR=${DEMO_DIR:-build/demo}
BUILD_DIR=${DEMO_BUILD_DIR:-build}
NODES=${DEMO_NODES:-3}
DRONES=${DEMO_DRONES:-30}
AUTOPILOT=${DEMO_AUTOPILOT:-6}
RATE=${DEMO_RATE:-5}
SCALE=${DEMO_TIME_SCALE:-2}
VIDEO=${DEMO_VIDEO:-1}
[[ $NODES =~ ^[2-9]$ ]] || die "DEMO_NODES must be 2 to 9 (a node is killed during the story)"
[[ $DRONES =~ ^[0-9]+$ && $AUTOPILOT =~ ^[0-9]+$ ]] && ((AUTOPILOT >= 2 && DRONES > AUTOPILOT)) ||
  die "DEMO_DRONES must exceed DEMO_AUTOPILOT, which must be at least 2"

BUILD=$(build_dir "$BUILD_DIR" dccs sim/dccs-sim) || exit 1
[[ -f web/dist/index.html ]] || die "web/dist is not built (cd web && npm ci && npm run build)"
[[ -x $PGBIN/initdb ]] && command -v redis-server >/dev/null && [[ -x ${DCCS_CHROMIUM:-/usr/bin/chromium} ]] ||
  die "PostgreSQL 15, Redis or Chromium is missing: bash deploy/install-deps.sh"
if [[ ! -d tests/web/node_modules/playwright-core ]]; then
  log "installing playwright-core (npm ci --prefix tests/web)"
  npm ci --prefix tests/web --no-audit --no-fund --loglevel=error >&2 || die "npm ci --prefix tests/web failed"
fi

# The output folder: what an earlier run wrote there goes (only the kinds of files a run writes).
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -rf "$DIR"/[0-9][0-9]-*.png "$DIR"/small "$DIR"/failed-* "$DIR"/failed.webm "$DIR"/demo.webm "$DIR"/video "$DIR"/run "$DIR"/playwright
RUN_DIR=$DIR/run # logs of this run: nodes, simulators, PostgreSQL's initdb
mkdir -p "$RUN_DIR"

# The video: Playwright encodes it with its own ffmpeg build (downloaded by `playwright install ffmpeg`, which needs
# its CDN). Debian's ffmpeg does the same job: it is put where Playwright looks for its own, in a browsers folder of
# this run (PLAYWRIGHT_BROWSERS_PATH; Chromium itself is the system's, given by path).
if [[ $VIDEO == 1 ]]; then
  if ! command -v ffmpeg >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "installing ffmpeg (Debian's package) for the video"
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg; } >"$RUN_DIR/apt.log" 2>&1 ||
        log "could not install ffmpeg (log: $RUN_DIR/apt.log)"
    fi
  fi
  if command -v ffmpeg >/dev/null 2>&1; then
    rev=$(node -e 'const b=require(process.argv[1]).browsers.find((x)=>x.name==="ffmpeg"); console.log(b.revision)' \
      "$PWD/tests/web/node_modules/playwright-core/browsers.json") || die "cannot read playwright-core's ffmpeg revision"
    mkdir -p "$DIR/playwright/ffmpeg-$rev"
    ln -s "$(command -v ffmpeg)" "$DIR/playwright/ffmpeg-$rev/ffmpeg-linux"
    export PLAYWRIGHT_BROWSERS_PATH=$DIR/playwright
  else
    log "no ffmpeg: recording no video (apt-get install ffmpeg, or DEMO_VIDEO=0 to silence this)"
    VIDEO=0
  fi
fi

NODE_PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ ${#PIDS[@]} -gt 0 ]] && log "stopping the simulators, the nodes, Redis and PostgreSQL"
  stop_all # lib.sh: every pid in PIDS (simulators first, then the nodes), Redis, PostgreSQL and their folders
  rm -rf "$DIR/data" "$DIR/playwright"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL and Redis of this run only, their data under $DIR/data (deleted at the end): lib.sh's throwaway servers.
mkdir -p "$DIR/data"
chmod 755 "$DIR/data"
TMPDIR=$DIR/data pg_start "max_connections = 200"
TMPDIR=$DIR/data redis_start
q -d postgres -c "CREATE DATABASE dccs_demo" || die "cannot create the database"
DB_URL=$(pg_url dccs_demo)
log "PostgreSQL on $PGHOST:$PGPORT (database dccs_demo), Redis on 127.0.0.1:$REDIS_PORT"

# The first admin's password, for this run only (the page logs in with it; bench/demo.mjs reads the file).
(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$DIR/data/admin-password")
PASSWORD=$(cat "$DIR/data/admin-password")

# The cluster: NODES nodes on free ports of 127.0.0.1, one after the other (the first creates the admin and the
# signing key, which every member shares), each seeding the first one's cluster port.
HTTP_PORTS=() CLUSTER_PORTS=()
for ((i = 0; i < NODES; i++)); do
  HTTP_PORTS+=("$(free_port)") CLUSTER_PORTS+=("$(free_port)")
done
export DCCS_ANALYTICS_INTERVAL_S=${DCCS_ANALYTICS_INTERVAL_S:-5} DCCS_ANALYTICS_SETTLE_S=${DCCS_ANALYTICS_SETTLE_S:-2}
for ((i = 0; i < NODES; i++)); do
  n=$((i + 1))
  args=(--node.name "demo-$n" --http.address 127.0.0.1 --http.port "${HTTP_PORTS[$i]}" --http.static_dir web/dist
    --db.url "$DB_URL" --redis.url "redis://127.0.0.1:$REDIS_PORT" --node.data_dir "$DIR/data/node-$n"
    --auth.keys_dir "$DIR/data/keys" --cluster.port "${CLUSTER_PORTS[$i]}" --cluster.seeds "127.0.0.1:${CLUSTER_PORTS[0]}"
    --web.tile_url "${DEMO_TILE_URL:-}" --log.level info)
  echo "$BUILD/dccs ${args[*]}" >"$RUN_DIR/node-$n.cmd"
  DCCS_ADMIN_PASSWORD=$PASSWORD "$BUILD/dccs" "${args[@]}" >"$RUN_DIR/node-$n.log" 2>&1 &
  NODE_PIDS+=($!)
  PIDS+=($!)
  wait_ready "$!" "${HTTP_PORTS[$i]}" 60 || { tail -20 "$RUN_DIR/node-$n.log" >&2; die "node $n did not become ready"; }
  log "node $n: http://127.0.0.1:${HTTP_PORTS[$i]}/ (pid ${NODE_PIDS[$i]}, cluster port ${CLUSTER_PORTS[$i]})"
done

# The fleet, spread over every node (drone i starts on node i mod NODES and moves to the next node when its node
# goes): DRONES - AUTOPILOT drones flying their scripted patterns, AUTOPILOT drones on the ground that move only
# when commanded (the take-off and the mission). Simulators stop before the nodes (stop_all stops PIDS in order).
URLS=$(printf 'ws://127.0.0.1:%s,' "${HTTP_PORTS[@]}")
URLS=${URLS%,}
SIM_ARGS=(--url "$URLS" --rate "$RATE" --time-scale "$SCALE" --report-interval 10)
"$BUILD/sim/dccs-sim" "${SIM_ARGS[@]}" --drones $((DRONES - AUTOPILOT)) --prefix fleet- \
  >"$RUN_DIR/sim-fleet.log" 2>&1 &
SIM_FLEET=$!
# Another seed than the scripted fleet's: with the same one, auto-0000N would stand at fleet-0000N's home.
"$BUILD/sim/dccs-sim" "${SIM_ARGS[@]}" --drones "$AUTOPILOT" --prefix auto- --autopilot --seed 2 \
  >"$RUN_DIR/sim-autopilot.log" 2>&1 &
SIM_AUTO=$!
PIDS=("$SIM_FLEET" "$SIM_AUTO" "${NODE_PIDS[@]}")
wait_fleet "$SIM_FLEET" "$RUN_DIR/sim-fleet.log" 60 || die "the scripted fleet did not connect ($RUN_DIR/sim-fleet.log)"
wait_fleet "$SIM_AUTO" "$RUN_DIR/sim-autopilot.log" 60 || die "the autopilots did not connect ($RUN_DIR/sim-autopilot.log)"
log "fleet connected: $((DRONES - AUTOPILOT)) scripted (fleet-*), $AUTOPILOT autopilots (auto-*)"

NODE_LIST=""
for ((i = 0; i < NODES; i++)); do NODE_LIST+="127.0.0.1:${HTTP_PORTS[$i]}=${NODE_PIDS[$i]},"; done
export DEMO_OUT=$DIR DEMO_NODE_LIST=${NODE_LIST%,} DEMO_PASSWORD_FILE=$DIR/data/admin-password DEMO_VIDEO=$VIDEO
export DEMO_FLEET=$DRONES DEMO_AUTOPILOT=$AUTOPILOT
export DCCS_E2E_DEADLINE_S=${DEMO_DEADLINE_S:-900} DCCS_E2E_HEADED=${DEMO_HEADED:-0} DEMO_CAPTIONS=${DEMO_CAPTIONS:-1}
started=$SECONDS
node bench/demo.mjs
rc=$?
((rc == 0)) || die "the story failed (exit $rc); screenshots in $DIR, logs in $RUN_DIR"

# Small copies of the screenshots (DEMO_SHOT_WIDTH wide, 256 colours: a few tens of KB each), for docs/demo/.
if command -v ffmpeg >/dev/null 2>&1; then
  mkdir -p "$DIR/small"
  for f in "$DIR"/[0-9][0-9]-*.png; do
    ffmpeg -loglevel error -y -i "$f" -vf "scale=${DEMO_SHOT_WIDTH:-960}:-1:flags=lanczos,split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];[b][p]paletteuse=dither=none" \
      "$DIR/small/$(basename "$f")" || die "ffmpeg could not make a small copy of $f"
  done
  small=$DIR/small
  note=" (small copies in $small)"
else
  log "no ffmpeg: no small copies of the screenshots"
  small=$DIR note=""
fi
log "the story passed in $((SECONDS - started)) s: screenshots $DIR/NN-*.png$note$(
  [[ $VIDEO == 1 ]] && echo ", video $DIR/demo.webm")"

# DEMO_DOCS=1: the screenshots docs/demo.md shows, into docs/demo/.
if [[ ${DEMO_DOCS:-0} == 1 ]]; then
  mkdir -p docs/demo
  for f in 02-fleet 04-takeoff 06-mission-flying 07-mission-completed 08-geofence 09-alarm 12-rehomed 13-analytics; do
    cp "$small/$f.png" docs/demo/ || die "no $small/$f.png"
  done
  log "copied the screenshots docs/demo.md shows to docs/demo/"
fi
