#include "bridges/node.hpp"

#include <caf/all.hpp>

#include "actors/actors.hpp"
#include "bridges/server.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/log.hpp"

namespace dccs::bridges {

node::node(runtime::config cfg) : cfg_(std::move(cfg)) {
}

node::~node() {
  stop();
}

bool node::start(std::string& error) {
  auto sys_cfg = std::make_unique<runtime::node_system_config>(cfg_);
  actors::add_message_types(*sys_cfg);
  sys_cfg_ = std::move(sys_cfg);
  system_ = std::make_unique<caf::actor_system>(*sys_cfg_);
  actors::drone_settings ds;
  ds.stale_after_ms = cfg_.integer("drone.stale_after_ms");
  ds.lost_after_ms = cfg_.integer("drone.lost_after_ms");
  ds.max_restarts = static_cast<std::size_t>(cfg_.integer("drone.max_restarts"));
  ds.restart_window_ms = cfg_.integer("drone.restart_window_ms");
  actors::actor_metrics am;
  am.drone_restarts = &metrics_.make_counter("dccs_drone_restarts_total", "drone actor restarts");
  am.drone_escalations =
    &metrics_.make_counter("dccs_drone_escalations_total", "drone actors given up after repeated failures");
  am.operator_updates_dropped = &metrics_.make_counter(
    "dccs_operator_updates_dropped_total", "drone states superseded before a slow operator got them");
  am.operator_events_dropped =
    &metrics_.make_counter("dccs_operator_events_dropped_total", "status events dropped for slow operators");
  am.drone_actors = &metrics_.make_gauge("dccs_drone_actors", "active drone actors");
  auto board = std::make_shared<actors::board>(1000 / cfg_.integer("hub.rate"));
  hub_ = system_->spawn(actors::hub_actor, board, static_cast<int>(cfg_.integer("hub.flush_ms")));
  directory_ = system_->spawn(actors::directory_actor, board, ds, am);
  auto settings = server_settings::from(cfg_);
  auto node_name = settings.node_name;
  server_ = std::make_unique<server>(*system_, directory_, hub_, std::move(settings), metrics_, am);
  if (!server_->start(error))
    return false;
  server_->set_ready(true);
  runtime::log::info("node", "listening",
                     {{"node", node_name},
                      {"address", cfg_.str("http.address")},
                      {"port", port()},
                      {"scheduler", cfg_.str("scheduler.policy")}});
  return true;
}

void node::stop() {
  if (stopped_ || system_ == nullptr)
    return;
  stopped_ = true;
  runtime::log::info("node", "shutting down");
  if (server_) {
    server_->set_ready(false);
    // Push what the hub holds to the operators before their sockets close.
    caf::scoped_actor self{*system_};
    self->request(hub_, std::chrono::seconds(2), actors::flush_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
    server_->stop();
  }
  caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hub_, caf::exit_reason::user_shutdown);
  directory_ = nullptr;
  hub_ = nullptr;
  // Actors may hold connections (drone cells, operator sessions): let them all end before the server's
  // io_context goes.
  system_->await_all_actors_done();
  server_.reset();
  system_.reset();
  runtime::log::info("node", "stopped");
}

std::uint16_t node::port() const {
  return server_ ? server_->port() : 0;
}

caf::actor_system& node::system() {
  return *system_;
}

} // namespace dccs::bridges
