#include "actors/actors.hpp"

#include <caf/all.hpp>

namespace dccs::actors {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<link_status>("dccs::link_status");
  cfg.add_message_type<telemetry>("dccs::telemetry");
  cfg.add_message_type<drone_info>("dccs::drone_info");
  cfg.add_message_type<drone_state>("dccs::drone_state");
  cfg.add_message_type<status_event>("dccs::status_event");
  cfg.add_message_type<subscription>("dccs::subscription");
  cfg.add_message_type<http_answer>("dccs::http_answer");
  cfg.add_message_type<http_query>("dccs::http_query");
}

} // namespace dccs::actors
