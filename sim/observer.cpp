#include "sim/observer.hpp"

#include "sim/clock.hpp"
#include "sim/rng.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace dccs::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace od = simdjson::ondemand;
using boost::system::error_code;

observer::observer(net::any_io_executor ex, const options& opts, const net::ip::tcp::endpoint& ep)
    : ex_(std::move(ex)), opts_(opts), endpoint_(ep), timer_(ex_), jitter_(rng::mix(opts.seed, 0x0b5e)) {
  seen_.reserve(std::max<std::size_t>(1024, opts.drones * 2));
  if (!opts.observe_ids.empty()) {
    subscribe_ = R"({"type":"subscribe","drones":[)";
    for (std::size_t i = 0; i < opts.observe_ids.size(); ++i) {
      if (i)
        subscribe_ += ',';
      subscribe_ += '"' + opts.observe_ids[i] + '"'; // ids are [A-Za-z0-9_.-]: nothing to escape
    }
    subscribe_ += "]}";
  }
}

void observer::start() {
  if (state_ == state::stopped)
    return;
  connect();
}

void observer::connect() {
  if (attempted_)
    ++reconnects_;
  attempted_ = true;
  ws_.emplace(ex_);
  ws_->text(true);
  ws_->read_message_max(1024u * 1024u * 1024u); // a snapshot of 100k drones is ~50 MB
  websocket::stream_base::timeout to{};
  to.handshake_timeout = std::chrono::seconds(10);
  to.idle_timeout = websocket::stream_base::none();
  to.keep_alive_pings = false;
  ws_->set_option(to);
  if (!opts_.token.empty())
    ws_->set_option(websocket::stream_base::decorator([token = opts_.token](websocket::request_type& req) {
      req.set(beast::http::field::authorization, "Bearer " + token);
    }));
  buf_.clear();
  state_ = state::connecting;
  ++ops_;
  beast::get_lowest_layer(*ws_).async_connect(endpoint_, [this](const error_code& ec) {
    --ops_;
    if (state_ != state::connecting)
      return maybe_finished_closing();
    if (ec)
      return fail("operator connect", ec);
    error_code ignored;
    beast::get_lowest_layer(*ws_).set_option(net::ip::tcp::no_delay(true), ignored);
    state_ = state::upgrading;
    ++ops_;
    ws_->async_handshake(opts_.host_header(), opts_.operator_path(), [this](const error_code& ec) {
      --ops_;
      if (state_ != state::upgrading)
        return maybe_finished_closing();
      if (ec)
        return fail("operator websocket upgrade", ec);
      state_ = state::subscribed;
      ever_connected_ = true;
      attempt_ = 0;
      std::fprintf(stderr, "[dccs-sim] operator socket connected, subscribed to %s\n",
                   opts_.observe_ids.empty() ? "\"*\"" : (std::to_string(opts_.observe_ids.size()) + " drones").c_str());
      ++ops_;
      ws_->async_write(net::buffer(subscribe_), [this](const error_code& ec, std::size_t) {
        --ops_;
        if (state_ != state::subscribed)
          return maybe_finished_closing();
        if (ec)
          return fail("operator subscribe", ec);
      });
      read();
    });
  });
}

void observer::read() {
  ++ops_;
  ws_->async_read(buf_, [this](const error_code& ec, std::size_t) {
    --ops_;
    const std::int64_t arrival_us = wall_clock_us(); // before any parsing
    if (state_ != state::subscribed)
      return maybe_finished_closing();
    if (ec) {
      if (ec == websocket::error::closed)
        std::fprintf(stderr, "[dccs-sim] operator socket closed by the node: %d %s\n",
                     static_cast<int>(ws_->reason().code), std::string(ws_->reason().reason).c_str());
      return fail("operator read", ec);
    }
    on_message(arrival_us);
    buf_.consume(buf_.size());
    read();
  });
}

void observer::on_message(std::int64_t arrival_us) {
  const std::size_t size = buf_.size();
  buf_.prepare(simdjson::SIMDJSON_PADDING); // keeps the readable bytes, guarantees the padding
  const char* data = static_cast<const char*>(buf_.data().data());
  each([&](observer_figures& f) { f.bytes += size; });

  od::document doc;
  od::object obj;
  bool bad = parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc) ||
             doc.get_object().get(obj);
  std::string_view type;
  bool has_drones = false;
  if (!bad) {
    for (auto field_result : obj) {
      od::field field;
      if (std::move(field_result).get(field)) {
        bad = true;
        break;
      }
      const od::raw_json_string key = field.key();
      if (key == "type") {
        if (field.value().get_string().get(type))
          bad = true;
      } else if (key == "drones") {
        od::array drones;
        if (field.value().get_array().get(drones)) {
          bad = true;
          break;
        }
        has_drones = true;
        for (auto element : drones) {
          od::object entry;
          if (element.get_object().get(entry)) {
            bad = true;
            break;
          }
          on_drone(entry, arrival_us);
        }
      }
    }
  }
  if (bad) {
    each([](observer_figures& f) { ++f.parse_errors; });
    if (logged_++ < 3)
      std::fprintf(stderr, "[dccs-sim] operator frame not understood: %.*s\n", static_cast<int>(std::min<std::size_t>(size, 200)), data);
    return;
  }
  if (has_drones)
    each([](observer_figures& f) { ++f.frames; });
  else if (type == "status")
    each([](observer_figures& f) { ++f.status_frames; });
  else if (type == "error") {
    each([](observer_figures& f) { ++f.errors; });
    if (logged_++ < 3)
      std::fprintf(stderr, "[dccs-sim] operator received: %.*s\n", static_cast<int>(std::min<std::size_t>(size, 300)), data);
  }
}

void observer::on_drone(od::object entry, std::int64_t arrival_us) {
  std::string_view id;
  double ts = 0;
  std::uint64_t seq = 0;
  bool has_ts = false, has_seq = false;
  for (auto field_result : entry) {
    od::field field;
    if (std::move(field_result).get(field))
      return;
    const od::raw_json_string key = field.key();
    if (key == "id") {
      if (field.value().get_string().get(id))
        return;
    } else if (key == "ts") {
      has_ts = !field.value().get_double().get(ts);
    } else if (key == "seq") {
      has_seq = !field.value().get_uint64().get(seq);
    }
  }
  each([](observer_figures& f) { ++f.entries; });
  if (!has_ts || id.empty())
    return; // no telemetry yet
  id_scratch_.assign(id);
  auto [it, inserted] = seen_.try_emplace(id_scratch_);
  seen_drone& s = it->second;
  if (has_seq && s.has_seq && seq <= s.last_seq) {
    each([](observer_figures& f) { ++f.repeated; }); // e.g. a status change, or a snapshot after reconnecting
    return;
  }
  if (has_seq) {
    s.last_seq = seq;
    s.has_seq = true;
  }
  const double latency_ms = static_cast<double>(arrival_us) / 1000.0 - ts;
  total_hist_.record(latency_ms);
  window_hist_.record(latency_ms);
  interval_hist_.record(latency_ms);
  each([](observer_figures& f) { ++f.samples; });
  if (inserted)
    ++total_.drones_seen;
  if (s.window_gen != window_gen_) {
    s.window_gen = window_gen_;
    ++window_.drones_seen;
  }
  if (s.interval_gen != interval_gen_) {
    s.interval_gen = interval_gen_;
    ++interval_.drones_seen;
  }
}

void observer::begin_window() {
  window_ = observer_figures{};
  window_hist_.reset();
  ++window_gen_;
}

void observer::begin_interval() {
  interval_ = observer_figures{};
  interval_hist_.reset();
  ++interval_gen_;
}

void observer::fail(const char* what, const error_code& ec) {
  if (state_ == state::closing || state_ == state::stopped || state_ == state::backoff)
    return;
  if (state_ != state::idle)
    std::fprintf(stderr, "[dccs-sim] %s failed: %s\n", what, ec.message().c_str());
  state_ = state::closing;
  if (ws_) {
    error_code ignored;
    beast::get_lowest_layer(*ws_).close(ignored);
  }
  maybe_finished_closing();
}

void observer::maybe_finished_closing() {
  if (state_ != state::closing || ops_ > 0)
    return;
  ws_.reset();
  if (stopping_) {
    state_ = state::stopped;
    return;
  }
  // Same policy as the drones: 200 ms doubling up to 10 s, equal jitter.
  const double d = std::min(200.0 * std::ldexp(1.0, static_cast<int>(std::min<std::uint32_t>(attempt_, 20))), 10'000.0);
  ++attempt_;
  state_ = state::backoff;
  const auto gen = ++timer_gen_;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(jitter_.uniform(d / 2, d))));
  timer_.async_wait([this, gen](const error_code& ec) {
    if (ec || gen != timer_gen_ || state_ != state::backoff)
      return;
    connect();
  });
}

void observer::stop() {
  stopping_ = true;
  switch (state_) {
  case state::idle:
  case state::backoff:
    ++timer_gen_;
    timer_.cancel();
    state_ = state::stopped;
    return;
  case state::connecting:
  case state::upgrading:
    return fail("operator shutdown", net::error::operation_aborted);
  case state::subscribed:
    state_ = state::closing;
    ++ops_;
    ws_->async_close(websocket::close_code::normal, [this](const error_code&) {
      --ops_;
      maybe_finished_closing();
    });
    return;
  case state::closing:
  case state::stopped:
    return;
  }
}

void observer::force_close() {
  if (ws_) {
    error_code ignored;
    beast::get_lowest_layer(*ws_).close(ignored);
  }
}

} // namespace dccs::sim
