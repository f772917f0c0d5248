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
  }
  return "dccs::error(" + std::to_string(code) + ")";
}

} // namespace

void add_message_types(caf::actor_system_config& cfg) {
  // Every type of the block, under the name the block gives it (the same on every node).
  cfg.add_message_types<caf::id_block::dccs>();
  cfg.add_error_category(caf::atom("dccs"), render_error);
}

} // namespace dccs::actors
