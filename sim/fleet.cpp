#include "sim/fleet.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dccs::sim {

namespace net = boost::asio;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// connect_gate

void connect_gate::request(drone* d) {
  if (in_flight_ < limit_) {
    ++in_flight_;
    d->begin_connect();
  } else {
    queue_.push_back(d);
  }
}

void connect_gate::release() {
  if (in_flight_ > 0)
    --in_flight_;
  // begin_connect only initiates asynchronous operations (it never fails synchronously), so this
  // loop cannot recurse into release().
  while (in_flight_ < limit_ && !queue_.empty()) {
    drone* d = queue_.front();
    queue_.pop_front();
    ++in_flight_;
    d->begin_connect();
  }
}

// ---------------------------------------------------------------------------------------------
// tick_wheel

tick_wheel::tick_wheel(net::any_io_executor ex, double rate_hz, drone_counters& counters)
    : timer_(std::move(ex)), counters_(counters) {
  period_ = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(1e9 / rate_hz)));
  // About one slot per millisecond of the period: a drone's tick is at most ~1 ms off its phase.
  const auto slots = static_cast<std::size_t>(std::clamp<std::int64_t>(period_.count() / 1'000'000, 1, 10'000));
  slots_.resize(slots);
  tick_ = period_ / static_cast<std::int64_t>(slots);
}

void tick_wheel::add(drone* d) {
  const auto slot = std::min(slots_.size() - 1, static_cast<std::size_t>(d->phase() * static_cast<double>(slots_.size())));
  slots_[slot].push_back(d);
}

void tick_wheel::start() {
  running_ = true;
  next_ = steady::now() + tick_;
  cursor_ = 0;
  arm();
}

void tick_wheel::stop() {
  running_ = false;
  timer_.cancel();
}

void tick_wheel::arm() {
  timer_.expires_at(next_);
  timer_.async_wait([this](const error_code& ec) { on_timer(ec); });
}

void tick_wheel::on_timer(const error_code& ec) {
  if (ec || !running_)
    return;
  const auto now = steady::now();
  if (now > next_)
    counters_.observe_lag(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - next_).count()));
  // Serve every slot whose time has come; if we are more than a whole period late, skip ahead
  // rather than sending a burst.
  if (now - next_ > period_) {
    counters_.late_ticks.add();
    next_ = now;
  }
  while (next_ <= now) {
    const auto& slot = slots_[cursor_];
    for (std::size_t i = 0, n = slot.size(); i < n; ++i) {
      if (i + 2 < n)
        __builtin_prefetch(slot[i + 2]); // drones are touched once per period: hide the cache miss
      slot[i]->tick();
    }
    cursor_ = cursor_ + 1 == slots_.size() ? 0 : cursor_ + 1;
    next_ += tick_;
  }
  arm();
}

// ---------------------------------------------------------------------------------------------
// shard

shard::shard(net::any_io_executor ex, const options& opts, fleet_shared& shared, std::size_t gate_limit)
    : ex_(std::move(ex)), opts_(opts), shared_(shared), tick_dt_(opts.time_scale / opts.rate),
      period_(std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(1e9 / opts.rate)))),
      ack_budget_(static_cast<std::uint32_t>(std::clamp(std::floor(opts.ack_max_rate / opts.rate), 1.0, 1e6))),
      gate_(gate_limit), hello_commands_(opts.commands.empty() ? std::string() : opts.commands.json_array()) {
  if (opts.scheduler == scheduler_kind::wheel)
    wheel_.emplace(ex_, opts.rate, counters_);
}

void shard::add(std::unique_ptr<drone> d) {
  if (wheel_)
    wheel_->add(d.get());
  drones_.push_back(std::move(d));
}

void shard::start() {
  if (wheel_)
    wheel_->start();
  for (auto& d : drones_)
    d->start();
}

void shard::stop() {
  gate_.clear();
  if (wheel_)
    wheel_->stop();
  for (auto& d : drones_)
    d->stop();
}

void shard::force_close() {
  for (auto& d : drones_)
    d->force_close();
}

void shard::write_ack_report(std::FILE* f) const {
  for (const auto& d : drones_) {
    const ack_buffer* a = d->acks();
    std::fprintf(f, "%s %lld %lld\n", d->id().c_str(), static_cast<long long>(a ? a->highest_acked() : -1),
                 static_cast<long long>(a ? a->highest_sent() : -1));
  }
}

void shard::on_connected(std::size_t node) {
  shared_.welcomes.fetch_add(1, std::memory_order_relaxed);
  shared_.connected_per_node[node].fetch_add(1, std::memory_order_relaxed);
  const auto now_connected = shared_.connected.fetch_add(1, std::memory_order_relaxed) + 1;
  if (static_cast<std::size_t>(now_connected) == shared_.total_drones && shared_.fleet_connected_us.load() < 0) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - shared_.started).count();
    std::int64_t expected = -1;
    if (shared_.fleet_connected_us.compare_exchange_strong(expected, us))
      std::fprintf(stderr, "[dccs-sim] fleet connected: %zu/%zu drones after %.3f s\n", shared_.total_drones,
                   shared_.total_drones, static_cast<double>(us) / 1e6);
  }
}

void shard::on_disconnected(std::size_t node) {
  shared_.connected_per_node[node].fetch_sub(1, std::memory_order_relaxed);
  shared_.connected.fetch_sub(1, std::memory_order_relaxed);
}

void shard::on_stopped() { shared_.stopped_drones.fetch_add(1, std::memory_order_relaxed); }

void shard::log_error_frame(const std::string& id, std::string_view frame) {
  const int n = shared_.logged_errors.fetch_add(1, std::memory_order_relaxed);
  if (n < 5)
    std::fprintf(stderr, "[dccs-sim] %s received: %.*s\n", id.c_str(), static_cast<int>(std::min<std::size_t>(frame.size(), 300)),
                 frame.data());
  else if (n == 5)
    std::fprintf(stderr, "[dccs-sim] (further error frames are only counted)\n");
}

void shard::log_failure(const std::string& id, std::size_t node, const char* what, const error_code& ec) {
  const int n = shared_.logged_failures.fetch_add(1, std::memory_order_relaxed);
  if (n < 5 && shared_.nodes.size() > 1)
    std::fprintf(stderr, "[dccs-sim] %s: %s to %s failed: %s\n", id.c_str(), what, shared_.nodes[node].url.c_str(),
                 ec.message().c_str());
  else if (n < 5)
    std::fprintf(stderr, "[dccs-sim] %s: %s failed: %s\n", id.c_str(), what, ec.message().c_str());
  else if (n == 5)
    std::fprintf(stderr, "[dccs-sim] (further connection failures are only counted)\n");
}

// ---------------------------------------------------------------------------------------------
// fleet

fleet::fleet(net::io_context& ioc, const options& opts, std::vector<node_target> nodes) : opts_(opts) {
  shared_.total_drones = opts.drones;
  shared_.connected_per_node = std::vector<std::atomic<std::int64_t>>(nodes.size());
  shared_.nodes = std::move(nodes);
  const std::size_t n_shards = std::max<std::size_t>(1, std::min(opts.threads, std::max<std::size_t>(1, opts.drones)));
  const std::size_t gate_limit = std::max<std::size_t>(1, opts.max_handshakes / n_shards);
  for (std::size_t i = 0; i < n_shards; ++i) {
    net::any_io_executor ex = n_shards == 1 && opts.threads == 1 ? net::any_io_executor(ioc.get_executor())
                                                                 : net::any_io_executor(net::make_strand(ioc));
    shards_.push_back(std::make_unique<shard>(ex, opts, shared_, gate_limit));
  }
  fleet_area area;
  area.center_lat = opts.home_lat;
  area.center_lon = opts.home_lon;
  for (std::size_t i = 0; i < opts.drones; ++i) {
    auto& s = *shards_[i % n_shards];
    const auto index = static_cast<std::uint32_t>(i);
    s.add(std::make_unique<drone>(s, index, flight_model(area, opts.seed, index)));
  }
}

void fleet::start() {
  shared_.started = steady::now();
  for (auto& s : shards_)
    net::post(s->executor(), [sp = s.get()] { sp->start(); });
}

void fleet::stop() {
  shared_.stopping.store(true);
  for (auto& s : shards_)
    net::post(s->executor(), [sp = s.get()] { sp->stop(); });
}

void fleet::force_close() {
  for (auto& s : shards_)
    net::post(s->executor(), [sp = s.get()] { sp->force_close(); });
}

bool fleet::write_ack_report(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "[dccs-sim] cannot write --ack-report %s\n", path.c_str());
    return false;
  }
  for (const auto& s : shards_)
    s->write_ack_report(f);
  const bool ok = std::ferror(f) == 0;
  if (std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "[dccs-sim] cannot write --ack-report %s\n", path.c_str());
    return false;
  }
  return true;
}

std::vector<std::int64_t> fleet::connected_per_node() const {
  std::vector<std::int64_t> out;
  out.reserve(shared_.connected_per_node.size());
  for (const auto& c : shared_.connected_per_node)
    out.push_back(c.load(std::memory_order_relaxed));
  return out;
}

std::optional<double> fleet::fleet_connected_after() const noexcept {
  const auto us = shared_.fleet_connected_us.load();
  if (us < 0)
    return std::nullopt;
  return static_cast<double>(us) / 1e6;
}

double fleet::lag_total_ms() const noexcept {
  std::uint64_t m = 0;
  for (const auto& s : shards_)
    m = std::max(m, s->counters().lag_total_us.get());
  return static_cast<double>(m) / 1000.0;
}

double fleet::take_lag_window_ms() noexcept {
  std::uint64_t m = 0;
  for (auto& s : shards_)
    m = std::max(m, s->counters().lag_window_us.take());
  return static_cast<double>(m) / 1000.0;
}

double fleet::take_lag_interval_ms() noexcept {
  std::uint64_t m = 0;
  for (auto& s : shards_)
    m = std::max(m, s->counters().lag_interval_us.take());
  return static_cast<double>(m) / 1000.0;
}

counter_totals fleet::totals() const noexcept {
  counter_totals t;
  for (const auto& s : shards_)
    t.add(s->counters());
  return t;
}

} // namespace dccs::sim
