#pragma once
/// Paging of GET /api/v1/drones (docs/protocol.md): drones in id order, at most `limit` per page, after the
/// id given as `cursor` (the previous page's `next_cursor`).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dccs::actors {

struct list_page {
  static constexpr std::size_t default_limit = 1000;
  static constexpr std::size_t max_limit = 10000;
  std::size_t limit = default_limit;
  std::string after; ///< empty: from the first drone
};

/// Reads `limit` (1..10000, default 1000) and `cursor` (a drone id) from a query string (without '?'). On a
/// bad or unknown parameter returns (parameter, message) for a 400 naming it.
std::optional<std::pair<std::string, std::string>> parse_list_page(std::string_view query, list_page& out);

/// `,"next_cursor":"<id>"` when more drones follow this page (`last` is the page's last id), else
/// `,"next_cursor":null`.
std::string next_cursor_json(bool more, const std::string& last);

} // namespace dccs::actors
