#include "actors/list_page.hpp"

#include <algorithm>

#include "actors/command_model.hpp"
#include "actors/drone_json.hpp"
#include "actors/history.hpp"
#include "runtime/query_text.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

std::optional<std::pair<std::string, std::string>> parse_list_page(std::string_view query, list_page& out) {
  out = list_page{};
  std::map<std::string, std::string> args;
  try {
    args = history::parse_query(query);
  } catch (const history::parameter_error& e) {
    return std::make_pair(e.parameter, std::string{e.what()});
  }
  for (auto& [k, v] : args) {
    if (k == "limit") {
      // Digits only, no sign, no leading zeros, within range: anything else is a 400, never saturated.
      bool digits = !v.empty() && v.size() <= 5 && v[0] != '0';
      for (char c : v)
        digits = digits && c >= '0' && c <= '9';
      auto n = digits ? std::stoul(v) : 0;
      if (!digits || n < 1 || n > list_page::max_limit)
        return std::make_pair(k, "parameter limit must be an integer from 1 to " + std::to_string(list_page::max_limit));
      out.limit = n;
    } else if (k == "cursor") {
      if (!valid_drone_id(v))
        return std::make_pair(k, std::string{"parameter cursor must be the next_cursor of the previous page"});
      out.after = v;
    } else {
      return std::make_pair(k, "unknown parameter " + k);
    }
  }
  return std::nullopt;
}

std::string next_cursor_json(bool more, const std::string& last) {
  if (!more || last.empty())
    return ",\"next_cursor\":null";
  std::string out = ",\"next_cursor\":";
  append_json_string(out, last);
  return out;
}

} // namespace dccs::actors

namespace dccs::actors {

list_query read_list_query(std::string_view query, const char* cursor_name, const char* cursor_what,
                           std::initializer_list<const char*> filters) {
  list_query out;
  for (auto& [name, value] : runtime::parse_query(query)) {
    if (name == "limit") {
      auto n = runtime::parse_integer(value);
      if (!n || *n < 1 || *n > 1000)
        throw runtime::parameter_error("limit", "limit must be an integer from 1 to 1000");
      out.limit = static_cast<std::size_t>(*n);
    } else if (name == cursor_name) {
      if (!valid_command_id(value))
        throw runtime::parameter_error(cursor_name, std::string{cursor_name} + " must be " + cursor_what);
      out.cursor = value;
    } else if (std::any_of(filters.begin(), filters.end(), [&](const char* f) { return name == f; })) {
      out.filters[name] = value;
    } else {
      auto shown = runtime::printable(name, 32);
      throw runtime::parameter_error(shown, "unknown parameter '" + shown + "'");
    }
  }
  return out;
}

} // namespace dccs::actors
