#pragma once
/// The operator WebSocket tickets one node has issued (POST /api/v1/auth/ticket, redeemed by
/// /ws/operator?ticket=...): plain logic, no actor and no clock of its own (the times are arguments), so that it is
/// tested alone. The node's ticket actor (actors/tickets.cpp) owns one and is the only one to touch it.
///
/// A ticket's text is `<issuer>.<256 random bits, base64url>`, the issuer being the node id of the cluster member
/// that issued it (or `<random>` alone outside a cluster): any node can tell from the text which member to ask, and
/// nothing else about the ticket is in it. Only its SHA-256 is kept. A ticket is single use (redeeming it spends it,
/// valid or not), expires after the ticket lifetime, and is bounded per user and in total.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/access.hpp"

namespace dccs::actors {

class ticket_book {
public:
  static constexpr std::size_t default_max_tickets = 100000;
  static constexpr int default_max_per_user = 16;

  /// `issuer`: this node's id in the cluster ("" outside one); `ttl_ms`: the ticket lifetime.
  ticket_book(std::string issuer, std::int64_t ttl_ms, std::size_t max_tickets = default_max_tickets,
              int max_per_user = default_max_per_user);

  /// A new ticket for `who` at `now_ms` (a monotonic clock), or "" when too many are outstanding (for the node, or
  /// for this user: one user cannot take the table from everyone else).
  std::string issue(const auth::principal& who, std::int64_t now_ms);

  /// Spends a ticket of this book: the principal it was issued for, or nothing when it is unknown, spent or expired,
  /// or the access token it was issued for has expired (`now_s`: Unix seconds).
  std::optional<auth::principal> redeem(std::string_view text, std::int64_t now_ms, std::int64_t now_s);

  /// The node a ticket's text names as its issuer ("" when it names none). Never fails: malformed text names no
  /// node, or one that does not exist.
  static std::string_view issuer_of(std::string_view text);

  /// Tickets outstanding (expired ones included until they are swept).
  std::size_t size() const { return tickets_.size(); }

  /// The longest ticket text accepted (anything longer is unknown without being hashed).
  static constexpr std::size_t max_text = 128;

private:
  struct entry {
    auth::principal who;
    std::int64_t expires_ms;
  };
  using table = std::unordered_map<std::string, entry>;
  void forget(table::iterator i);
  void sweep(std::int64_t now_ms);

  std::string issuer_;
  std::int64_t ttl_ms_;
  std::size_t max_tickets_;
  int max_per_user_;
  table tickets_;                                   ///< by SHA-256 of the ticket text: never the ticket itself
  std::unordered_map<std::string, int> per_user_;   ///< outstanding tickets per user
};

} // namespace dccs::actors
