#include "actors/actors.hpp"

#include <string>

#include <caf/all.hpp>

namespace dccs::actors {

namespace {

std::string render_error(std::uint8_t code, caf::atom_value, const caf::message&) {
  switch (static_cast<errc>(code)) {
    case errc::no_such_drone: return "dccs::no_such_drone";
    case errc::unavailable: return "dccs::unavailable";
    case errc::invalid_ticket: return "dccs::invalid_ticket";
    case errc::ticket_revoked: return "dccs::ticket_revoked";
    case errc::invalid_request: return "dccs::invalid_request";
    case errc::unauthenticated: return "dccs::unauthenticated";
    case errc::forbidden: return "dccs::forbidden";
    case errc::not_found: return "dccs::not_found";
    case errc::conflict: return "dccs::conflict";
    case errc::too_many: return "dccs::too_many";
    case errc::internal: return "dccs::internal";
  }
  return "dccs::error(" + std::to_string(code) + ")";
}

} // namespace

std::optional<api_problem> problem_of(const caf::error& e) {
  if (e.category() != caf::atom("dccs"))
    return std::nullopt;
  api_problem p;
  p.kind = static_cast<errc>(e.code());
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string, std::string, std::string, std::string, std::int64_t>()) {
    p.code = ctx.get_as<std::string>(0);
    p.message = ctx.get_as<std::string>(1);
    p.key = ctx.get_as<std::string>(2);
    p.value = ctx.get_as<std::string>(3);
    p.retry_after_s = ctx.get_as<std::int64_t>(4);
    return p;
  }
  switch (p.kind) {
    case errc::no_such_drone: p.code = "not_found"; p.message = "no such drone"; break;
    case errc::unavailable: p.code = "unavailable"; p.message = "a database the answer needs is unavailable, try again later"; break;
    case errc::invalid_ticket: p.code = "invalid_ticket"; p.message = "the ticket is unknown, spent or expired"; break;
    case errc::ticket_revoked: p.code = "ticket_revoked"; p.message = "the ticket's access token was revoked"; break;
    default: p.code = "internal"; p.message = render_error(e.code(), e.category(), ctx); break;
  }
  return p;
}

void add_message_types(caf::actor_system_config& cfg) {
  // Every type of the block, under the name the block gives it (the same on every node).
  cfg.add_message_types<caf::id_block::dccs>();
  cfg.add_error_category(caf::atom("dccs"), render_error);
}

} // namespace dccs::actors
