#include "auth/audit.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <pqxx/pqxx>

#include "runtime/query_text.hpp"

namespace dccs::auth {

namespace {

constexpr const char* replacement = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when there is none (bad lead or continuation byte,
/// overlong form, surrogate, beyond U+10FFFF); `cp` gets the code point.
std::size_t utf8_at(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// `s` as valid UTF-8 of at most `max` bytes: invalid bytes and NUL become U+FFFD, and so do the other control
/// characters unless `keep_controls`; a longer text is cut at a character boundary and ends in "...".
std::string clean(std::string_view s, std::size_t max, bool keep_controls) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  std::size_t i = 0;
  bool cut = false;
  while (i < s.size()) {
    std::uint32_t cp = 0;
    auto n = utf8_at(s, i, cp);
    std::string_view piece;
    if (n == 0 || cp == 0 || (!keep_controls && (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)))) {
      piece = replacement;
      i += n == 0 ? 1 : n;
    } else {
      piece = s.substr(i, n);
      i += n;
    }
    if (out.size() + piece.size() > max) {
      cut = true;
      break;
    }
    out += piece;
  }
  if (cut) {
    while (out.size() + 3 > max) { // drop whole characters until "..." fits
      auto k = out.size() - 1;
      while (k > 0 && (static_cast<unsigned char>(out[k]) & 0xC0) == 0x80)
        --k;
      out.erase(k);
    }
    out += "...";
  }
  return out;
}

std::string clean_field(std::string_view s) { return clean(s, audit_max_field_bytes, false); }

/// The JSON value with every string and key made storable (jsonb refuses \u0000 and invalid UTF-8).
nlohmann::json clean_json(const nlohmann::json& v) {
  if (v.is_string())
    return clean(v.get_ref<const std::string&>(), audit_max_detail_bytes, true);
  if (v.is_object()) {
    auto out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it)
      out[clean(it.key(), audit_max_field_bytes, true)] = clean_json(it.value());
    return out;
  }
  if (v.is_array()) {
    auto out = nlohmann::json::array();
    for (const auto& e : v)
      out.push_back(clean_json(e));
    return out;
  }
  if (v.is_number_float() && !std::isfinite(v.get<double>()))
    return nullptr; // jsonb has no NaN or infinity
  return v;
}

bool valid_action(std::string_view a) {
  if (a.empty() || a.size() > 64 || a[0] < 'a' || a[0] > 'z')
    return false;
  return std::all_of(a.begin(), a.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::int64_t to_us(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_us(std::int64_t us) {
  return std::chrono::system_clock::time_point{
    std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds{us})};
}

std::string timestamp_sql(std::chrono::system_clock::time_point t) {
  return "('epoch'::timestamptz + " + std::to_string(to_us(t)) + " * interval '1 microsecond')";
}

} // namespace

std::string drone_actor(std::string_view drone_id) { return "drone:" + std::string{drone_id}; }

const char* to_string(audit_outcome o) {
  switch (o) {
    case audit_outcome::ok: return "ok";
    case audit_outcome::refused: return "refused";
    case audit_outcome::error: return "error";
  }
  return "error";
}

std::optional<audit_outcome> parse_audit_outcome(std::string_view text) {
  if (text == "ok")
    return audit_outcome::ok;
  if (text == "refused")
    return audit_outcome::refused;
  if (text == "error")
    return audit_outcome::error;
  return std::nullopt;
}

std::int64_t write_audit(pqxx::transaction_base& tx, const audit_entry& e) {
  if (!valid_action(e.action))
    throw std::invalid_argument("an audit action is 1 to 64 of a-z 0-9 _, starting with a letter");
  if (!e.detail.is_object())
    throw std::invalid_argument("an audit detail is a JSON object");
  auto actor = e.actor.empty() ? std::string{anonymous_actor} : clean_field(e.actor);
  auto detail = clean_json(e.detail).dump();
  if (detail.size() > audit_max_detail_bytes)
    detail = nlohmann::json{{"truncated", true}, {"bytes", detail.size()}}.dump();
  std::string drone = "NULL";
  if (e.drone_id && !e.drone_id->empty())
    drone = tx.quote(clean_field(*e.drone_id));
  return tx
    .exec("INSERT INTO auth.audit (actor, action, drone_id, address, outcome, detail) VALUES (" + tx.quote(actor)
          + ", " + tx.quote(e.action) + ", " + drone + ", " + tx.quote(clean_field(e.address)) + ", "
          + tx.quote(std::string{to_string(e.outcome)}) + ", " + tx.quote(detail) + "::jsonb) RETURNING id")[0][0]
    .as<std::int64_t>();
}

std::int64_t write_audit(pqxx::connection& conn, const audit_entry& entry) {
  pqxx::work tx{conn};
  auto id = write_audit(tx, entry);
  tx.commit();
  return id;
}

audit_filter parse_audit_query(std::string_view query) {
  using runtime::parameter_error;
  auto args = runtime::parse_query(query);
  audit_filter f;
  for (auto& [name, value] : args) {
    if (name == "actor") {
      f.actor = value;
    } else if (name == "drone") {
      f.drone_id = value;
    } else if (name == "action") {
      f.action = value;
    } else if (name == "outcome") {
      f.outcome = parse_audit_outcome(value);
      if (!f.outcome)
        throw parameter_error(name, "parameter outcome must be ok, refused or error");
    } else if (name == "from" || name == "to") {
      auto us = runtime::parse_time(value);
      if (!us)
        throw parameter_error(name, "parameter " + name + " must be RFC 3339 or milliseconds since the epoch");
      // A time_point holds nanoseconds since 1970 (years 1678-2262): an accepted time outside (0001-9999) is
      // clamped, which selects the same entries, instead of overflowing.
      using clock = std::chrono::system_clock;
      constexpr auto lo = std::chrono::duration_cast<std::chrono::microseconds>(clock::duration::min()).count() + 1;
      constexpr auto hi = std::chrono::duration_cast<std::chrono::microseconds>(clock::duration::max()).count() - 1;
      auto clamped = std::clamp<std::int64_t>(*us, lo, hi);
      (name == "from" ? f.from : f.to) = clock::time_point{
        std::chrono::duration_cast<clock::duration>(std::chrono::microseconds{clamped})};
    } else if (name == "limit" || name == "before") {
      auto v = runtime::parse_integer(value);
      if (!v || *v < 1)
        throw parameter_error(name, "parameter " + name + " must be an integer from 1 to 9223372036854775807");
      if (name == "limit")
        f.limit = static_cast<std::size_t>(std::min<std::int64_t>(*v, static_cast<std::int64_t>(audit_max_page)));
      else
        f.before_id = *v;
    } else {
      throw parameter_error(name, "unknown parameter " + name);
    }
  }
  return f;
}

audit_page query_audit(pqxx::connection& conn, const audit_filter& f) {
  auto limit = std::clamp<std::size_t>(f.limit, 1, audit_max_page);
  pqxx::work tx{conn};
  std::string where = "true";
  // Strings are cleaned as write_audit cleans them, so that what was stored is found.
  if (f.actor)
    where += " AND actor = " + tx.quote(f.actor->empty() ? std::string{anonymous_actor} : clean_field(*f.actor));
  if (f.drone_id)
    where += " AND drone_id = " + tx.quote(clean_field(*f.drone_id));
  if (f.action)
    where += " AND action = " + tx.quote(clean_field(*f.action));
  if (f.outcome)
    where += " AND outcome = " + tx.quote(std::string{to_string(*f.outcome)});
  if (f.from)
    where += " AND at >= " + timestamp_sql(*f.from);
  if (f.to)
    where += " AND at < " + timestamp_sql(*f.to);
  if (f.before_id)
    where += " AND id < " + std::to_string(*f.before_id);
  auto res = tx.exec("SELECT id, (extract(epoch FROM at) * 1000000)::int8, actor, action, drone_id, address, outcome,"
                     " detail::text FROM auth.audit WHERE "
                     + where + " ORDER BY id DESC LIMIT " + std::to_string(limit + 1));
  tx.commit();
  audit_page page;
  page.entries.reserve(std::min<std::size_t>(res.size(), limit));
  for (const auto& r : res) {
    if (page.entries.size() == limit) {
      page.next_before_id = page.entries.back().id;
      break;
    }
    audit_entry e;
    e.id = r[0].as<std::int64_t>();
    e.at = from_us(r[1].as<std::int64_t>());
    e.actor = r[2].as<std::string>();
    e.action = r[3].as<std::string>();
    if (!r[4].is_null())
      e.drone_id = r[4].as<std::string>();
    e.address = r[5].as<std::string>();
    e.outcome = parse_audit_outcome(r[6].as<std::string>()).value_or(audit_outcome::error);
    e.detail = nlohmann::json::parse(r[7].as<std::string>());
    page.entries.push_back(std::move(e));
  }
  return page;
}

} // namespace dccs::auth
