#include "actors/ticket_book.hpp"

#include <iterator>

#include "runtime/secret.hpp"

namespace dccs::actors {

ticket_book::ticket_book(std::string issuer, std::int64_t ttl_ms, std::size_t max_tickets, int max_per_user)
  : issuer_(std::move(issuer)), ttl_ms_(ttl_ms), max_tickets_(max_tickets), max_per_user_(max_per_user) {
}

void ticket_book::forget(table::iterator i) {
  auto u = per_user_.find(i->second.who.name);
  if (u != per_user_.end() && --u->second <= 0)
    per_user_.erase(u);
  tickets_.erase(i);
}

void ticket_book::sweep(std::int64_t now_ms) {
  for (auto i = tickets_.begin(); i != tickets_.end();) {
    auto next = std::next(i);
    if (i->second.expires_ms <= now_ms)
      forget(i);
    i = next;
  }
}

std::string ticket_book::issue(const auth::principal& who, std::int64_t now_ms) {
  auto full = [&] {
    auto u = per_user_.find(who.name);
    return tickets_.size() >= max_tickets_ || (u != per_user_.end() && u->second >= max_per_user_);
  };
  // Expired tickets are swept only when they may be in the way (half full, or this user at the limit): a sweep
  // walks the whole table.
  auto u = per_user_.find(who.name);
  if (tickets_.size() >= max_tickets_ / 2 || (u != per_user_.end() && u->second >= max_per_user_))
    sweep(now_ms);
  if (full())
    return {};
  auto text = runtime::random_token(32);
  if (!issuer_.empty())
    text = issuer_ + "." + text;
  tickets_[runtime::sha256(text)] = entry{who, now_ms + ttl_ms_};
  ++per_user_[who.name];
  return text;
}

std::optional<auth::principal> ticket_book::redeem(std::string_view text, std::int64_t now_ms, std::int64_t now_s) {
  if (text.empty() || text.size() > max_text)
    return std::nullopt;
  auto i = tickets_.find(runtime::sha256(text));
  if (i == tickets_.end())
    return std::nullopt;
  auto t = i->second; // copied: forget() reads the user's name
  forget(i);
  if (t.expires_ms <= now_ms || t.who.exp <= now_s)
    return std::nullopt; // the ticket, or the token it was issued for, has expired
  return std::move(t.who);
}

std::string_view ticket_book::issuer_of(std::string_view text) {
  auto dot = text.find('.');
  return dot == std::string_view::npos ? std::string_view{} : text.substr(0, dot);
}

} // namespace dccs::actors
