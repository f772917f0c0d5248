#!/usr/bin/env bash
# Configures and builds DCCS into build/ (or $DCCS_BUILD_DIR). Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${DCCS_BUILD_DIR:-build}"
build_type="${DCCS_BUILD_TYPE:-RelWithDebInfo}"
if [ ! -f "$build_dir/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" > /dev/null
fi
ninja -C "$build_dir"
