#pragma once
/// Paging of GET /api/v1/drones (docs/protocol.md): drones in id order, at most `limit` per page, after the
/// id given as `cursor` (the previous page's `next_cursor`).

#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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

namespace dccs::actors {

/// The parameters of the journal's list routes (commands, geofences, alarms, missions): `limit` (1..1000, default
/// 100), a cursor parameter (`before` or `after`, named by the route) holding an id of the listed kind (a UUID), and
/// the route's own filters, whose values the route checks. Anything else, or a bad limit or cursor, throws
/// runtime::parameter_error naming the parameter.
struct list_query {
  std::size_t limit = 100;
  std::string cursor;                         ///< empty: from the newest (or the first)
  std::map<std::string, std::string> filters; ///< the filters given, by name
};

list_query read_list_query(std::string_view query, const char* cursor_name, const char* cursor_what,
                           std::initializer_list<const char*> filters);

/// One page of a list read with limit + 1 rows: {"<key>":[to_json(row)...],"next_cursor":<id of the last>|null}.
template <class Row, class ToJson, class IdOf>
nlohmann::json page_json(std::vector<Row>& rows, std::size_t limit, const char* key, ToJson to_json, IdOf id_of) {
  bool more = rows.size() > limit;
  if (more)
    rows.resize(limit);
  nlohmann::json out{{key, nlohmann::json::array()}};
  for (auto& r : rows)
    out[key].push_back(to_json(r));
  out["next_cursor"] = more ? nlohmann::json(id_of(rows.back())) : nlohmann::json(nullptr);
  return out;
}

} // namespace dccs::actors
