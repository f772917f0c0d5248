#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dccs::runtime {

/// A monotonically increasing counter, safe to bump from any thread.
class counter {
public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (connected drones, open sessions).
class gauge {
public:
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::int64_t> value_{0};
};

/// A distribution of durations in milliseconds over fixed buckets (Prometheus histogram), safe to observe
/// from any thread.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double ms);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative count of observations <= bounds()[i]; the last element counts everything.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // one per bound, plus +Inf
  std::atomic<std::uint64_t> sum_us_{0};
};

/// The metrics of one node, rendered in the Prometheus text format at `GET /metrics`. Counters and gauges
/// are created once at startup and live as long as the registry; references to them stay valid.
class metrics {
public:
  /// `labels`: empty, or Prometheus labels without braces (`reason="buffer_full"`): counters of one name with
  /// different labels are one family, rendered under one HELP and TYPE (the help of the first).
  counter& make_counter(std::string name, std::string help, std::string labels = {});
  gauge& make_gauge(std::string name, std::string help);
  histogram& make_histogram(std::string name, std::string help, std::vector<double> bounds_ms);

  /// Prometheus text exposition format, version 0.0.4.
  std::string render() const;

private:
  template <class T>
  struct entry {
    std::string name;
    std::string help;
    T value;
    std::string labels;
  };
  mutable std::mutex mtx_;
  std::deque<entry<counter>> counters_;
  std::deque<entry<gauge>> gauges_;
  struct histogram_entry {
    histogram_entry(std::string n, std::string h, std::vector<double> b)
      : name(std::move(n)), help(std::move(h)), value(std::move(b)) {}
    std::string name;
    std::string help;
    histogram value;
  };
  std::deque<histogram_entry> histograms_;
};

} // namespace dccs::runtime
