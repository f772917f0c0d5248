#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "bridges/node.hpp"

namespace dccs::test {

/// A node started in-process on a free port of 127.0.0.1, with the given option overrides.
class test_node {
public:
  explicit test_node(std::initializer_list<std::pair<std::string, std::string>> options = {});
  ~test_node();

  std::uint16_t port() const { return node_->port(); }
  bridges::node& node() { return *node_; }

  /// The value of a counter or gauge from /metrics (over HTTP, as an operator would read it).
  long long metric(const std::string& name) const;

private:
  std::unique_ptr<bridges::node> node_;
};

} // namespace dccs::test
