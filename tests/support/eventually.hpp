#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace dccs::test {

/// Polls `ok` every 10 ms until it holds (true) or `within` has passed (false): a bound on a failing test,
/// not a pause — it returns as soon as the condition holds.
inline bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds within = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (!ok()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

} // namespace dccs::test
