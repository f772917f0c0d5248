#include "actors/list_page.hpp"

#include "actors/drone_json.hpp"
#include "actors/history.hpp"

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
