// dccs-bench-caf: the ceiling of CAF's middleman on this machine (bench/cluster-paths.sh): two processes, one
// publishes an actor on a port, the other sends it messages over a BASP connection on 127.0.0.1.
//
//   dccs-bench-caf serve PORT                 answers every message (until killed)
//   dccs-bench-caf ping PORT SECONDS WINDOW   round trips of a small message, WINDOW in flight at once
//   dccs-bench-caf push PORT SECONDS BYTES    one-way messages of a BYTES-long string, a reply every 256 (so
//                                             that the sender never runs more than 4096 ahead)
// Prints one JSON line: messages per second (round trips for ping) and, for ping, the round-trip p50/p99 (µs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace {

using clk = std::chrono::steady_clock;

caf::behavior echo(caf::event_based_actor*) {
  return {
    [](std::int64_t x) { return x; },
    [](std::int64_t, const std::string&) {}, // one-way (push): no answer
  };
}

int usage() {
  std::fprintf(stderr, "usage: dccs-bench-caf serve PORT | ping PORT SECONDS WINDOW | push PORT SECONDS BYTES\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    return usage();
  std::string mode = argv[1];
  auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  if (mode == "serve") {
    auto a = sys.spawn(echo);
    auto p = sys.middleman().publish(a, port, "127.0.0.1");
    if (!p) {
      std::fprintf(stderr, "publish: %s\n", sys.render(p.error()).c_str());
      return 1;
    }
    std::fprintf(stderr, "serving on %u\n", *p);
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (argc < 5 || (mode != "ping" && mode != "push"))
    return usage();
  double seconds = std::atof(argv[3]);
  long param = std::atol(argv[4]);
  auto remote = sys.middleman().remote_actor("127.0.0.1", port);
  if (!remote) {
    std::fprintf(stderr, "connect: %s\n", sys.render(remote.error()).c_str());
    return 1;
  }
  caf::scoped_actor self{sys};
  auto end = clk::now() + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(seconds));
  std::uint64_t done = 0;
  if (mode == "ping") {
    // WINDOW requests in flight; each answer sends the next one.
    std::vector<clk::time_point> sent(static_cast<std::size_t>(std::max(1L, param)));
    std::vector<double> rtt_us;
    rtt_us.reserve(1 << 20);
    for (std::size_t i = 0; i < sent.size(); ++i) {
      sent[i] = clk::now();
      self->send(*remote, static_cast<std::int64_t>(i));
    }
    auto start = clk::now();
    bool running = true;
    std::size_t outstanding = sent.size();
    while (outstanding > 0) {
      self->receive([&](std::int64_t slot) {
        auto now = clk::now();
        auto i = static_cast<std::size_t>(slot);
        if (rtt_us.size() < rtt_us.capacity())
          rtt_us.push_back(std::chrono::duration<double, std::micro>(now - sent[i]).count());
        ++done;
        if (running && now >= end)
          running = false;
        if (running) {
          sent[i] = now;
          self->send(*remote, slot);
        } else {
          --outstanding;
        }
      });
    }
    double elapsed = std::chrono::duration<double>(clk::now() - start).count();
    std::sort(rtt_us.begin(), rtt_us.end());
    auto pct = [&](double q) { return rtt_us.empty() ? 0.0 : rtt_us[std::min(rtt_us.size() - 1, static_cast<std::size_t>(q * (rtt_us.size() - 1)))]; };
    std::printf("{\"mode\":\"ping\",\"window\":%ld,\"round_trips_per_s\":%.0f,\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f}\n",
                param, done / elapsed, pct(0.5), pct(0.99));
    return 0;
  }
  // push: one-way messages; after every 256 a message that is answered, and at most 16 answers outstanding.
  std::string payload(static_cast<std::size_t>(std::max(0L, param)), 'x');
  auto start = clk::now();
  std::uint64_t asked = 0, answered = 0;
  while (clk::now() < end) {
    for (int k = 0; k < 256; ++k)
      self->send(*remote, static_cast<std::int64_t>(-1), payload);
    self->send(*remote, static_cast<std::int64_t>(asked++));
    done += 257;
    while (asked - answered > 16)
      self->receive([&](std::int64_t) { ++answered; });
  }
  while (answered < asked)
    self->receive([&](std::int64_t) { ++answered; });
  double elapsed = std::chrono::duration<double>(clk::now() - start).count();
  std::printf("{\"mode\":\"push\",\"bytes\":%ld,\"messages_per_s\":%.0f,\"mbytes_per_s\":%.1f}\n", param, done / elapsed,
              done * static_cast<double>(payload.size()) / elapsed / 1e6);
  return 0;
}
