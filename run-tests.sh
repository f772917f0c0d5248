#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest) against a throwaway PostgreSQL
# (pg_virtualenv: a temporary cluster, removed afterwards; the tests find it through PG* variables).
# Exit code 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")"
bash deploy/install-deps.sh
bash deploy/build.sh
cd "${DCCS_BUILD_DIR:-build}"
status=0
pg_virtualenv -v 15 ctest --output-on-failure -j "$(nproc)" --timeout 300 > ctest.log 2>&1 || status=$?
# ctest's summary last, so that it is the closing line of this command's output.
grep -v -E "^100% tests passed|^[0-9]+% tests passed|^Total Test time" ctest.log || true
grep -E "tests passed|Total Test time" ctest.log || true
exit $status
