#include "runtime/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <cmath>

namespace dccs::runtime {

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double ms) {
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), ms) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, ms) * 1000), std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    out[i] = total += counts_[i].load(std::memory_order_relaxed);
  return out;
}

double histogram::sum() const {
  return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1000.0;
}

histogram& metrics::make_histogram(std::string name, std::string help, std::vector<double> bounds_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = histograms_.emplace_back(std::move(name), std::move(help), std::move(bounds_ms));
  return e.value;
}

counter& metrics::make_counter(std::string name, std::string help, std::string labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = counters_.emplace_back();
  e.name = std::move(name);
  e.help = std::move(help);
  e.labels = std::move(labels);
  return e.value;
}

gauge& metrics::make_gauge(std::string name, std::string help) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = gauges_.emplace_back();
  e.name = std::move(name);
  e.help = std::move(help);
  return e.value;
}

std::string metrics::render() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  // A family's samples follow its HELP and TYPE lines: counters that share a name are rendered together.
  std::vector<bool> done(counters_.size());
  for (std::size_t i = 0; i < counters_.size(); ++i) {
    if (done[i])
      continue;
    auto& first = counters_[i];
    out += "# HELP " + first.name + " " + first.help + "\n# TYPE " + first.name + " counter\n";
    for (std::size_t j = i; j < counters_.size(); ++j) {
      auto& e = counters_[j];
      if (done[j] || e.name != first.name)
        continue;
      done[j] = true;
      out += e.name;
      if (!e.labels.empty())
        out += "{" + e.labels + "}";
      out += " " + std::to_string(e.value.value()) + "\n";
    }
  }
  for (auto& e : gauges_) {
    out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " gauge\n";
    out += e.name + " " + std::to_string(e.value.value()) + "\n";
  }
  for (auto& e : histograms_) {
    out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " histogram\n";
    auto counts = e.value.cumulative();
    for (std::size_t i = 0; i < e.value.bounds().size(); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", e.value.bounds()[i]);
      out += e.name + "_bucket{le=\"" + le + "\"} " + std::to_string(counts[i]) + "\n";
    }
    out += e.name + "_bucket{le=\"+Inf\"} " + std::to_string(counts.back()) + "\n";
    char sum[32];
    std::snprintf(sum, sizeof sum, "%.3f", e.value.sum());
    out += e.name + "_sum " + sum + "\n" + e.name + "_count " + std::to_string(counts.back()) + "\n";
  }
  return out;
}

} // namespace dccs::runtime
