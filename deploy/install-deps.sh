#!/usr/bin/env bash
# Installs the Debian 12 packages DCCS builds and tests with, if any is missing. Safe to run again.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libcaf-dev libboost-dev libsimdjson-dev nlohmann-json3-dev catch2 libssl-dev libpqxx-dev libargon2-dev
  postgresql postgresql-common redis-server libhiredis-dev
  curl procps openssl
  chromium fonts-liberation
)

# Chromium runs the dashboard's browser tests (tests/web, driven by playwright-core).
# Node.js and npm build the dashboard (web/) and run its tests and the JWT interoperability test; the machine's own
# Node.js is used when there is one (the dashboard's build needs Node.js 20.19 or newer).
command -v node > /dev/null && command -v npm > /dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
