#pragma once

#include "sim/options.hpp"
#include "sim/rng.hpp"
#include "sim/stats.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace dccs::sim {

/// Figures of the operator socket over some period.
struct observer_figures {
  std::uint64_t frames = 0;        ///< snapshot + update frames
  std::uint64_t entries = 0;       ///< drone entries in them
  std::uint64_t samples = 0;       ///< entries with new telemetry (a latency sample each)
  std::uint64_t repeated = 0;      ///< entries whose seq was not newer than the last one seen
  std::uint64_t status_frames = 0; ///< `status` frames
  std::uint64_t errors = 0;        ///< `error` frames
  std::uint64_t parse_errors = 0;  ///< frames simdjson refused
  std::uint64_t bytes = 0;
  std::size_t drones_seen = 0; ///< distinct drone ids among the samples
};

/// One operator connection to `/ws/operator`: subscribes to every drone and measures, for every
/// drone entry carrying new telemetry, latency = (wall clock at arrival) − entry `ts`.
///
/// Single-threaded: all its handlers run on its executor, and its figures must be read there too.
class observer {
public:
  observer(boost::asio::any_io_executor ex, const options& opts, const boost::asio::ip::tcp::endpoint& ep);

  void start();
  void stop();
  void force_close();
  bool stopped() const noexcept { return state_ == state::stopped; }
  bool ever_connected() const noexcept { return ever_connected_; }
  bool connected() const noexcept { return state_ == state::subscribed; }
  std::uint64_t reconnects() const noexcept { return reconnects_; }

  /// Starts the measurement window (SIGUSR1).
  void begin_window();
  /// Starts a new progress-report interval.
  void begin_interval();

  const observer_figures& total() const noexcept { return total_; }
  const observer_figures& window() const noexcept { return window_; }
  const observer_figures& interval() const noexcept { return interval_; }
  const latency_histogram& total_latency() const noexcept { return total_hist_; }
  const latency_histogram& window_latency() const noexcept { return window_hist_; }
  const latency_histogram& interval_latency() const noexcept { return interval_hist_; }

private:
  enum class state : std::uint8_t { idle, connecting, upgrading, subscribed, closing, backoff, stopped };
  using ws_stream = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;

  struct seen_drone {
    std::uint64_t last_seq = 0;
    bool has_seq = false;
    std::uint32_t window_gen = 0;
    std::uint32_t interval_gen = 0;
  };

  void connect();
  void read();
  void on_message(std::int64_t arrival_us);
  void on_drone(simdjson::ondemand::object obj, std::int64_t arrival_us);
  void fail(const char* what, const boost::system::error_code& ec);
  void maybe_finished_closing();

  template <class F>
  void each(F f) {
    f(total_);
    f(window_);
    f(interval_);
  }

  boost::asio::any_io_executor ex_;
  const options& opts_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::optional<ws_stream> ws_;
  boost::asio::steady_timer timer_;
  boost::beast::flat_buffer buf_;
  std::string subscribe_ = R"({"type":"subscribe","drones":"*"})";
  simdjson::ondemand::parser parser_;
  std::unordered_map<std::string, seen_drone> seen_;
  std::string id_scratch_;
  rng jitter_;

  state state_ = state::idle;
  std::uint32_t ops_ = 0;
  std::uint32_t timer_gen_ = 0;
  std::uint32_t attempt_ = 0;
  std::uint64_t reconnects_ = 0;
  bool ever_connected_ = false;
  bool attempted_ = false;
  bool stopping_ = false;
  int logged_ = 0;
  std::uint32_t window_gen_ = 1, interval_gen_ = 1;

  observer_figures total_, window_, interval_;
  latency_histogram total_hist_, window_hist_, interval_hist_;
};

} // namespace dccs::sim
