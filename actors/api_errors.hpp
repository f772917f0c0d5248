#pragma once
/// Refusals of the actors that serve API requests (registry, history, auth) that several of them share. They
/// answer with api_result or an api_error (actors/messages.hpp); the bridge alone makes HTTP of either.

#include <string>

#include "actors/messages.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// A database failure as the caller sees it: unavailable or disabled (try again), conflict, invalid input, or a
/// fault of this node.
inline caf::error db_failure(const runtime::db_error& e) {
  switch (e.code()) {
    case runtime::db_errc::unavailable:
    case runtime::db_errc::disabled: return api_error(errc::unavailable, "unavailable", e.what());
    case runtime::db_errc::conflict: return api_error(errc::conflict, "conflict", e.what());
    case runtime::db_errc::invalid: return api_error(errc::invalid_request, "invalid", e.what());
    default: return api_error(errc::internal, "internal", e.what());
  }
}

} // namespace dccs::actors
