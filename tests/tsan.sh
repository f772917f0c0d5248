#!/usr/bin/env bash
# Builds the node and the test suite with ThreadSanitizer in a build folder of its own and runs ctest in it,
# against the PostgreSQL and Redis the environment names (as run-tests.sh starts them, or PGHOST/PGPORT/PGUSER and
# DCCS_TEST_REDIS_URL of your own).
#
#   tests/tsan.sh [CTEST ARGS...]      # e.g. tests/tsan.sh -R drone
#
# Environment: TSAN_BUILD_DIR (build-tsan). Reports go to <build>/tsan-logs/<pid> (TSAN_OPTIONS log_path); the
# script prints every report's first lines and exits 1 when there is one, or when a test failed.
#
# What it can see: Debian's CAF is not instrumented, so a message handed from one scheduler thread to another
# happens-before nothing TSan knows of; reports whose stack runs through CAF's message passing are suppressed
# (tests/tsan.supp). Everything else is checked: the Beast front (strands, the connection registry, the gate),
# the telemetry buffer and writer, acknowledgements, metrics, the revocation set, the Redis and PostgreSQL clients.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TSAN_BUILD_DIR:-build-tsan}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCCS_TSAN=ON -DDCCS_WEB=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
logs="$(pwd)/$build/tsan-logs"
rm -rf "$logs"
mkdir -p "$logs"
# ignore_noninstrumented_modules: accesses made by uninstrumented libraries (CAF, libstdc++'s out-of-line string
# code, OpenSSL under CAF's OpenSSL module) through TSan's interceptors are not checked: their synchronization is
# invisible (a string made on one scheduler thread and read on another after a CAF message looks unordered).
# DCCS's own code is instrumented and checked in full.
export TSAN_OPTIONS="suppressions=$(pwd)/tests/tsan.supp log_path=$logs/report second_deadlock_stack=1 halt_on_error=0 ignore_noninstrumented_modules=1"
status=0
(cd "$build" && ctest -j"$(nproc)" --output-on-failure "$@") || status=1
reports=("$logs"/report*)
if [ -e "${reports[0]}" ]; then
  for r in "${reports[@]}"; do
    echo "== $r"
    grep -A12 "WARNING: ThreadSanitizer" "$r" | head -40
  done
  echo "tsan.sh: ${#reports[@]} report file(s) in $logs" >&2
  status=1
fi
exit $status
