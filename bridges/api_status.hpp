#pragma once
/// The HTTP status of an API actor's answer (actors/messages.hpp: api_result, api_error): the one place where a
/// domain outcome or refusal becomes a status line.

#include "actors/messages.hpp"

namespace dccs::bridges {

/// found 200, created 201, done 204.
inline unsigned status_of(actors::api_outcome o) {
  switch (o) {
    case actors::api_outcome::created: return 201;
    case actors::api_outcome::accepted: return 202;
    case actors::api_outcome::done: return 204;
    case actors::api_outcome::found: break;
  }
  return 200;
}

/// The status of a refusal of kind `kind`.
inline unsigned status_of(actors::errc kind) {
  switch (kind) {
    case actors::errc::invalid_request: return 400;
    case actors::errc::unauthenticated:
    case actors::errc::invalid_ticket:
    case actors::errc::ticket_revoked: return 401;
    case actors::errc::forbidden: return 403;
    case actors::errc::not_found:
    case actors::errc::no_such_drone: return 404;
    case actors::errc::conflict: return 409;
    case actors::errc::too_many: return 429;
    case actors::errc::unavailable: return 503;
    case actors::errc::internal: break;
  }
  return 500;
}

} // namespace dccs::bridges
