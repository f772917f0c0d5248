// dccs-bench-analytics: times the analytics rollup job's passes (actors/analytics.hpp) on a telemetry database
// that bench/analytics.sh filled. Usage: dccs-bench-analytics CONNECTION NOW_MS WINDOW_S [MAX_PASSES]
// Runs passes as if the time were NOW_MS until the job has caught up (or MAX_PASSES), one JSON line per pass:
// {"pass":1,"ms":812.4,"samples":1500000,"drones":5000,"recomputed":0,"resorted":0,"caught_up":false}

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <pqxx/pqxx>

#include "actors/analytics.hpp"
#include "runtime/log.hpp"
#include "runtime/migrate.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: dccs-bench-analytics CONNECTION NOW_MS WINDOW_S [MAX_PASSES]\n");
    return 2;
  }
  dccs::runtime::log::configure(dccs::runtime::log::level::warn, dccs::runtime::log::format::text);
  pqxx::connection conn{argv[1]};
  dccs::runtime::migrate(conn, "telemetry");
  dccs::actors::analytics_settings s;
  auto now_ms = std::stoll(argv[2]);
  s.window_s = std::stoll(argv[3]);
  s.settle_s = 0;
  s.history_days = 1;
  int max_passes = argc > 4 ? std::stoi(argv[4]) : 1000;
  for (int i = 1; i <= max_passes; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = dccs::actors::analytics::rollup_pass(conn, s, now_ms);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"pass\":%d,\"ms\":%.1f,\"samples\":%lld,\"drones\":%lld,\"recomputed\":%lld,\"resorted\":%lld,\"caught_up\":%s}\n", i,
                ms, static_cast<long long>(r.samples), static_cast<long long>(r.drones),
                static_cast<long long>(r.recomputed), static_cast<long long>(r.resorted), r.caught_up ? "true" : "false");
    std::fflush(stdout);
    if (!r.ran)
      return 1;
    if (r.caught_up)
      break;
  }
  return 0;
}
