#!/usr/bin/env bash
# bench/commands.sh: command latency of one node with a fleet's telemetry in the background.
#
#   A node with its PostgreSQL (the journal) and Redis, throwaway ones started here; COMMANDS_BACKGROUND drones
#   (default 4000, ids bg-NNNNN) sending telemetry only and COMMANDS_DRONES (1000, ids cmd-NNNNN) that are
#   simulated autopilots (dccs-sim --autopilot --command-log), all at COMMANDS_HZ (5) frames/s.
#   dccs-bench-commands issues `set_speed` commands to the cmd- drones round robin over REST at a fixed rate (open
#   loop: latencies count from each command's due time) and watches one operator socket subscribed to them.
#
#   1. Fixed load: COMMANDS_COUNT (10000) commands at COMMANDS_RATE (50) per second. Per command: delivery (due ->
#      the frame read on the drone's socket, from the simulator's --command-log), the 202 answer (due -> 202 read),
#      the round trip (due -> the final state's frame read on the operator socket: drone ack and journal included)
#      and the stages between (its queued and sent states on the operator socket); p50 / p99 / max of each.
#   2. Rate sweep: COMMANDS_SWEEP rates (10 25 50 ... 1600 /s), COMMANDS_STEP_S (10) seconds each, until
#      the round trip's p99 exceeds COMMANDS_LIMIT_MS (50): p99 per rate, the highest rate within the limit, and
#      what bounds it (node, PostgreSQL and journal-connection CPU, transactions and WAL flushes per second).
#
# Appends a section to COMMANDS_REPORT (default bench/commands-report.md); raw data and logs stay in the run
# folder it prints (<build dir>/bench-runs/commands-<UTC date-time>/).
#
#   bench/commands.sh                                   # full size, about 5 minutes
#   COMMANDS_SMOKE=1 bench/commands.sh                  # 50 + 200 drones, 500 commands, 2 sweep rates (~1 min)
#   BENCH_BUILD=0 BENCH_BUILD_DIR=build-release bench/commands.sh   # binaries as they are
set -uo pipefail # (no -e: stopping a process returns its signal status)
cd "$(dirname "$0")/.." || exit 1
LOG_TAG=commands
source bench/lib.sh

if [[ ${COMMANDS_SMOKE:-0} == 1 ]]; then
  : "${COMMANDS_DRONES:=50}" "${COMMANDS_BACKGROUND:=200}" "${COMMANDS_COUNT:=500}" "${COMMANDS_RATE:=100}"
  : "${COMMANDS_SWEEP=100 400}" "${COMMANDS_STEP_S:=3}" "${COMMANDS_REPORT:=/tmp/dccs-commands-smoke.md}"
fi
DRONES=${COMMANDS_DRONES:-1000}
BACKGROUND=${COMMANDS_BACKGROUND:-4000}
HZ=${COMMANDS_HZ:-5}
COUNT=${COMMANDS_COUNT:-10000}
RATE=${COMMANDS_RATE:-50}
SWEEP=${COMMANDS_SWEEP-10 25 50 100 200 400 800 1600} # set and empty: no sweep
STEP_S=${COMMANDS_STEP_S:-10}
LIMIT_MS=${COMMANDS_LIMIT_MS:-50}
CONNECTIONS=${COMMANDS_CONNECTIONS:-32}
SETTLE=${COMMANDS_SETTLE:-5}
NODE_ARGS=${COMMANDS_NODE_ARGS:-}
PG_CONF=${COMMANDS_PG_CONF:-}
PG_STATS=${COMMANDS_PG_STATS:-1}
REPORT=${COMMANDS_REPORT:-bench/commands-report.md}
BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
CONNECT_TIMEOUT=${BENCH_CONNECT_TIMEOUT:-120}
SEED=${BENCH_SEED:-1}
command -v python3 >/dev/null || die "python3 is needed"
((DRONES > 0 && COUNT > 0)) || die "COMMANDS_DRONES and COMMANDS_COUNT must be positive"

# -- build ----------------------------------------------------------------------------------------------------------
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BUILD_DIR/bench-runs"
RUN_DIR=$(cd "$BUILD_DIR/bench-runs" && pwd)/commands-$STAMP
mkdir -p "$RUN_DIR"
if [[ ${BENCH_BUILD:-1} == 1 ]]; then
  log "building dccs dccs-sim dccs-bench-commands in $BUILD_DIR (Release)"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCCS_SIM_ONLY=OFF >"$RUN_DIR/cmake.log" 2>&1 ||
      { tail -20 "$RUN_DIR/cmake.log" >&2; die "cmake failed (log: $RUN_DIR/cmake.log)"; }
  fi
  ninja -C "$BUILD_DIR" dccs dccs-sim dccs-bench-commands >"$RUN_DIR/build.log" 2>&1 ||
    { tail -30 "$RUN_DIR/build.log" >&2; die "build failed (log: $RUN_DIR/build.log)"; }
fi
BUILD=$(build_dir "$BUILD_DIR" dccs sim/dccs-sim bench/dccs-bench-commands) || exit 1
trap stop_all EXIT
log "run folder: $RUN_DIR"

# -- PostgreSQL, Redis, the node ------------------------------------------------------------------------------------
# pg_stat_statements (what the journal's statements cost) and WAL timing (how long a flush takes), unless
# COMMANDS_PG_STATS=0.
PG_BASE=""
[[ $PG_STATS == 1 ]] &&
  PG_BASE="shared_preload_libraries = 'pg_stat_statements';pg_stat_statements.track = all;track_wal_io_timing = on;"
pg_start "$PG_BASE$PG_CONF"
redis_start
DB=bench_commands
q -d postgres -c "CREATE DATABASE $DB" || die "cannot create the database"
[[ $PG_STATS == 1 ]] && { q -d "$DB" -c "CREATE EXTENSION pg_stat_statements" || die "pg_stat_statements is missing"; }
TOKEN=$(run_token "$BUILD" bench-commands)
[[ -n $TOKEN ]] || die "no token (dccs keys token failed)"
printf '%s\n' "$TOKEN" >"$RUN_DIR/token"
PORT=$(free_port) || die "no free port for the node"
NODE_CMD=("$BUILD/dccs" --http.port "$PORT" --log.level warn --node.data_dir "$RUN_DIR/node"
  --auth.keys_dir "$RUN_DIR/keys" --http.metrics_public true --db.url "$(pg_url "$DB")"
  --redis.url "redis://127.0.0.1:$REDIS_PORT")
# shellcheck disable=SC2206 # NODE_ARGS is a list of flags
NODE_CMD+=($NODE_ARGS)
mkdir -p "$RUN_DIR/node"
echo "${NODE_CMD[*]}" >"$RUN_DIR/node.cmd"
"${NODE_CMD[@]}" >"$RUN_DIR/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
wait_ready "$NODE_PID" "$PORT" 60 || die "the node did not start (log $RUN_DIR/node.log)"
log "node ready on port $PORT (pid $NODE_PID), PostgreSQL $PG_VERSION, Redis on $REDIS_PORT"

# -- the fleets -----------------------------------------------------------------------------------------------------
URL=ws://127.0.0.1:$PORT
BG_PID=""
if ((BACKGROUND > 0)); then
  mkdir -p "$RUN_DIR/bg"
  start_sim "$RUN_DIR/bg" "$BUILD/sim/dccs-sim" --url "$URL" --drones "$BACKGROUND" --rate "$HZ" --prefix bg- \
    --seed "$SEED" --report-interval 10 --json
  BG_PID=$SIM_PID
fi
mkdir -p "$RUN_DIR/cmd"
start_sim "$RUN_DIR/cmd" "$BUILD/sim/dccs-sim" --url "$URL" --drones "$DRONES" --rate "$HZ" --prefix cmd- \
  --seed "$((SEED + 1))" --autopilot --command-log "$RUN_DIR/received.tsv" --report-interval 10 --json
CMD_PID=$SIM_PID
[[ -z $BG_PID ]] || wait_fleet "$BG_PID" "$RUN_DIR/bg/sim.log" "$CONNECT_TIMEOUT" ||
  die "the background fleet did not connect (log $RUN_DIR/bg/sim.log)"
wait_fleet "$CMD_PID" "$RUN_DIR/cmd/sim.log" "$CONNECT_TIMEOUT" ||
  die "the commanded fleet did not connect (log $RUN_DIR/cmd/sim.log)"
log "fleets connected: $BACKGROUND + $DRONES drones at $HZ Hz; settling ${SETTLE}s"
sleep "$SETTLE"

# -- measuring ------------------------------------------------------------------------------------------------------
JOURNAL_PID="" # the node's command journal connections (their PostgreSQL backends, space-separated)
find_journal_backend() {
  JOURNAL_PID=$(q -d "$DB" -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = current_database()
    AND (query LIKE '%commands.issue(%' OR query LIKE '%UPDATE commands.commands%' OR query LIKE '%commands.transitions%')
    AND pid <> pg_backend_pid()" 2>/dev/null)
}
journal_ticks() { local p s=0; for p in $JOURNAL_PID; do s=$((s + $(cpu_ticks "$p" || echo 0))); done; echo "$s"; }
pg_counters() { # -> "xact_commit wal_sync wal_sync_time" of the database / the cluster (ms; 0 without timing)
  q -d "$DB" -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) || ' ' ||
    (SELECT wal_sync || ' ' || wal_sync_time FROM pg_stat_wal)"
}
declare -A S # S[<prefix>,<counter>]: readings of sample
sample() { # prefix phase: reads every counter into S[prefix,*]; /metrics into <phase>.metrics-<prefix>.txt
  local p=$1 m="$RUN_DIR/$2.metrics-$1.txt"
  S[$p,t]=$(now)
  S[$p,node]=$(cpu_ticks "$NODE_PID")
  S[$p,pg]=$(pg_ticks "$PM_PID")
  S[$p,redis]=$(cpu_ticks "$REDIS_PID")
  S[$p,sims]=$(($([[ -n $BG_PID ]] && cpu_ticks "$BG_PID" || echo 0) + $(cpu_ticks "$CMD_PID")))
  S[$p,journal]=$([[ -n $JOURNAL_PID ]] && journal_ticks)
  S[$p,busy]=$(machine_busy)
  S[$p,steal]=$(awk '/^cpu / { print $9 }' /proc/stat) # time the host gave to other machines (steal)
  read -r "S[$p,commits]" "S[$p,walsync]" "S[$p,walsync_ms]" <<<"$(pg_counters)"
  scrape "$PORT" "$m"
  S[$p,issued]=$(metric "$m" dccs_commands_issued_total)
  S[$p,finished]=$(metric "$m" dccs_commands_finished_total)
}
delta() { echo "${S[b,$1]:-0} - ${S[a,$1]:-0}"; } # counter -> "after - before" (an expression)
pct_of() { calc "%.1f" "100 * ($1) / $CLK_TCK / $2"; } # ticks seconds -> % of one core

# Runs one phase: name rate count drain -> a line of $RUN_DIR/phases.tsv; the tool's lines in <name>.tsv.
printf 'phase\trate\tcount\tsecs\tnode_cpu\tpg_cpu\tjournal_cpu\tredis_cpu\tsims_cpu\ttool_cpu\tbusy\tother\tcommits_s\twal_syncs_s\twal_sync_ms\tissued_s\tfinished_s\tsteal\n' \
  >"$RUN_DIR/phases.tsv"
run_phase() {
  local name=$1 rate=$2 count=$3 drain=$4 secs tool_cpu
  sample a "$name"
  "$BUILD/bench/dccs-bench-commands" --port "$PORT" --token-file "$RUN_DIR/token" --prefix cmd- --drones "$DRONES" \
    --rate "$rate" --count "$count" --connections "$CONNECTIONS" --drain "$drain" --out "$RUN_DIR/$name.tsv" \
    >"$RUN_DIR/$name.json" 2>"$RUN_DIR/$name.log" &
  local tool=$! i
  if [[ -z $JOURNAL_PID ]]; then
    for ((i = 0; i < 40; i++)); do
      sleep 0.25
      find_journal_backend
      # every connection of the journal once the first second's commands have reached them
      ((i >= 3)) && [[ -n $JOURNAL_PID ]] && break
    done
    [[ -n $JOURNAL_PID ]] && S[a,journal]=$(journal_ticks) # from here on (the phase's first second is missed)
  fi
  wait "$tool"
  local rc=$?
  sample b "$name"
  ((rc == 0)) || log "warning: dccs-bench-commands exited with $rc in $name (log $RUN_DIR/$name.log)"
  secs=$(calc "%.3f" "$(delta t)")
  tool_cpu=$(json_get "$RUN_DIR/$name.json" cpu_s)
  tool_cpu=$(calc "%.1f" "100 * ${tool_cpu:-0} / $secs")
  local node pg journal="-" redis sims busy other
  node=$(pct_of "$(delta node)" "$secs")
  pg=$(pct_of "$(delta pg)" "$secs")
  [[ -n ${S[a,journal]} && -n ${S[b,journal]} ]] && journal=$(pct_of "$(delta journal)" "$secs")
  redis=$(pct_of "$(delta redis)" "$secs")
  sims=$(pct_of "$(delta sims)" "$secs")
  busy=$(pct_of "$(delta busy)" "$secs")
  other=$(calc "%.1f" "$busy - $node - $pg - $redis - $sims - $tool_cpu")
  local syncs
  syncs=$(calc "%.0f" "$(delta walsync)")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rate" "$count" "$secs" "$node" \
    "$pg" "$journal" "$redis" "$sims" "$tool_cpu" "$busy" "$other" "$(calc "%.0f" "($(delta commits)) / $secs")" \
    "$(calc "%.0f" "$syncs / $secs")" "$( ((syncs > 0)) && [[ $PG_STATS == 1 ]] && calc "%.2f" "($(delta walsync_ms)) / $syncs" || echo -)" \
    "$(calc "%.0f" "($(delta issued)) / $secs")" \
    "$(calc "%.0f" "($(delta finished)) / $secs")" "$(pct_of "$(delta steal)" "$secs")" >>"$RUN_DIR/phases.tsv"
  log "$name: $(cat "$RUN_DIR/$name.json")"
  log "$name: node $node %, PG $pg % (journal connections ${journal:-?} %), machine busy $busy % (other $other %)"
}

log "fixed load: $COUNT commands at $RATE/s to $DRONES drones"
[[ $PG_STATS == 1 ]] && q -d "$DB" -c "SELECT pg_stat_statements_reset()" >/dev/null
run_phase fixed "$RATE" "$COUNT" 10
# What the database did for the fixed phase, per statement (every connection of the node: journal, registry, audit,
# telemetry writer), most time first.
[[ $PG_STATS == 1 ]] && q -d "$DB" -F $'\t' -c "SELECT calls, round(total_exec_time::numeric, 1),
    round(mean_exec_time::numeric, 3), regexp_replace(left(query, 160), '\s+', ' ', 'g')
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  ORDER BY total_exec_time DESC LIMIT 20" >"$RUN_DIR/statements.tsv"
BEST=""
for r in $SWEEP; do
  sleep 2
  n=$(calc "%.0f" "$r * $STEP_S")
  log "sweep: $n commands at $r/s"
  run_phase "sweep-$r" "$r" "$n" 5
  p99=$(json_get "$RUN_DIR/sweep-$r.json" rtt_p99_ms)
  if [[ $p99 =~ ^[0-9.]+$ ]] && awk -v p="$p99" -v l="$LIMIT_MS" 'BEGIN { exit !(p <= l) }'; then
    BEST=$r
  else
    log "p99 round trip ${p99} ms at $r/s is over ${LIMIT_MS} ms: the sweep stops here"
    break
  fi
done
[[ -z ${SWEEP// /} ]] || log "highest rate with p99 round trip <= ${LIMIT_MS} ms: ${BEST:-none}"

# The simulators' final reports, and the command log written out.
[[ -z $BG_PID ]] || stop_pid "$BG_PID" 20
stop_pid "$CMD_PID" 20
stop_pid "$NODE_PID" 20
log "writing the report"

MACHINE="$(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
BUILT="${BENCH_BUILD_DIR:+BENCH_BUILD_DIR=$BENCH_BUILD_DIR }${BENCH_BUILD:+BENCH_BUILD=$BENCH_BUILD }"
COMMAND="${BUILT}COMMANDS_DRONES=$DRONES COMMANDS_BACKGROUND=$BACKGROUND COMMANDS_HZ=$HZ COMMANDS_COUNT=$COUNT COMMANDS_RATE=$RATE COMMANDS_SWEEP=\"$SWEEP\" COMMANDS_STEP_S=$STEP_S COMMANDS_CONNECTIONS=$CONNECTIONS${NODE_ARGS:+ COMMANDS_NODE_ARGS=\"$NODE_ARGS\"}${PG_CONF:+ COMMANDS_PG_CONF=\"$PG_CONF\"} bench/commands.sh"
REV=$(git rev-parse --short HEAD 2>/dev/null) || REV="?"
# What was built: HEAD, and whether the working tree differed from it (not known for binaries used as they are).
[[ $REV != "?" && ${BENCH_BUILD:-1} == 1 ]] && ! git diff --quiet HEAD -- 2>/dev/null && REV+=" + uncommitted changes"
python3 - "$RUN_DIR" "$LIMIT_MS" "$MACHINE" "$COMMAND" "$REV" \
  "$PG_VERSION" "${BUILD#"$PWD"/}" "$DRONES" "$BACKGROUND" "$HZ" >"$RUN_DIR/section.md" <<'PY' || die "the report could not be written"
import csv, json, math, os, sys, time

run, limit, machine, command, commit, pg_version, build, drones, background, hz = sys.argv[1:11]
limit = float(limit)
STRETCH_S = 10

# When each command frame first reached its drone (the simulator's --command-log, any attempt).
received = {}
with open(os.path.join(run, "received.tsv")) as f:
    for line in f:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            t = int(parts[2])
            if parts[0] not in received or t < received[parts[0]]:
                received[parts[0]] = t

def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]

def ms(x):
    return "—" if x is None else ("never" if math.isinf(x) else f"{x:.2f}")

def phase(name):
    rows = []
    with open(os.path.join(run, name + ".tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            rows.append(dict(due=int(p[2]), sent=int(p[3]), answered=int(p[4]), status=int(p[5]), code=p[6], id=p[7],
                             final=int(p[8]), state=p[9], queued_op=int(p[10]), sent_op=int(p[11])))
    inf = float("inf")
    ok = [r for r in rows if r["status"] == 202]
    out = dict(count=len(rows), accepted=len(ok), in_flight=sum(r["status"] == 409 and r["code"] == "command_in_flight" for r in rows),
               transport=sum(r["status"] == 0 for r in rows))
    out["other"] = out["count"] - out["accepted"] - out["in_flight"] - out["transport"]
    out["delivered"] = sum(r["id"] in received for r in ok)
    out["finals"] = sum(r["final"] > 0 for r in ok)
    out["succeeded"] = sum(r["state"] == "succeeded" for r in ok)
    delivery = [(received[r["id"]] - r["due"]) / 1000 if r["id"] in received else inf for r in ok]
    answer = [(r["answered"] - r["due"]) / 1000 for r in rows if r["status"] != 0]
    rtt = [(r["final"] - r["due"]) / 1000 if r["final"] > 0 else inf for r in ok]
    lag = [(r["sent"] - r["due"]) / 1000 for r in rows if r["sent"] > 0]
    at = lambda t, r: (t - r["due"]) / 1000 if t > 0 else inf  # noqa: E731 (ms after due; never: infinitely late)
    queued_op = [at(r["queued_op"], r) for r in ok]
    sent_op = [at(r["sent_op"], r) for r in ok]
    # From the frame read by the drone to the final state on the operator socket: the drone's ack, the journal, the hub.
    back = [(r["final"] - received[r["id"]]) / 1000 if r["final"] > 0 and r["id"] in received else inf for r in ok]
    # Delivery after acceptance: from the 202 read (the command journaled and accepted) to the frame read by the drone;
    # negative when the drone read its frame before the load tool read the answer (both are sent at once).
    after_202 = [(received[r["id"]] - r["answered"]) / 1000 if r["id"] in received else inf for r in ok]
    for key, v in (("delivery", delivery), ("answer", answer), ("rtt", rtt), ("lag", lag), ("queued_op", queued_op),
                   ("sent_op", sent_op), ("back", back), ("after_202", after_202)):
        out[key] = (pct(v, 0.5), pct(v, 0.99), pct(v, 1.0))
    if rows:
        span = (max(r["sent"] for r in rows) - min(r["due"] for r in rows)) / 1e6
        out["achieved"] = (len(rows) - 1) / span if span > 0 else 0
    # The round trip over the phase, by stretches of STRETCH_S seconds of due times: where the tail comes from (a
    # stretch of slow commands is something the node, PostgreSQL or the machine did then, not spread-out noise).
    stretches = {}
    if ok:
        first = min(r["due"] for r in ok)
        for r, v in zip(ok, rtt):
            stretches.setdefault(int((r["due"] - first) / 1e6 // STRETCH_S), []).append(v)
    out["stretches"] = [(k * STRETCH_S, pct(v, 0.5), pct(v, 1.0)) for k, v in sorted(stretches.items())]
    return out

phases = {}
with open(os.path.join(run, "phases.tsv")) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        phases[r["phase"]] = r

def trio(t):
    return " / ".join(ms(x) for x in t)

def histogram(name, phase_name):
    """A node histogram's observations over a phase (end minus start scrape): (count, mean, p50, p99) in ms, the
    quantiles read from the buckets (the bound of the bucket that reaches them: bucket resolution only)."""
    def read(path):
        buckets, total, count = {}, 0.0, 0
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(name + "_bucket{le=\""):
                        le = line.split('"')[1]
                        buckets[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
                    elif line.startswith(name + "_sum "):
                        total = float(line.split()[-1])
                    elif line.startswith(name + "_count "):
                        count = int(float(line.split()[-1]))
        except OSError:
            pass
        return buckets, total, count
    (b0, s0, c0), (b1, s1, c1) = (read(os.path.join(run, f"{phase_name}.metrics-{x}.txt")) for x in "ab")
    n = c1 - c0
    if n <= 0 or not b1:
        return None
    def q(frac):
        for le in sorted(b1):
            if b1[le] - b0.get(le, 0) >= frac * n:
                return le
        return float("inf")
    return n, (s1 - s0) / n, q(0.5), q(0.99)

def counter_delta(name, phase_name):
    """A node counter's increase over a phase (end minus start scrape), or None."""
    def read(path):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(name + " "):
                        return float(line.split()[-1])
        except OSError:
            pass
        return None
    a, b = (read(os.path.join(run, f"{phase_name}.metrics-{x}.txt")) for x in "ab")
    return None if a is None or b is None else b - a

def hist_text(h):
    if h is None:
        return "—"
    le = lambda x: "≤ " + (f"{x:g}" if not math.isinf(x) else "∞")  # noqa: E731
    return f"mean {h[1]:.2f}, p50 {le(h[2])}, p99 {le(h[3])} ({h[0]} commands)"

fixed = phase("fixed")
pf = phases["fixed"]
accept_wait = histogram("dccs_command_accept_wait_ms", "fixed")
accept_db = histogram("dccs_command_accept_db_ms", "fixed")
L = []
L.append("")
L.append(f"## Commands — {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {commit}, {machine}")
L.append("")
L.append(f"Command: `{command}` (build `{build}`, Release; PostgreSQL {pg_version}). "
         f"{background} background drones (telemetry only) + {drones} simulated autopilots (the commanded ones), "
         f"all at {hz} Hz; one node with its journal (PostgreSQL) and Redis; commands `set_speed` round robin over "
         f"the {drones}, issued open loop over keep-alive HTTP connections, latencies from each command's due time.")
L.append("")
L.append("### Fixed load")
L.append("")
L.append("| from the command's due time to | p50 / p99 / max (ms) |")
L.append("|---|---|")
L.append(f"| the 202 read (the command journaled) | {trio(fixed['answer'])} |")
L.append(f"| its `queued` state on the operator socket (published with the 202) | {trio(fixed['queued_op'])} |")
L.append(f"| **delivery**: the command frame read on the drone's socket | **{trio(fixed['delivery'])}** |")
L.append(f"| (delivery after acceptance: from the 202 read to the frame read by the drone; the journal before both) | {trio(fixed['after_202'])} |")
L.append(f"| its `sent` state on the operator socket (journaled after the frame was written) | {trio(fixed['sent_op'])} |")
L.append(f"| **round trip**: its final state on the operator socket (drone ack and journal included) | **{trio(fixed['rtt'])}** |")
L.append(f"| the request written (the load tool's own lag) | {trio(fixed['lag'])} |")
L.append("")
L.append(f"From the frame read by the drone to the final state on the operator socket (the drone's ack, the journal's "
         f"`sent` and `succeeded` transactions, the hub, the operator's socket): {trio(fixed['back'])} ms.")
L.append("")
L.append(f"Round trip by {STRETCH_S}-s stretch of the phase (due times from the first; p50 / max ms): "
         + ", ".join(f"{t} s {ms(a)} / {ms(b)}" for t, a, b in fixed["stretches"]) + ".")
L.append("")
L.append(f"Inside the node, before the 202 (its histograms, ms): from the request read to the journal taking it up "
         f"(`dccs_command_accept_wait_ms`: the actors and queues): {hist_text(accept_wait)}; the "
         f"journal's registry read and issue, committed (`dccs_command_accept_db_ms`): {hist_text(accept_db)}.")
L.append("")
L.append(f"{fixed['count']} commands at {pf['rate']}/s (achieved {fixed.get('achieved', 0):.0f}/s) to {drones} drones: "
         f"{fixed['accepted']} accepted (202), {fixed['in_flight']} refused 409 `command_in_flight`, {fixed['other']} other "
         f"answers, {fixed['transport']} transport errors; {fixed['delivered']} delivered (in the drones' log), "
         f"{fixed['finals']} final states seen on the operator socket, {fixed['succeeded']} `succeeded`. "
         f"Over the phase ({float(pf['secs']):.1f} s): node CPU {pf['node_cpu']} %, PostgreSQL {pf['pg_cpu']} % (the journal's "
         f"connections {pf['journal_cpu']} %), Redis {pf['redis_cpu']} %, simulators {pf['sims_cpu']} %, load tool "
         f"{pf['tool_cpu']} %, machine busy {pf['busy']} % of 200 (other {pf['other']} %), and {pf.get('steal', '?')} % of a core stolen by the hypervisor (/proc/stat steal: time this machine's CPUs waited for the host); the database committed "
         f"{pf['commits_s']} transactions/s with {pf['wal_syncs_s']} WAL flushes/s ({pf['wal_sync_ms']} ms each); "
         f"commands issued {pf['issued_s']}/s, "
         f"finished {pf['finished_s']}/s.")
secs = float(pf["secs"])
frames = counter_delta("dccs_frames_accepted_total", "fixed")
rows = counter_delta("dccs_telemetry_rows_committed_total", "fixed")
copied = counter_delta('dccs_telemetry_batches_by_path_total{path="copy"}', "fixed")
staged = counter_delta('dccs_telemetry_batches_by_path_total{path="staging"}', "fixed")
reports = histogram("dccs_command_report_batch", "fixed")
offered = (int(background) + int(drones)) * float(hz)
if frames is not None:
    L.append("")
    L.append(f"The fleet's telemetry over the phase: {frames / secs:,.0f} frames/s taken by the node of the "
             f"{offered:,.0f}/s the simulators are set to send"
             + (f", {rows / secs:,.0f} rows/s committed" if rows is not None else "")
             + (f" in {copied:.0f} transactions straight into the table and {staged:.0f} through the staging table"
                if copied is not None and staged is not None else "")
             + (f"; drone actors' command reports per journal transaction: mean {reports[1]:.2f} ({reports[0]} "
                f"transactions)" if reports else "")
             + ".")
targets = []
d99, r99, a99 = fixed["delivery"][1], fixed["rtt"][1], fixed["after_202"][1]
targets.append(f"p99 delivery ≤ 2 ms: from the due time {'met' if d99 is not None and d99 <= 2 else 'not met'} "
               f"({ms(d99)} ms), from the 202 (POST accepted, the issue's definition) "
               f"{'met' if a99 is not None and a99 <= 2 else 'not met'} ({ms(a99)} ms)")
targets.append(f"p99 round trip ≤ 10 ms: {'met' if r99 is not None and r99 <= 10 else 'not met'} ({ms(r99)} ms)")
L.append("")
L.append("Targets: " + "; ".join(targets) + ".")
statements = os.path.join(run, "statements.tsv")
if os.path.exists(statements) and fixed["accepted"]:
    L.append("")
    L.append(f"Statements of the fixed phase (pg_stat_statements, every connection of the node, most time first; per "
             f"command = calls ÷ {fixed['accepted']} accepted commands; time = the statement's execution in the server, "
             f"not the round trip to it):")
    L.append("")
    L.append("| calls per command | mean ms | total ms (% of the phase) | statement |")
    L.append("|---|---|---|---|")
    with open(statements) as f:
        for n, line in enumerate(f):
            if n == 12:
                break
            calls, total, mean, query = line.rstrip("\n").split("\t", 3)
            query = query.replace("|", "\\|")
            L.append(f"| {int(calls) / fixed['accepted']:.2f} | {float(mean):.3f} | {float(total):.0f} "
                     f"({100 * float(total) / 1000 / secs:.1f} %) | `{query}` |")
sweeps = [name for name in phases if name.startswith("sweep-")]
if sweeps:
    L.append("")
    L.append("### Rate sweep")
    L.append("")
    L.append("| offered /s | achieved /s | accepted / 409 / other / errors | final seen | delivery p50 / p99 (ms) | round trip p50 / p99 / max (ms) | node CPU % | PG CPU % (journal conns.) | machine busy % (other) | transactions /s | WAL flushes /s (ms each) | issued / finished /s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    best = None
    for name in sweeps:
        p = phases[name]
        s = phase(name)
        r99 = s["rtt"][1]
        within = r99 is not None and r99 <= limit
        if within:
            best = p["rate"]
        L.append(f"| {p['rate']} | {s.get('achieved', 0):.0f} | {s['accepted']} / {s['in_flight']} / {s['other']} / {s['transport']} | "
                 f"{s['finals']} | {ms(s['delivery'][0])} / {ms(s['delivery'][1])} | "
                 f"{ms(s['rtt'][0])} / {'**' if within else ''}{ms(r99)}{'**' if within else ''} / {ms(s['rtt'][2])} | "
                 f"{p['node_cpu']} | {p['pg_cpu']} ({p['journal_cpu']}) | {p['busy']} ({p['other']}) | {p['commits_s']} | "
                 f"{p['wal_syncs_s']} ({p['wal_sync_ms']}) | {p['issued_s']} / {p['finished_s']} |")
    L.append("")
    L.append(f"Highest offered rate with p99 round trip ≤ {limit:g} ms: **{best + '/s' if best else 'none of the rates'}**.")
print("\n".join(L))
PY
cat "$RUN_DIR/section.md" >>"$REPORT"
cat "$RUN_DIR/section.md" >&2
log "appended to $REPORT (raw data: $RUN_DIR)"
