#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest). Exit code 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")"
bash deploy/install-deps.sh
bash deploy/build.sh
cd "${DCCS_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300
