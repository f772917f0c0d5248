// Fuzz target: the history and audit query parsers (actors/history.hpp, auth/audit.hpp) and history cursors,
// what every GET /api/v1/drones/{id}/telemetry|track and GET /api/v1/audit query string goes through before any
// database is asked. Input: one flag byte, then "<drone id>\n<query string>\n<cursor payload>".
//  - flag bit 0: the history query is of kind "track" (else "telemetry");
//  - flag bit 1: the payload is signed as this query's cursor (sign_cursor, with the node's key) and appended,
//    so that the cursor's readable part is parsed past its MAC check.
// Properties: nothing crashes or throws but parameter_error; a refused query names a parameter in valid UTF-8
// (it goes into a JSON error body); an accepted one is within the documented bounds; a cursor of the query made
// by encode_cursor comes back as the same position, and one signed for another drone is refused; times that
// parse print and parse back to the same instant (to the millisecond).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/history.hpp"
#include "auth/audit.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace dccs::actors;
using history::parameter_error;

namespace {

constexpr std::int64_t max_rows = 10000;
const history::cursor_keys keys{std::string(32, 'k'), std::string(32, 'o')};

void check_refusal(const parameter_error& e) {
  FUZZ_CHECK(dccs::fuzz::utf8(e.parameter));
  FUZZ_CHECK(dccs::fuzz::utf8(e.what()));
}

void check_accepted(const history::parameters& p, bool track) {
  FUZZ_CHECK(p.from_us < p.to_us);
  FUZZ_CHECK(p.to_us - p.from_us <= 31LL * 86400 * 1000000);
  FUZZ_CHECK(p.limit >= 1 && p.limit <= max_rows);
  if (track)
    FUZZ_CHECK(!p.after && !p.bucket_s);
  if (p.bucket_s)
    FUZZ_CHECK(*p.bucket_s >= 1 && *p.bucket_s <= 86400);
  if (p.after) {
    FUZZ_CHECK(p.after->kind == (p.bucket_s ? 'b' : 'r'));
    if (p.bucket_s)
      FUZZ_CHECK(p.after->second == *p.bucket_s);
  }
}

std::optional<history::parameters> parse(const http_query& q) {
  try {
    auto p = history::parse_parameters(q, max_rows, keys);
    check_accepted(p, q.kind == "track");
    return p;
  } catch (const parameter_error& e) {
    check_refusal(e);
    return std::nullopt;
  }
}

void times(std::string_view text) {
  auto us = history::parse_time(std::string{text});
  if (!us)
    return;
  auto shown = history::format_time(*us);
  auto back = history::parse_time(shown);
  FUZZ_CHECK(back);
  auto ms = *us / 1000 * 1000 - ((*us % 1000 < 0) ? 1000 : 0); // floor to the millisecond
  FUZZ_CHECK(*back == ms);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto flags = data[0];
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto nl = rest.find('\n');
  auto drone = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  nl = rest.find('\n');
  auto query = rest.substr(0, nl);
  auto payload = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);

  http_query q;
  q.method = "GET";
  q.id = std::string{drone};
  q.kind = (flags & 1) ? "track" : "telemetry";
  q.query = std::string{query};
  auto p = parse(q);

  if (p && q.kind == "telemetry" && !p->after) {
    // A cursor this query makes takes the next page from the same position, and only for this query.
    history::cursor c{p->bucket_s ? 'b' : 'r', p->from_us, p->bucket_s ? *p->bucket_s : 7};
    auto with = [&](const std::string& cursor, const std::string& id) {
      http_query next = q;
      next.id = id;
      next.query = q.query + (q.query.empty() ? "" : "&") + "cursor=" + cursor;
      return parse(next);
    };
    auto back = with(history::encode_cursor(c, q.id, *p, keys.front()), q.id);
    // The query may hold an empty parameter, or `to` = now moved on: a refusal is possible, a wrong one is not.
    if (back && back->after)
      FUZZ_CHECK(back->after->kind == c.kind && back->after->time_us == c.time_us && back->after->second == c.second);
    auto other = with(history::encode_cursor(c, q.id + "x", *p, keys.front()), q.id);
    FUZZ_CHECK(!other || !other->after);
    if (flags & 2)
      with(history::sign_cursor(payload, q.id, *p, keys.back()), q.id); // past the MAC: the payload is parsed
  }

  try {
    auto f = dccs::auth::parse_audit_query(query);
    FUZZ_CHECK(f.limit >= 1 && f.limit <= dccs::auth::audit_max_page);
    FUZZ_CHECK(!f.before_id || *f.before_id >= 1);
    for (auto* s : {&f.actor, &f.drone_id, &f.action})
      if (*s)
        FUZZ_CHECK(dccs::fuzz::storable(**s));
  } catch (const parameter_error& e) {
    check_refusal(e);
  }

  times(query);
  times(payload);
  if (auto b = history::parse_bucket(std::string{payload}))
    FUZZ_CHECK(*b >= 1 && *b <= 86400);
  if (auto n = history::parse_integer(payload))
    FUZZ_CHECK(std::to_string(*n).size() <= payload.size());
  return 0;
}
