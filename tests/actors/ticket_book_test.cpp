// The operator tickets of one node (actors/ticket_book.hpp): issuer in the text, single use, expiry, bounds.

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "actors/ticket_book.hpp"

using dccs::actors::ticket_book;

namespace {

dccs::auth::principal user(const std::string& name, std::int64_t exp = 2000000000) {
  dccs::auth::principal p;
  p.name = name;
  p.role = "viewer";
  p.groups = {"red"};
  p.jti = "jti-" + name;
  p.exp = exp;
  return p;
}

constexpr std::int64_t now_s = 1700000000;

} // namespace

TEST_CASE("a ticket names its issuer, works once, and carries the user it was issued for") {
  ticket_book book{"Zp8kYb1yqTc0aQ2L", 30000};
  auto t = book.issue(user("vera"), 1000);
  REQUIRE(t.size() == 16 + 1 + 43);
  CHECK(ticket_book::issuer_of(t) == "Zp8kYb1yqTc0aQ2L");
  auto who = book.redeem(t, 2000, now_s);
  REQUIRE(who);
  CHECK(who->name == "vera");
  CHECK(who->groups == std::vector<std::string>{"red"});
  CHECK_FALSE(book.redeem(t, 2000, now_s)); // spent
  CHECK(book.size() == 0);
  // Outside a cluster a ticket names no issuer.
  ticket_book single{"", 30000};
  auto s = single.issue(user("vera"), 0);
  CHECK(s.size() == 43);
  CHECK(ticket_book::issuer_of(s).empty());
  CHECK(single.redeem(s, 1, now_s));
}

TEST_CASE("unknown, malformed, expired tickets and tickets of expired tokens are refused, and spent by trying") {
  ticket_book book{"node", 30000};
  CHECK_FALSE(book.redeem("", 0, now_s));
  CHECK_FALSE(book.redeem("node.nonsense", 0, now_s));
  CHECK_FALSE(book.redeem(std::string(200, 'a'), 0, now_s));
  CHECK(ticket_book::issuer_of("no-dot-here").empty());
  auto late = book.issue(user("vera"), 0);
  CHECK_FALSE(book.redeem(late, 30000, now_s)); // at its expiry
  auto stale_token = book.issue(user("olga", now_s - 1), 0);
  CHECK_FALSE(book.redeem(stale_token, 1, now_s)); // the access token behind it expired
  CHECK(book.size() == 0);
}

TEST_CASE("tickets are bounded per user and in total, expired ones make room") {
  ticket_book book{"node", 1000, 40, 16};
  std::set<std::string> issued;
  for (int i = 0; i < 16; ++i)
    issued.insert(book.issue(user("alice"), 0));
  CHECK(issued.size() == 16);
  CHECK(book.issue(user("alice"), 0).empty()); // the user's limit
  CHECK_FALSE(book.issue(user("bob"), 0).empty()); // others are unaffected
  CHECK(book.redeem(*issued.begin(), 1, now_s));
  CHECK_FALSE(book.issue(user("alice"), 1).empty()); // using one frees its place
  for (int i = 0; i < 16; ++i)
    book.issue(user("carol"), 2);
  for (int i = 0; i < 7; ++i)
    book.issue(user("dave"), 2);
  CHECK(book.size() == 40);
  CHECK(book.issue(user("erin"), 3).empty()); // the total
  CHECK_FALSE(book.issue(user("erin"), 1000).empty()); // after the first ones expired
}
