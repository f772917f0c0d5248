#pragma once
/// The node's ticket actor: the operator WebSocket tickets it issued, and the way to the other members' (see
/// ticket_actor in actors/actors.hpp, and actors/ticket_book.hpp for the tickets themselves).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "auth/revocations.hpp"

namespace dccs::actors {

struct ticket_settings {
  std::string issuer;          ///< this node's id in the cluster, named by every ticket it issues ("" outside one)
  std::int64_t ttl_s = 30;     ///< auth.ticket_ttl_s
  /// How long a ticket of another member waits for that member's answer (then it is refused like an unknown one).
  std::chrono::milliseconds forward_timeout{2000};
  /// The node's revocations (filled by its revocation watcher): a ticket whose access token is revoked is refused
  /// by the issuing node too, which hears of a logout made there before any other node does.
  std::shared_ptr<const auth::revocations> revocations;
};

/// Event-based and never blocking: it runs on the shared scheduler.
ticket_actor::behavior_type ticket_impl(ticket_actor::pointer self, ticket_settings settings);

} // namespace dccs::actors
