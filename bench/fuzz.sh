#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer + UndefinedBehaviorSanitizer) in a build
# folder of their own and runs each for a given time, one after the other, single process.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]      # default: $FUZZ_SECONDS or 300 s per target; every target
#   FUZZ_SECONDS=3600 bench/fuzz.sh jwt      # one target for an hour
#   FUZZ_MERGE=1 bench/fuzz.sh 600           # then merge what found new coverage into tests/fuzz/corpus/<target>
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_CXX (clang++-14), FUZZ_ARGS (more libFuzzer flags).
# Each run starts from the seed corpus (tests/fuzz/corpus/<target>, read only) plus what earlier runs found
# (<build>/fuzz-corpus/<target>); a crash, leak, sanitizer report or violated property leaves its input in
# <build>/fuzz-artifacts/<target>/ and makes the script exit 1 after the other targets ran. Logs:
# <build>/fuzz-logs/<target>.log. The last lines printed are one summary row per target.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-300}"
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
build="${FUZZ_BUILD_DIR:-build-fuzz}"
cxx="${FUZZ_CXX:-clang++-14}"
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; on Debian 12: apt-get install -y clang-14 libclang-rt-14-dev llvm-14" >&2
  exit 2
fi

# The targets: the lines `dccs_fuzz_target(<name> ...)` of tests/fuzz/CMakeLists.txt, or those named.
mapfile -t all < <(sed -n 's/^dccs_fuzz_target(\([A-Za-z0-9_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: no target $t (targets: ${all[*]})" >&2
    exit 2
  fi
done

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" -DDCCS_FUZZ=ON \
  -DDCCS_WITH_SIM=OFF >/dev/null
ninja -C "$build" $(printf 'fuzz_%s ' "${targets[@]}")

symbolizer="$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}${symbolizer:+:external_symbolizer_path=$symbolizer}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== $t: $seconds s (log $log)"
  result=ok
  # Frames may be up to 64 KiB (operator.max_frame): let inputs grow that far.
  # shellcheck disable=SC2086
  if ! "$build/tests/fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
      >"$log" 2>&1; then
    result="FOUND: $(ls -t "$artifacts" | head -1)"
    status=1
    grep -E "ERROR|SUMMARY|property violated|runtime error" "$log" | head -5 || true
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)"
  summary+=("$t	${seconds}s	execs ${execs:-?}	${cov:-?}	$result")
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$result" = ok ]; then
    "$build/tests/fuzz/fuzz_$t" -merge=1 -max_len=65536 "tests/fuzz/corpus/$t" "$corpus" >>"$log" 2>&1
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
