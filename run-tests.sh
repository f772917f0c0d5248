#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest) against a throwaway PostgreSQL
# (pg_virtualenv: a temporary cluster, removed afterwards; the tests find it through PG* variables) and a
# throwaway Redis (a redis-server on a free port of 127.0.0.1 with its data in a temporary folder, killed
# afterwards; the tests find it through DCCS_TEST_REDIS_URL). Exit code 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")"
bash deploy/install-deps.sh
bash deploy/build.sh
# The JWT interoperability test verifies our tokens with an independent library (npm `jose`).
npm ci --prefix tests/auth/interop --no-audit --no-fund --loglevel=error
cd "${DCCS_BUILD_DIR:-build}"

redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/dccs-test-redis.XXXXXX")"
redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$redis_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when redis-server $redis_pid answers PING on port $1 (and not some other server on that port).
redis_is_ours() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ] &&
    redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$redis_pid"
}

# A random port that nothing answers on; if redis-server still cannot bind it (taken meanwhile), try another.
redis_port=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # something listens there
  redis-server --port "$port" --bind 127.0.0.1 --dir "$redis_dir" --save '' --appendonly no \
    --daemonize no --logfile "$redis_dir/redis.log" &
  redis_pid=$!
  deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$redis_pid" 2>/dev/null; do
    if redis_is_ours "$port"; then
      redis_port="$port"
      break
    fi
    sleep 0.05
  done
  [ -n "$redis_port" ] && break
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
done
if [ -z "$redis_port" ]; then
  echo "could not start a throwaway redis-server; its log:" >&2
  cat "$redis_dir/redis.log" >&2 || true
  exit 1
fi
export DCCS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"

status=0
pg_virtualenv -v 15 ctest --output-on-failure -j "$(nproc)" --timeout 300 > ctest.log 2>&1 || status=$?
# ctest's summary last, so that it is the closing line of this command's output.
grep -v -E "^100% tests passed|^[0-9]+% tests passed|^Total Test time" ctest.log || true
grep -E "tests passed|Total Test time" ctest.log || true
exit $status
