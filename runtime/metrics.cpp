#include "runtime/metrics.hpp"

namespace dccs::runtime {

counter& metrics::make_counter(std::string name, std::string help) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = counters_.emplace_back();
  e.name = std::move(name);
  e.help = std::move(help);
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
  for (auto& e : counters_) {
    out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " counter\n";
    out += e.name + " " + std::to_string(e.value.value()) + "\n";
  }
  for (auto& e : gauges_) {
    out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " gauge\n";
    out += e.name + " " + std::to_string(e.value.value()) + "\n";
  }
  return out;
}

} // namespace dccs::runtime
