#include "actors/analytics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/api_errors.hpp"
#include "auth/access.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/pg_array.hpp"
#include "runtime/pg_copy.hpp"
#include "runtime/query_text.hpp"

namespace dccs::actors {

namespace analytics {

namespace {

constexpr std::int64_t us_per_s = 1000000;
constexpr std::int64_t us_per_day = 86400 * us_per_s;
constexpr std::int64_t us_per_hour = 3600 * us_per_s;

/// One pass at a time in the whole cluster (a session lock: the pass spans two transactions).
constexpr const char* job_lock = "hashtext('dccs-analytics')";
/// The telemetry writers hold this shared in each write transaction (actors/telemetry_writer.cpp).
constexpr const char* writers_lock = "SELECT pg_advisory_xact_lock(hashtext('dccs-telemetry-maintenance'))";

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// A timestamptz literal of a time in µs since the epoch.
std::string ts_sql(std::int64_t us) {
  return "timestamptz '" + runtime::sql_time(us) + "'";
}

std::string day_sql(std::int64_t day) {
  return "(date '1970-01-01' + " + std::to_string(day) + ")";
}

/// Hour `h` (hours since the epoch) as a timestamptz and its UTC day, two SQL values.
std::string hour_sql(std::int64_t h) {
  return ts_sql(h * us_per_hour) + ',' + day_sql(h >= 0 ? h / 24 : -((-h + 23) / 24));
}

/// Rows to insert or update, written in statements of a few hundred rows.
class day_writer {
public:
  explicit day_writer(pqxx::transaction_base& tx) : tx_(tx) {}

  /// Adds the figures to the hour's row (`replace`: the figures are the hour's, whole).
  void hour(const std::string& id, std::int64_t hour, const day_figures& f, bool replace) {
    auto& out = replace ? set_ : add_;
    auto& n = replace ? set_rows_ : add_rows_;
    if (n > 0)
      out += ',';
    out += '(' + tx_.quote(id) + ',' + hour_sql(hour) + ',' + number(f.flight_s) + ',' + number(f.armed_s) + ','
           + number(f.distance_m) + ',' + (f.max_alt_m ? number(*f.max_alt_m) : std::string{"NULL::float8"}) + ','
           + number(f.battery_used_pct) + ',' + std::to_string(f.flights) + ',' + std::to_string(f.samples) + ')';
    if (++n >= batch)
      flush();
  }

  void cursor(const std::string& id, const carried& c) {
    if (!c.has_prev)
      return;
    if (cursor_rows_ > 0)
      cursors_ += ',';
    cursors_ += '(' + tx_.quote(id) + ',' + std::to_string(c.prev.time_us) + ',' + number(c.prev.lat) + ','
                + number(c.prev.lon) + ',' + number(c.prev.alt) + ',' + number(c.prev.battery) + ','
                + (c.prev.armed ? "true" : "false") + ',' + (c.airborne ? "true" : "false") + ','
                + (c.has_ground ? number(c.ground_alt) : std::string{"NULL::float8"}) + ')';
    if (++cursor_rows_ >= batch)
      flush();
  }

  void flush() {
    static const std::string head = "INSERT INTO telemetry.hourly_rollups AS r (drone_id, hour, day, flight_s,"
                                    " armed_s, distance_m, max_alt_m, battery_used_pct, flights, samples) VALUES ";
    if (add_rows_ > 0) {
      tx_.exec0(head + add_
                + " ON CONFLICT (drone_id, hour) DO UPDATE SET flight_s = r.flight_s + EXCLUDED.flight_s,"
                  " armed_s = r.armed_s + EXCLUDED.armed_s, distance_m = r.distance_m + EXCLUDED.distance_m,"
                  " max_alt_m = GREATEST(r.max_alt_m, EXCLUDED.max_alt_m),"
                  " battery_used_pct = r.battery_used_pct + EXCLUDED.battery_used_pct,"
                  " flights = r.flights + EXCLUDED.flights, samples = r.samples + EXCLUDED.samples, updated_at = now()");
      add_.clear();
      add_rows_ = 0;
    }
    if (set_rows_ > 0) {
      tx_.exec0(head + set_
                + " ON CONFLICT (drone_id, hour) DO UPDATE SET flight_s = EXCLUDED.flight_s, armed_s = EXCLUDED.armed_s,"
                  " distance_m = EXCLUDED.distance_m, max_alt_m = EXCLUDED.max_alt_m,"
                  " battery_used_pct = EXCLUDED.battery_used_pct, flights = EXCLUDED.flights,"
                  " samples = EXCLUDED.samples, updated_at = now()");
      set_.clear();
      set_rows_ = 0;
    }
    if (cursor_rows_ > 0) {
      tx_.exec0("INSERT INTO telemetry.rollup_cursors (drone_id, time_us, lat, lon, alt, battery, armed, airborne,"
                " ground_alt) VALUES " + cursors_
                + " ON CONFLICT (drone_id) DO UPDATE SET time_us = EXCLUDED.time_us, lat = EXCLUDED.lat,"
                  " lon = EXCLUDED.lon, alt = EXCLUDED.alt, battery = EXCLUDED.battery, armed = EXCLUDED.armed,"
                  " airborne = EXCLUDED.airborne, ground_alt = EXCLUDED.ground_alt");
      cursors_.clear();
      cursor_rows_ = 0;
    }
  }

private:
  static constexpr int batch = 500;
  pqxx::transaction_base& tx_;
  std::string add_, set_, cursors_;
  int add_rows_ = 0, set_rows_ = 0, cursor_rows_ = 0;
};

/// The columns of a sample the pass reads, in the order read_samples takes them.
constexpr const char* sample_columns = "drone_id, time, lat, lon, alt, battery, armed, seq";

/// Feeds the rows of `query` (a SELECT of sample_columns) to f(drone id, sample, seq), as PostgreSQL sends them, in
/// COPY's binary format: a pass reads a minute of the fleet's samples back (1.5 million rows at 5,000 drones × 5 Hz),
/// and a cursor fetched as text spent most of the pass writing and parsing their numbers on both sides
/// (bench/analytics-report.md). The connection takes no other statement until it returns.
template <class F>
void read_samples(pqxx::dbtransaction& tx, const std::string& query, F&& f) {
  runtime::pg_copy::receive(tx, "COPY (" + query + ") TO STDOUT (FORMAT binary)",
                            [&f](const runtime::pg_copy::field* c, std::size_t n) {
                              if (n != 8)
                                throw pqxx::conversion_error{"a sample row of " + std::to_string(n) + " fields"};
                              sample x;
                              x.time_us = c[1].timestamptz_us();
                              x.lat = c[2].float8();
                              x.lon = c[3].float8();
                              x.alt = c[4].float8();
                              x.battery = c[5].float8();
                              x.armed = c[6].boolean();
                              f(c[0].text(), x, c[7].int8());
                            });
}

/// Adds drone `id`'s samples whose time satisfies `time_range` (SQL on `time`) to `acc`, in (time, seq) order (the
/// unique index on (drone_id, time, seq) gives them sorted).
void add_sorted(pqxx::dbtransaction& tx, const std::string& id, const std::string& time_range, accumulator& acc) {
  read_samples(tx,
               std::string{"SELECT "} + sample_columns + " FROM telemetry.samples WHERE drone_id = " + tx.quote(id)
                 + " AND " + time_range + " ORDER BY time, seq",
               [&acc](std::string_view, const sample& x, std::int64_t) { acc.add(x); });
}

/// The state a drone starts hour `hour` with, from its samples of the day before it: ground altitude and whether it
/// was flying. The sample before the hour itself is not carried: intervals are counted in the hour they start.
carried state_before(pqxx::transaction_base& tx, const std::string& id, std::int64_t hour, const rules& r) {
  carried st;
  auto start = ts_sql(hour * us_per_hour);
  auto before = ts_sql(hour * us_per_hour - us_per_day);
  auto where = " FROM telemetry.samples WHERE drone_id = " + tx.quote(id) + " AND time < " + start
               + " AND time >= " + before;
  auto ground = tx.exec("SELECT alt" + where + " AND NOT armed ORDER BY time DESC, seq DESC LIMIT 1");
  auto last = tx.exec("SELECT alt, armed" + where + " ORDER BY time DESC, seq DESC LIMIT 1");
  if (!ground.empty()) {
    st.has_ground = true;
    st.ground_alt = ground[0][0].as<double>();
  } else if (!last.empty() && !last[0][1].as<bool>()) {
    st.has_ground = true;
    st.ground_alt = last[0][0].as<double>();
  }
  if (!last.empty() && st.has_ground && last[0][1].as<bool>())
    st.airborne = last[0][0].as<double>() - st.ground_alt > r.takeoff_m;
  return st;
}

} // namespace

pass_result rollup_pass(pqxx::connection& conn, const analytics_settings& s, std::int64_t now_ms) {
  pass_result out;
  {
    pqxx::nontransaction nt{conn};
    if (!nt.exec1(std::string{"SELECT pg_try_advisory_lock("} + job_lock + ")")[0].as<bool>())
      return out;
  }
  struct unlock {
    pqxx::connection& c;
    ~unlock() {
      try {
        pqxx::nontransaction nt{c};
        nt.exec(std::string{"SELECT pg_advisory_unlock("} + job_lock + ")");
      } catch (...) {
        // The connection broke: the server released the lock with the session.
      }
    }
  } release{conn};
  out.ran = true;
  rules hourly = s.rules;
  hourly.bucket_s = 3600;
  auto now_us = now_ms * 1000;
  auto today = day_of(now_us);

  // 1. Claim the window.
  std::int64_t done = 0;
  std::int64_t claimed = 0;
  {
    pqxx::work tx{conn};
    tx.exec(writers_lock);
    auto r = tx.exec1("SELECT (extract(epoch FROM claimed) * 1000000)::int8, (extract(epoch FROM done) * 1000000)::int8"
                      " FROM telemetry.rollup_state WHERE id = 1 FOR UPDATE");
    done = r[1].is_null() ? (today - s.history_days) * us_per_day : r[1].as<std::int64_t>();
    auto old_claimed = r[0].is_null() ? done : r[0].as<std::int64_t>();
    auto horizon = now_us - s.settle_s * us_per_s;
    // Stretches with no telemetry are skipped, whole days (empty partitions: answered at once), then hours (the
    // BRIN index): a first pass starts history_days back, and each empty window would otherwise cost a pass of its
    // own, every drone's cursor read and written back, this lock taken each time (720 passes on a fresh node,
    // minutes of work under a 5,000-drone load). Under the lock: a row committed later is marked by its writer.
    auto begin = done;
    if (old_claimed <= done) {
      auto empty = [&tx](std::int64_t from, std::int64_t to) {
        return tx.exec("SELECT 1 FROM telemetry.samples WHERE time > " + ts_sql(from) + " AND time <= " + ts_sql(to)
                       + " LIMIT 1").empty();
      };
      while (begin < horizon) {
        auto to = std::min(horizon, (day_of(begin) + 1) * us_per_day);
        if (!empty(begin, to))
          break;
        begin = to;
      }
      while (begin < horizon) {
        auto to = std::min(horizon, (begin / us_per_hour + 1) * us_per_hour);
        if (!empty(begin, to))
          break;
        begin = to;
      }
    }
    auto target = std::min(horizon, begin + s.window_s * us_per_s);
    out.caught_up = target >= horizon;
    claimed = std::max({old_claimed, target, done});
    tx.exec0("UPDATE telemetry.rollup_state SET claimed = " + ts_sql(claimed)
             + ", done = " + ts_sql(done) + " WHERE id = 1");
    tx.commit();
  }

  // 2. Count, in one snapshot.
  pqxx::transaction<pqxx::isolation_level::repeatable_read> tx{conn};
  std::unordered_map<std::string, carried> cursors;
  for (const auto& row : tx.exec("SELECT drone_id, time_us, lat, lon, alt, battery, armed, airborne, ground_alt"
                                 " FROM telemetry.rollup_cursors")) {
    carried c;
    c.has_prev = true;
    c.prev.time_us = row[1].as<std::int64_t>();
    c.prev.lat = row[2].as<double>();
    c.prev.lon = row[3].as<double>();
    c.prev.alt = row[4].as<double>();
    c.prev.battery = row[5].as<double>();
    c.prev.armed = row[6].as<bool>();
    c.airborne = row[7].as<bool>();
    c.has_ground = !row[8].is_null();
    c.ground_alt = c.has_ground ? row[8].as<double>() : 0.0;
    cursors.emplace(row[0].as<std::string>(), c);
  }
  day_writer writer{tx};
  if (claimed > done) {
    // The window's samples as PostgreSQL stores them, not sorted: rows are stored as they arrive, so a drone's come in
    // (time, seq) order but for rare exceptions (frames stored late, a row put in space freed earlier), and sorting a
    // minute of the fleet's samples (1.5 million rows) by drone was most of the server's part of a pass
    // (bench/analytics-report.md). Every drone in the window counts at once, each from its carried state; a drone
    // with a sample out of order is read again, sorted (its rows of the window through the unique index), from its
    // carried state: the figures are the same as a sorted read's, always.
    struct drone_window {
      accumulator acc;
      std::int64_t last_time = 0;
      std::int64_t last_seq = 0;
      bool any = false;
      bool disordered = false;
    };
    std::unordered_map<std::string, drone_window> window;
    auto carried_of = [&cursors](const std::string& id) {
      auto it = cursors.find(id);
      return it != cursors.end() ? it->second : carried{};
    };
    auto range = "time > " + ts_sql(done) + " AND time <= " + ts_sql(claimed);
    // One process reads the window (a parallel plan would interleave the workers' rows).
    tx.exec0("SET LOCAL max_parallel_workers_per_gather = 0");
    std::string key;
    read_samples(tx, std::string{"SELECT "} + sample_columns + " FROM telemetry.samples WHERE " + range,
                 [&](std::string_view id, const sample& x, std::int64_t seq) {
                   ++out.samples;
                   key.assign(id.data(), id.size());
                   auto it = window.find(key);
                   if (it == window.end())
                     it = window.emplace(key, drone_window{accumulator{hourly, carried_of(key)}}).first;
                   auto& w = it->second;
                   if (w.disordered)
                     return;
                   if (w.any && (x.time_us < w.last_time || (x.time_us == w.last_time && seq < w.last_seq))) {
                     w.disordered = true;
                     return;
                   }
                   w.any = true;
                   w.last_time = x.time_us;
                   w.last_seq = seq;
                   w.acc.add(x);
                 });
    out.drones = static_cast<std::int64_t>(window.size());
    for (auto& [id, w] : window) {
      if (w.disordered) {
        ++out.resorted;
        w.acc = accumulator{hourly, carried_of(id)};
        add_sorted(tx, id, range, w.acc);
      }
      for (const auto& [hour, f] : w.acc.days())
        writer.hour(id, hour, f, false);
      writer.cursor(id, w.acc.state());
      cursors[id] = w.acc.state();
    }
    writer.flush();
  }

  // Hours marked by the writers: computed again, whole.
  auto marks = tx.exec("SELECT drone_id, (extract(epoch FROM hour) / 3600)::int8 FROM telemetry.rollup_dirty"
                       " ORDER BY hour, drone_id LIMIT " + std::to_string(s.dirty_per_pass));
  std::string cleared;
  for (const auto& mark : marks) {
    auto id = mark[0].as<std::string>();
    auto hour = mark[1].as<std::int64_t>();
    if (!cleared.empty())
      cleared += ',';
    cleared += '(' + tx.quote(id) + ',' + ts_sql(hour * us_per_hour) + ')';
    ++out.recomputed;
    if (hour * us_per_hour < (today - s.retention_days) * us_per_day)
      continue;
    accumulator acc{hourly, state_before(tx, id, hour, hourly)};
    auto end = std::min(claimed, (hour + 1) * us_per_hour - 1);
    add_sorted(tx, id, "time >= " + ts_sql(hour * us_per_hour) + " AND time <= " + ts_sql(end), acc);
    auto it = acc.days().find(hour);
    if (it != acc.days().end()) {
      writer.hour(id, hour, it->second, true);
      // The drone's newest state, when this hour holds its newest sample counted.
      auto c = cursors.find(id);
      if (c == cursors.end() || c->second.prev.time_us <= acc.state().prev.time_us) {
        writer.cursor(id, acc.state());
        cursors[id] = acc.state();
      }
    } else {
      tx.exec0("DELETE FROM telemetry.hourly_rollups WHERE drone_id = " + tx.quote(id) + " AND hour = "
               + ts_sql(hour * us_per_hour));
    }
  }
  writer.flush();
  if (!cleared.empty())
    tx.exec0("DELETE FROM telemetry.rollup_dirty WHERE (drone_id, hour) IN (VALUES " + cleared + ")");
  if (static_cast<std::int64_t>(marks.size()) >= s.dirty_per_pass)
    out.caught_up = false;
  tx.exec0("DELETE FROM telemetry.hourly_rollups WHERE day < " + day_sql(today - s.retention_days));
  tx.exec0("UPDATE telemetry.rollup_state SET done = " + ts_sql(claimed)
           + ", passes = passes + 1, last_pass = now() WHERE id = 1");
  tx.commit();
  out.done_us = claimed;
  return out;
}

// -- answers --------------------------------------------------------------------------------------------

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string day_text(std::int64_t day) {
  std::time_t t = static_cast<std::time_t>(day) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

/// A UTC day as YYYY-MM-DD, strictly (a real date from 2000 to 2999).
std::optional<std::int64_t> parse_day(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
  int y = std::stoi(s.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31)
    return std::nullopt;
  auto day = days_from_civil(y, m, d);
  if (day_text(day) != s) // 2026-02-30 and the like
    return std::nullopt;
  return day;
}

bool valid_group(const std::string& g) {
  if (g.empty() || g.size() > 64)
    return false;
  return std::all_of(g.begin(), g.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
           || c == '-';
  });
}

struct query_params {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::string group;
  std::string drone;
  bool csv = false;
};

query_params parse(const http_query& q, std::int64_t today) {
  using runtime::parameter_error;
  auto args = runtime::parse_query(q.query);
  for (const auto& [k, v] : args) {
    (void)v;
    if (k != "from" && k != "to" && k != "group" && k != "format" && !(k == "drone" && q.kind == "daily"))
      throw parameter_error(k, "unknown parameter " + k);
  }
  query_params p;
  auto day = [&](const char* name, std::int64_t fallback) {
    auto it = args.find(name);
    if (it == args.end())
      return fallback;
    auto d = parse_day(it->second);
    if (!d)
      throw parameter_error(name, std::string{"parameter "} + name + " must be a UTC day as YYYY-MM-DD");
    return *d;
  };
  p.to = day("to", today);
  p.from = day("from", p.to - 6);
  if (p.from > p.to)
    throw parameter_error("from", "parameter from must not be after to");
  if (p.to - p.from + 1 > 366)
    throw parameter_error("from", "parameter from: the range from..to is longer than 366 days");
  if (auto it = args.find("group"); it != args.end()) {
    if (!valid_group(it->second))
      throw parameter_error("group", "parameter group must be a group name (1-64 of A-Z a-z 0-9 _ . -)");
    p.group = it->second;
  }
  if (auto it = args.find("drone"); it != args.end()) {
    if (!valid_drone_id(it->second))
      throw parameter_error("drone", "parameter drone must be a drone id (1-64 of A-Z a-z 0-9 _ . -)");
    p.drone = it->second;
  }
  if (auto it = args.find("format"); it != args.end()) {
    if (it->second != "json" && it->second != "csv")
      throw parameter_error("format", "parameter format must be json or csv");
    p.csv = it->second == "csv";
  }
  return p;
}

double r3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

/// The drones a query covers, with their groups.
struct coverage {
  bool every = false;                           ///< every drone (an admin without filters): no id list
  std::unordered_map<std::string, std::string> group_of; ///< registry groups (ids not in it: group "")
  std::vector<std::string> ids;                  ///< when !every: exactly these drones
};

struct sums {
  std::int64_t drones = 0;
  double flight_s = 0, armed_s = 0, distance_m = 0, battery_used_pct = 0;
  std::optional<double> max_alt_m;
  std::int64_t flights = 0, alarms = 0, samples = 0;
};

void put_figures(nlohmann::json& j, const sums& f) {
  j["flight_s"] = r3(f.flight_s);
  j["armed_s"] = r3(f.armed_s);
  j["distance_m"] = r3(f.distance_m);
  j["max_alt_m"] = f.max_alt_m ? nlohmann::json(r3(*f.max_alt_m)) : nlohmann::json(nullptr);
  j["battery_used_pct"] = r3(f.battery_used_pct);
  j["flights"] = f.flights;
  j["alarms"] = f.alarms;
}

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null())
    return {};
  if (v.is_number_float()) { // 19 rather than 19.0, 0.1 rather than 0.10000000000000001
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.15g", v.get<double>());
    return buf;
  }
  if (!v.is_string())
    return v.dump();
  auto s = v.get<std::string>();
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

std::string to_csv(const nlohmann::json& rows, const std::vector<std::string>& columns) {
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i)
    out += (i ? "," : "") + columns[i];
  out += "\r\n";
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i)
        out += ',';
      out += csv_cell(row.contains(columns[i]) ? row[columns[i]] : nlohmann::json(nullptr));
    }
    out += "\r\n";
  }
  return out;
}

struct links {
  explicit links(const analytics_settings& s) : telemetry(s.telemetry), fleet(s.fleet), commands(s.commands) {}
  runtime::pg_link telemetry;
  runtime::pg_link fleet;
  runtime::pg_link commands;
};

caf::expected<api_result> answer(links& db, const analytics_settings& s, const http_query& q) {
  if (q.kind != "daily" && q.kind != "fleet" && q.kind != "drones")
    return api_error(errc::not_found, "not_found", "no such API route");
  const auto& who = q.who;
  if (!auth::role_allows(who.role, auth::permission::read_analytics))
    return api_error(errc::forbidden, "forbidden", "analytics are for the admin, operator and analytics roles");
  try {
    auto today = day_of(static_cast<std::int64_t>(runtime::wall_ms()) * 1000);
    auto p = parse(q, today);
    if (!p.group.empty() && !auth::reaches(who, p.group))
      return api_error(errc::forbidden, "forbidden", "you do not reach drone group " + p.group);
    // Which drones, and their groups (the registry's).
    coverage cov;
    bool admin = who.role == "admin";
    std::vector<std::string> groups;
    if (!p.group.empty())
      groups.push_back(p.group);
    else if (!admin)
      groups = who.groups;
    cov.every = admin && p.group.empty() && p.drone.empty();
    std::optional<api_result> refused;
    db.fleet.run([&](pqxx::connection& conn) {
      pqxx::nontransaction tx{conn};
      cov.group_of.clear();
      cov.ids.clear();
      if (!p.drone.empty()) {
        auto r = tx.exec("SELECT group_name FROM fleet.drones WHERE id = " + tx.quote(p.drone));
        std::string g = r.empty() ? std::string{} : r[0][0].as<std::string>();
        bool sees = r.empty() ? admin : auth::reaches(who, g);
        if (!sees)
          return;
        cov.group_of[p.drone] = g;
        if (p.group.empty() || g == p.group)
          cov.ids.push_back(p.drone);
        return;
      }
      std::string sql = "SELECT id, group_name FROM fleet.drones";
      if (!cov.every)
        sql += " WHERE group_name = ANY(" + tx.quote(runtime::pg_text_array(groups)) + "::text[])";
      for (const auto& row : tx.exec(sql)) {
        cov.group_of.emplace(row[0].as<std::string>(), row[1].as<std::string>());
        if (!cov.every)
          cov.ids.push_back(row[0].as<std::string>());
      }
    });
    if (!p.drone.empty() && cov.group_of.find(p.drone) == cov.group_of.end())
      return api_error(errc::not_found, "not_found", "no drone " + p.drone);
    auto filter = [&](pqxx::transaction_base& tx) {
      return cov.every ? std::string{} : " AND drone_id = ANY(" + tx.quote(runtime::pg_text_array(cov.ids)) + "::text[])";
    };
    auto group_of = [&](const std::string& id) -> std::optional<std::string> {
      auto it = cov.group_of.find(id);
      if (it != cov.group_of.end())
        return it->second;
      if (cov.every)
        return std::string{};
      return std::nullopt;
    };
    bool none = !cov.every && cov.ids.empty();
    // Alarms raised per (drone, day).
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> alarms;
    if (!none)
      db.commands.run([&](pqxx::connection& conn) {
        pqxx::nontransaction tx{conn};
        alarms.clear();
        for (const auto& row : tx.exec("SELECT ((raised_at AT TIME ZONE 'UTC')::date - date '1970-01-01'), drone_id,"
                                       " count(*) FROM commands.alarms WHERE raised_at >= "
                                       + ts_sql(p.from * us_per_day) + " AND raised_at < "
                                       + ts_sql((p.to + 1) * us_per_day) + filter(tx) + " GROUP BY 1, 2"))
          alarms[{row[0].as<std::int64_t>(), row[1].as<std::string>()}] = row[2].as<std::int64_t>();
      });
    nlohmann::json body{{"from", day_text(p.from)}, {"to", day_text(p.to)}, {"computed_through", nullptr}};
    std::string range = " WHERE day >= " + day_sql(p.from) + " AND day <= " + day_sql(p.to);
    if (q.kind == "daily") {
      auto rows = nlohmann::json::array();
      std::map<std::pair<std::int64_t, std::string>, sums> found;
      bool too_many = false;
      db.telemetry.run([&](pqxx::connection& conn) {
        pqxx::nontransaction tx{conn};
        found.clear();
        auto done = tx.exec1("SELECT (extract(epoch FROM done) * 1000)::int8 FROM telemetry.rollup_state");
        body["computed_through"] = done[0].is_null() ? nlohmann::json(nullptr) : nlohmann::json(done[0].as<std::int64_t>());
        if (none)
          return;
        auto r = tx.exec("SELECT (day - date '1970-01-01'), drone_id, flight_s, armed_s, distance_m, max_alt_m,"
                         " battery_used_pct, flights, samples FROM telemetry.daily_rollups" + range + filter(tx)
                         + " ORDER BY day, drone_id LIMIT " + std::to_string(s.max_rows + 1));
        too_many = static_cast<std::int64_t>(r.size()) > s.max_rows;
        for (const auto& row : r) {
          sums f;
          f.flight_s = row[2].as<double>();
          f.armed_s = row[3].as<double>();
          f.distance_m = row[4].as<double>();
          if (!row[5].is_null())
            f.max_alt_m = row[5].as<double>();
          f.battery_used_pct = row[6].as<double>();
          f.flights = row[7].as<std::int64_t>();
          f.samples = row[8].as<std::int64_t>();
          found[{row[0].as<std::int64_t>(), row[1].as<std::string>()}] = f;
        }
      });
      if (too_many || static_cast<std::int64_t>(found.size() + alarms.size()) > 2 * s.max_rows)
        return api_error(errc::invalid_request, "invalid_parameter",
                         "more than " + std::to_string(s.max_rows)
                           + " drone-days in the range: narrow from..to, or filter by group or drone",
                         "parameter", "from");
      for (const auto& [key, n] : alarms)
        found[key].alarms = n;
      for (const auto& [key, f] : found) {
        auto g = group_of(key.second);
        if (!g)
          continue;
        nlohmann::json row{{"day", day_text(key.first)}, {"drone_id", key.second}, {"group", *g}};
        put_figures(row, f);
        row["samples"] = f.samples;
        rows.push_back(std::move(row));
      }
      if (static_cast<std::int64_t>(rows.size()) > s.max_rows)
        return api_error(errc::invalid_request, "invalid_parameter",
                         "more than " + std::to_string(s.max_rows)
                           + " drone-days in the range: narrow from..to, or filter by group or drone",
                         "parameter", "from");
      if (p.csv)
        return api_result{api_outcome::found, "text/csv; charset=utf-8",
                          to_csv(rows, {"day", "drone_id", "group", "flight_s", "armed_s", "distance_m", "max_alt_m",
                                        "battery_used_pct", "flights", "alarms", "samples"})};
      body["rows"] = std::move(rows);
      return json_result(body.dump());
    }
    if (q.kind == "drones") {
      // Per drone over the whole range: the figures summed in the database (a row per drone, whatever the range).
      std::map<std::string, sums> per_drone;
      std::map<std::string, std::int64_t> active_days;
      bool too_many = false;
      db.telemetry.run([&](pqxx::connection& conn) {
        pqxx::nontransaction tx{conn};
        per_drone.clear();
        active_days.clear();
        auto done = tx.exec1("SELECT (extract(epoch FROM done) * 1000)::int8 FROM telemetry.rollup_state");
        body["computed_through"] = done[0].is_null() ? nlohmann::json(nullptr) : nlohmann::json(done[0].as<std::int64_t>());
        if (none)
          return;
        auto r = tx.exec("SELECT drone_id, count(*), sum(flight_s), sum(armed_s), sum(distance_m), max(max_alt_m),"
                         " sum(battery_used_pct), sum(flights), sum(samples) FROM telemetry.daily_rollups" + range
                         + filter(tx) + " GROUP BY drone_id ORDER BY drone_id LIMIT " + std::to_string(s.max_rows + 1));
        too_many = static_cast<std::int64_t>(r.size()) > s.max_rows;
        for (const auto& row : r) {
          auto& f = per_drone[row[0].as<std::string>()];
          active_days[row[0].as<std::string>()] = row[1].as<std::int64_t>();
          f.flight_s = row[2].as<double>();
          f.armed_s = row[3].as<double>();
          f.distance_m = row[4].as<double>();
          if (!row[5].is_null())
            f.max_alt_m = row[5].as<double>();
          f.battery_used_pct = row[6].as<double>();
          f.flights = row[7].as<std::int64_t>();
          f.samples = row[8].as<std::int64_t>();
        }
      });
      for (const auto& [key, n] : alarms)
        per_drone[key.second].alarms += n;
      if (too_many || static_cast<std::int64_t>(per_drone.size()) > s.max_rows)
        return api_error(errc::invalid_request, "invalid_parameter",
                         "more than " + std::to_string(s.max_rows) + " drones: filter by group", "parameter", "group");
      auto rows = nlohmann::json::array();
      for (const auto& [id, f] : per_drone) {
        auto g = group_of(id);
        if (!g)
          continue;
        auto days_it = active_days.find(id);
        nlohmann::json row{{"drone_id", id}, {"group", *g},
                           {"days", days_it == active_days.end() ? 0 : days_it->second}};
        put_figures(row, f);
        row["samples"] = f.samples;
        rows.push_back(std::move(row));
      }
      if (p.csv)
        return api_result{api_outcome::found, "text/csv; charset=utf-8",
                          to_csv(rows, {"drone_id", "group", "days", "flight_s", "armed_s", "distance_m", "max_alt_m",
                                        "battery_used_pct", "flights", "alarms", "samples"})};
      body["drones"] = std::move(rows);
      return json_result(body.dump());
    }
    // fleet: per (day, group) and per group, summed in the database over the registry's groups.
    std::map<std::pair<std::int64_t, std::string>, sums> days;
    std::map<std::string, sums> totals;
    db.telemetry.run([&](pqxx::connection& conn) {
      pqxx::nontransaction tx{conn};
      days.clear();
      totals.clear();
      auto done = tx.exec1("SELECT (extract(epoch FROM done) * 1000)::int8 FROM telemetry.rollup_state");
      body["computed_through"] = done[0].is_null() ? nlohmann::json(nullptr) : nlohmann::json(done[0].as<std::int64_t>());
      if (none)
        return;
      std::vector<std::string> ids, gs;
      for (const auto& [id, g] : cov.group_of) {
        ids.push_back(id);
        gs.push_back(g);
      }
      auto with = "WITH g(id, grp) AS (SELECT * FROM unnest(" + tx.quote(runtime::pg_text_array(ids)) + "::text[], "
                  + tx.quote(runtime::pg_text_array(gs)) + "::text[])) ";
      auto from = std::string{" FROM telemetry.daily_rollups r "} + (cov.every ? "LEFT " : "")
                  + "JOIN g ON g.id = r.drone_id" + range;
      auto figures = "count(DISTINCT r.drone_id), sum(flight_s), sum(armed_s), sum(distance_m), max(max_alt_m),"
                     " sum(battery_used_pct), sum(flights)";
      auto read = [](const pqxx::row& row, int at, sums& f) {
        f.drones = row[at].as<std::int64_t>();
        f.flight_s = row[at + 1].as<double>();
        f.armed_s = row[at + 2].as<double>();
        f.distance_m = row[at + 3].as<double>();
        if (!row[at + 4].is_null())
          f.max_alt_m = row[at + 4].as<double>();
        f.battery_used_pct = row[at + 5].as<double>();
        f.flights = row[at + 6].as<std::int64_t>();
      };
      for (const auto& row : tx.exec(with + "SELECT (day - date '1970-01-01'), coalesce(g.grp, ''), " + figures + from
                                     + " GROUP BY 1, 2"))
        read(row, 2, days[{row[0].as<std::int64_t>(), row[1].as<std::string>()}]);
      for (const auto& row : tx.exec(with + "SELECT coalesce(g.grp, ''), " + figures + from + " GROUP BY 1"))
        read(row, 1, totals[row[0].as<std::string>()]);
    });
    for (const auto& [key, n] : alarms) {
      auto g = group_of(key.second);
      if (!g)
        continue;
      days[{key.first, *g}].alarms += n;
      totals[*g].alarms += n;
    }
    auto day_rows = nlohmann::json::array();
    for (const auto& [key, f] : days) {
      nlohmann::json row{{"day", day_text(key.first)}, {"group", key.second}, {"drones", f.drones}};
      put_figures(row, f);
      day_rows.push_back(std::move(row));
    }
    auto total_rows = nlohmann::json::array();
    for (const auto& [g, f] : totals) {
      nlohmann::json row{{"group", g}, {"drones", f.drones}};
      put_figures(row, f);
      total_rows.push_back(std::move(row));
    }
    if (p.csv)
      return api_result{api_outcome::found, "text/csv; charset=utf-8",
                        to_csv(day_rows, {"day", "group", "drones", "flight_s", "armed_s", "distance_m", "max_alt_m",
                                          "battery_used_pct", "flights", "alarms"})};
    body["days"] = std::move(day_rows);
    body["totals"] = std::move(total_rows);
    return json_result(body.dump());
  } catch (const runtime::parameter_error& e) {
    return api_error(errc::invalid_request, "invalid_parameter", e.what(), "parameter", e.parameter);
  } catch (const runtime::db_error& e) {
    return db_failure(e);
  }
}

} // namespace

} // namespace analytics

worker_actor::behavior_type analytics_job(worker_actor::pointer self, analytics_settings s,
                                          analytics::job_metrics metrics) {
  auto link = std::make_shared<runtime::pg_link>(s.telemetry);
  auto settings = std::make_shared<analytics_settings>(std::move(s));
  auto pass = [link, settings, metrics]() -> std::optional<analytics::pass_result> {
    try {
      auto r = link->run([&](pqxx::connection& conn) {
        return analytics::rollup_pass(conn, *settings, static_cast<std::int64_t>(runtime::wall_ms()));
      });
      if (r.ran) {
        if (metrics.passes)
          metrics.passes->inc();
        if (metrics.samples)
          metrics.samples->inc(static_cast<std::uint64_t>(r.samples));
        if (metrics.recomputed)
          metrics.recomputed->inc(static_cast<std::uint64_t>(r.recomputed));
        if (metrics.resorted)
          metrics.resorted->inc(static_cast<std::uint64_t>(r.resorted));
        if (metrics.lag_s)
          metrics.lag_s->set(static_cast<std::int64_t>((runtime::wall_ms() * 1000 - static_cast<double>(r.done_us)) / 1e6));
      }
      return r;
    } catch (const runtime::db_error& e) {
      if (metrics.failures)
        metrics.failures->inc();
      runtime::log::warn("analytics", "rollup pass failed, will retry", {{"error", e.what()}});
      return std::nullopt;
    }
  };
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto r = pass();
      auto wait = !r ? std::max<std::int64_t>(1000, link->retry_in_ms())
                  : r->ran && !r->caught_up ? 0
                                            : settings->interval_s * 1000;
      self->delayed_send(self, std::chrono::milliseconds(wait), tick_atom::value);
    },
    [=](flush_atom) -> bool {
      auto r = pass();
      return r && r->ran;
    },
  };
}

analytics_actor::behavior_type analytics_impl(analytics_actor::pointer self, analytics_settings s) {
  auto settings = std::make_shared<const analytics_settings>(std::move(s));
  auto db = std::make_shared<analytics::links>(*settings);
  (void)self;
  return {
    [db, settings](analytics_atom, const http_query& q) -> caf::result<api_result> {
      return analytics::answer(*db, *settings, q);
    },
  };
}

} // namespace dccs::actors
