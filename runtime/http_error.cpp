#include "runtime/http_error.hpp"

#include <nlohmann/json.hpp>

namespace dccs::runtime {

std::string error_body(std::string_view code, std::string_view message, std::string_view key,
                       std::string_view value) {
  nlohmann::json e{{"code", code}, {"message", message}};
  if (!key.empty())
    e[std::string{key}] = value;
  return nlohmann::json{{"error", std::move(e)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace dccs::runtime
