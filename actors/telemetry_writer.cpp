#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <ctime>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/telemetry_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/pg_array.hpp"
#include "runtime/pg_copy.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

// -- buffer ---------------------------------------------------------------------------------------------

telemetry_buffer::telemetry_buffer(std::size_t max_bytes, std::size_t batch_rows, telemetry_metrics metrics)
  : max_bytes_(max_bytes), batch_rows_(batch_rows), metrics_(metrics) {
}

std::size_t telemetry_buffer::row_bytes(const telemetry_row& r) {
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  return sizeof(telemetry_row) + heap(r.drone_id) + heap(r.t.mode);
}

void telemetry_buffer::account(std::int64_t rows, std::int64_t bytes) {
  if (metrics_.buffered_rows)
    metrics_.buffered_rows->add(rows);
  if (metrics_.buffered_bytes)
    metrics_.buffered_bytes->add(bytes);
}

bool telemetry_buffer::push(telemetry_row&& row) {
  auto size = static_cast<std::int64_t>(row_bytes(row));
  bool acked = !row.ack.expired();
  bool stored = false;
  std::function<void()> wake; // copied under the lock, called outside it
  std::int64_t dropped = 0;
  std::int64_t rows_delta = 0;
  std::int64_t bytes_delta = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto fits = [&] { return bytes_ + static_cast<std::size_t>(size) <= max_bytes_; };
    while (!fits() && !best_effort_.empty()) {
      auto b = static_cast<std::int64_t>(row_bytes(best_effort_.front()));
      best_effort_.pop_front();
      bytes_ -= static_cast<std::size_t>(b);
      ++dropped;
      --rows_delta;
      bytes_delta -= b;
    }
    if (fits()) {
      (acked ? acked_ : best_effort_).push_back(std::move(row));
      bytes_ += static_cast<std::size_t>(size);
      stored = true;
      ++rows_delta;
      bytes_delta += size;
      if (!wake_sent_ && acked_.size() + best_effort_.size() >= batch_rows_) {
        wake_sent_ = true;
        wake = wake_;
      }
    } else if (!acked) {
      ++dropped; // only acknowledged rows wait: the newest best-effort row goes too
    }
  }
  account(rows_delta, bytes_delta);
  if (dropped > 0 && metrics_.dropped)
    metrics_.dropped->inc(static_cast<std::uint64_t>(dropped));
  if (!stored && acked && metrics_.refused)
    metrics_.refused->inc();
  if (wake)
    wake();
  return stored || !acked;
}

void telemetry_buffer::take(std::vector<telemetry_row>& out, std::size_t max) {
  std::int64_t rows_delta = 0;
  std::int64_t bytes_delta = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto* q : {&acked_, &best_effort_}) {
      while (!q->empty() && out.size() < max) {
        auto b = static_cast<std::int64_t>(row_bytes(q->front()));
        out.push_back(std::move(q->front()));
        q->pop_front();
        bytes_ -= static_cast<std::size_t>(b);
        --rows_delta;
        bytes_delta -= b;
      }
    }
    if (acked_.size() + best_effort_.size() < batch_rows_)
      wake_sent_ = false;
  }
  account(rows_delta, bytes_delta);
}

std::size_t telemetry_buffer::rows() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return acked_.size() + best_effort_.size();
}

std::size_t telemetry_buffer::bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return bytes_;
}

// -- writer ---------------------------------------------------------------------------------------------

namespace {

void append_number(std::string& out, double v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_integer(std::string& out, std::uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_optional(std::string& out, bool present, double v) {
  out += ',';
  if (present)
    append_number(out, v);
  else
    out += 'N';
}

/// The numeric fields of a row as one comma-separated list (N for NULL): COPY then escapes three short
/// text fields per row instead of converting nineteen, and PostgreSQL splits the list in C.
void append_numbers(std::string& out, const telemetry_row& r) {
  const auto& t = r.t;
  append_number(out, t.lat);
  for (double v : {t.lon, t.alt, t.heading, t.speed, t.vspeed, t.battery}) {
    out += ',';
    append_number(out, v);
  }
  out += t.armed ? ",1" : ",0";
  append_optional(out, t.present & telemetry::has_roll, t.roll);
  append_optional(out, t.present & telemetry::has_pitch, t.pitch);
  append_optional(out, t.present & telemetry::has_yaw, t.yaw);
  append_optional(out, t.present & telemetry::has_voltage, t.voltage);
  append_optional(out, t.present & telemetry::has_sats, t.sats);
  append_optional(out, t.present & telemetry::has_fix, t.fix);
}

/// A time in ms since the epoch as PostgreSQL's to_timestamp(ms / 1000.0) stores it, in microseconds since the
/// epoch: the same float8 steps as its float8_timestamptz (seconds, moved to its 2000 epoch, times 10^6, rounded
/// half to even). Both ways of writing a row (COPY straight into the table, or through the staging table) give a
/// resent frame the same key, and rows stored by earlier versions (which let PostgreSQL convert) too; the suite
/// checks it against PostgreSQL (tests/system/storage_test.cpp).
std::int64_t pg_time_us(double ms) {
  double seconds = ms / 1000.0;
  seconds -= 946684800.0;
  return static_cast<std::int64_t>(std::rint(seconds * 1000000.0)) + 946684800000000LL;
}

/// Appends `v` as exactly `width` decimal digits (0 <= v < 10^width).
void append_digits(std::string& out, std::int64_t v, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

/// A time from pg_time_us as a timestamptz literal in UTC ("2026-12-01 19:30:00.123456+00"). Formatted by hand
/// (the civil date from days since the epoch, H. Hinnant's days_to_civil): snprintf and gmtime_r (which takes
/// glibc's time zone lock) were 3 % of the node's CPU at 23,000 rows/s. Years past 9999 (a drone clock far off:
/// ts may reach 10^15 ms) take snprintf; ts is never negative (drone_frame.cpp), so neither is the year.
void append_timestamp(std::string& out, std::int64_t us) {
  auto secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  auto frac = us - secs * 1000000;
  auto days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  auto sod = secs - days * 86400; // seconds of the day, 0..86399
  // days_to_civil: the proleptic Gregorian date of `days` since 1970-01-01.
  auto z = days + 719468;
  auto era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = z - era * 146097;                                      // [0, 146096]
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
  auto y = yoe + era * 400;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
  auto mp = (5 * doy + 2) / 153;                      // [0, 11]
  auto d = doy - (153 * mp + 2) / 5 + 1;              // [1, 31]
  auto m = mp < 10 ? mp + 3 : mp - 9;                 // [1, 12]
  if (m <= 2)
    ++y;
  if (y <= 9999) {
    append_digits(out, y, 4);
    out += '-';
    append_digits(out, m, 2);
    out += '-';
    append_digits(out, d, 2);
    out += ' ';
    append_digits(out, sod / 3600, 2);
    out += ':';
    append_digits(out, sod / 60 % 60, 2);
    out += ':';
    append_digits(out, sod % 60, 2);
    out += '.';
    append_digits(out, frac, 6);
    out += "+00";
    return;
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld.%06lld+00", static_cast<long long>(y),
                        static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(sod / 3600),
                        static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                        static_cast<long long>(frac));
  out.append(buf, static_cast<std::size_t>(n));
}

/// A row of telemetry.samples (copy_columns, in order) in COPY's binary format: the same values the text format
/// gave (the times as pg_time_us computed them, the doubles bit for bit), without PostgreSQL parsing 2 timestamps
/// and up to 13 numbers per row from text (bench/commands-report.md: the text COPY took about twice the server
/// time of the binary one for the same rows).
void put_copy_row(std::string& out, const telemetry_row& r, std::int64_t time_us, std::int64_t received_us) {
  namespace pc = runtime::pg_copy;
  const auto& t = r.t;
  pc::put_row(out, 19);
  pc::put_text(out, r.drone_id);
  pc::put_timestamptz(out, time_us);
  pc::put_int8(out, static_cast<std::int64_t>(t.seq)); // <= 2^63 - 1: drone_frame.cpp checks it
  pc::put_timestamptz(out, received_us);
  for (double v : {t.lat, t.lon, t.alt, t.heading, t.speed, t.vspeed, t.battery})
    pc::put_float8(out, v);
  pc::put_bool(out, t.armed);
  pc::put_text(out, t.mode);
  auto optional_float8 = [&out](bool present, double v) {
    if (present)
      pc::put_float8(out, v);
    else
      pc::put_null(out);
  };
  optional_float8(t.present & telemetry::has_roll, t.roll);
  optional_float8(t.present & telemetry::has_pitch, t.pitch);
  optional_float8(t.present & telemetry::has_yaw, t.yaw);
  optional_float8(t.present & telemetry::has_voltage, t.voltage);
  if (t.present & telemetry::has_sats)
    pc::put_int4(out, t.sats);
  else
    pc::put_null(out);
  if (t.present & telemetry::has_fix)
    pc::put_int4(out, t.fix);
  else
    pc::put_null(out);
}

const std::vector<std::string> copy_columns{"drone_id", "time",    "seq",   "received", "lat",  "lon",
                                            "alt",      "heading", "speed", "vspeed",   "battery", "armed",
                                            "mode",     "roll",    "pitch", "yaw",      "voltage", "sats",
                                            "fix"};

const std::string copy_statement = [] {
  std::string q = "COPY telemetry.samples (";
  for (std::size_t i = 0; i < copy_columns.size(); ++i)
    q += (i ? "," : "") + copy_columns[i];
  return q + ") FROM STDIN (FORMAT binary)";
}();

/// Creates the partitions of yesterday, today and telemetry.partitions_ahead days ahead that do not exist yet
/// (each in its own transaction, under the maintenance lock); returns how many it created. The maintenance
/// actor runs it on its schedule, and the writer on each new connection before its first row: a fresh database
/// then never routes the day's rows into the default partition, to be moved out of it while readers count them
/// (a query planned just before the partition is attached and run just after sees neither copy).
int create_partitions(pqxx::connection& conn, const telemetry_settings& s);

constexpr const char* maintenance_lock_shared =
  "SELECT pg_advisory_xact_lock_shared(hashtext('dccs-telemetry-maintenance'))";

constexpr const char* staging_ddl =
  "CREATE TEMP TABLE samples_in (drone_id text, seq int8, time timestamptz, received timestamptz, mode text, nums text)"
  " ON COMMIT DELETE ROWS";

// Marks (drone, UTC hour) pairs for the analytics job to count again: $1 drone ids, $2 hour starts (µs since the
// epoch), pairwise.
constexpr const char* rollup_mark =
  "INSERT INTO telemetry.rollup_dirty (drone_id, hour) SELECT d, to_timestamp(h / 1000000.0)"
  " FROM unnest($1::text[], $2::int8[]) AS m(d, h) ON CONFLICT DO NOTHING";

constexpr std::int64_t us_per_hour = 3600LL * 1000000;

// Where the analytics job's pass under way counts to (µs since the epoch; NULL: none yet). Read under the writers'
// shared lock, which the job's claim takes exclusively: it does not move before this transaction commits.
constexpr const char* claimed_select =
  "SELECT (extract(epoch FROM claimed) * 1000000)::int8 FROM telemetry.rollup_state WHERE id = 1";

// The rows stored (not those already there) whose time the analytics job has already counted mark their (drone,
// UTC hour) for it to count again (actors/analytics.hpp): in this transaction, so that no such row goes unmarked.
// Answers the number of rows stored.
constexpr const char* staging_insert =
  "WITH stored AS (INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed,"
  " battery, armed, mode, roll, pitch, yaw, voltage, sats, fix)"
  " SELECT drone_id, time, seq, received, a[1], a[2], a[3], a[4],"
  " a[5], a[6], a[7], a[8] <> 0, mode, a[9], a[10], a[11], a[12], a[13]::int4, a[14]::int4"
  // OFFSET 0 keeps the subquery a subquery: merged into the outer query, PostgreSQL would split and convert
  // the list once per a[i] (measured 3.5-5 times slower; bench/persist-report.md).
  " FROM (SELECT drone_id, seq, time, received, mode, string_to_array(nums, ',', 'N')::float8[] AS a FROM samples_in"
  " OFFSET 0) s"
  " ON CONFLICT DO NOTHING RETURNING drone_id, time),"
  " late AS (INSERT INTO telemetry.rollup_dirty (drone_id, hour)"
  " SELECT DISTINCT drone_id, to_timestamp(floor(extract(epoch FROM time) / 3600) * 3600) FROM stored"
  " WHERE time <= (SELECT claimed FROM telemetry.rollup_state WHERE id = 1) ON CONFLICT DO NOTHING)"
  " SELECT count(*) FROM stored";

struct writer_state {
  explicit writer_state(telemetry_settings s, runtime::dependency_health* health)
    : settings(std::move(s)), link(settings.db, health) {}
  telemetry_settings settings;
  runtime::pg_link link;
  std::uint64_t prepared_generation = 0;
  std::vector<telemetry_row> batch; ///< taken from the buffer, not yet committed
  std::string scratch; ///< reused for each transaction's COPY data (binary, or the staging path's numbers)
  // The batch in hand is written as ranges of it, each one transaction: the whole batch first; a range the
  // database refuses for its content is split in two until the rows it refuses stand alone. `todo` is a stack
  // (front half on top, so that each connection's rows commit in arrival order); it survives an outage.
  std::vector<std::pair<std::size_t, std::size_t>> todo;
  std::vector<bool> refused;          ///< per row of the batch: the database refused it (dropped)
  std::string refused_error;          ///< the first refusal's message, for the log
  std::size_t inserted = 0;           ///< rows of the batch committed so far (not counting duplicates)
  std::size_t written = 0;            ///< rows of the batch written so far (committed or already stored)
  runtime::counter* partitions_created = nullptr;
  runtime::counter* copied = nullptr; ///< transactions that wrote their rows with one COPY straight into the table
  runtime::counter* staged = nullptr; ///< transactions that wrote them through the staging table
  std::vector<std::int64_t> times;    ///< per row of the range being written: its time and received (µs)
  int refusals = 0; ///< consecutive failures of the range on top of `todo` that were not about its content
};

/// Writes rows [b, e) of the batch in one transaction; returns the rows inserted (duplicates are not).
///
/// Two ways. Straight into the table with one COPY (inside a savepoint): the common case, a batch of new rows; the
/// hours of rows the analytics job has counted already (late rows) are marked for it in the same transaction.
/// Through the staging table, whose INSERT ... ON CONFLICT DO NOTHING skips rows already stored (a drone resending
/// what was not acknowledged yet) and marks the late rows it stores: when the COPY fails (a row already stored, or
/// one the database refuses: the staging INSERT then says which, and the caller splits the batch). The straight COPY costs
/// PostgreSQL a fraction of the staging path's CPU per row (bench/persist-report.md).
std::size_t write_rows(writer_state& st, std::size_t b, std::size_t e) {
  return st.link.run([&](pqxx::connection& conn) -> std::size_t {
    if (st.prepared_generation != st.link.generation()) {
      auto created = create_partitions(conn, st.settings);
      if (created > 0 && st.partitions_created)
        st.partitions_created->inc(static_cast<std::uint64_t>(created));
      pqxx::nontransaction ddl{conn};
      ddl.exec0(staging_ddl);
      conn.prepare("dccs_samples_insert", staging_insert);
      conn.prepare("dccs_samples_claimed", claimed_select);
      conn.prepare("dccs_rollup_mark", rollup_mark);
      st.prepared_generation = st.link.generation();
    }
    st.times.resize(2 * (e - b));
    std::int64_t oldest = INT64_MAX;
    for (auto i = b; i < e; ++i) {
      auto& r = st.batch[i];
      st.times[2 * (i - b)] = pg_time_us(r.t.ts);
      st.times[2 * (i - b) + 1] = pg_time_us(r.received);
      oldest = std::min(oldest, st.times[2 * (i - b)]);
    }
    pqxx::work tx{conn};
    // Shared with other writers, exclusive with partition maintenance: a partition attached next to the
    // default partition while this INSERT routes rows would fail it with a partition constraint error.
    tx.exec(maintenance_lock_shared);
    auto claimed = tx.exec_prepared("dccs_samples_claimed");
    bool late = !claimed.empty() && !claimed[0][0].is_null() && oldest <= claimed[0][0].as<std::int64_t>();
    {
      try {
        pqxx::subtransaction direct{tx, "copy"};
        {
          auto& data = st.scratch;
          data.clear();
          runtime::pg_copy::put_header(data);
          for (auto i = b; i < e; ++i)
            put_copy_row(data, st.batch[i], st.times[2 * (i - b)], st.times[2 * (i - b) + 1]);
          runtime::pg_copy::put_trailer(data);
          runtime::pg_copy::send(direct, copy_statement, data);
        }
        if (late) {
          // Rows the analytics job has counted already (at or before its pass's `claimed` mark): their (drone, UTC
          // hour) marked for it to count again, in this transaction, as the staging INSERT does.
          auto claimed_us = claimed[0][0].as<std::int64_t>();
          std::set<std::pair<std::string, std::int64_t>> hours;
          for (auto i = b; i < e; ++i) {
            auto t = st.times[2 * (i - b)];
            if (t <= claimed_us)
              hours.emplace(st.batch[i].drone_id, t / us_per_hour * us_per_hour);
          }
          std::vector<std::string> drones;
          std::vector<std::int64_t> starts;
          for (const auto& [drone, hour] : hours) {
            drones.push_back(drone);
            starts.push_back(hour);
          }
          direct.exec_prepared("dccs_rollup_mark", runtime::pg_text_array(drones), runtime::pg_number_array(starts));
        }
        direct.commit();
        tx.commit();
        if (st.copied)
          st.copied->inc();
        return e - b;
      } catch (const pqxx::sql_error&) {
        // Rolled back to the savepoint: the staging path below, in the same transaction.
      }
    }
    {
      pqxx::stream_to copy{tx, "samples_in"};
      std::string seq, time, received;
      for (auto i = b; i < e; ++i) {
        auto& r = st.batch[i];
        auto& nums = st.scratch;
        nums.clear();
        append_numbers(nums, r);
        seq.clear();
        append_integer(seq, r.t.seq);
        time.clear();
        append_timestamp(time, st.times[2 * (i - b)]);
        received.clear();
        append_timestamp(received, st.times[2 * (i - b) + 1]);
        copy << std::tie(r.drone_id, seq, time, received, r.t.mode, nums);
      }
      copy.complete();
    }
    auto r = tx.exec_prepared1("dccs_samples_insert");
    tx.commit();
    if (st.staged)
      st.staged->inc();
    return static_cast<std::size_t>(r[0].as<std::int64_t>());
  });
}

} // namespace

writer_actor::behavior_type telemetry_writer(writer_actor::pointer self, telemetry_buffer_ptr buffer,
                                             telemetry_settings s, telemetry_metrics metrics,
                                             runtime::dependency_health* health) {
  auto st = std::make_shared<writer_state>(std::move(s), health);
  st->partitions_created = metrics.partitions_created;
  st->copied = metrics.copied;
  st->staged = metrics.staged;
  st->batch.reserve(st->settings.batch_rows);
  // Writes st->batch: every row the database accepts is committed, every row it refuses for its content is
  // dropped (counted with reason "refused", and its connection told, when it asked for acks). Returns false
  // (the rest of the batch kept, for the next attempt) when the database is unavailable.
  auto write_batch = [st, metrics]() -> bool {
    if (st->batch.empty())
      return true;
    if (st->todo.empty() && st->written == 0) {
      st->todo.emplace_back(0, st->batch.size());
      st->refused.assign(st->batch.size(), false);
    }
    while (!st->todo.empty()) {
      auto [b, e] = st->todo.back();
      try {
        st->inserted += write_rows(*st, b, e);
        st->written += e - b;
        st->todo.pop_back();
        st->refusals = 0;
        if (metrics.batches)
          metrics.batches->inc();
      } catch (const runtime::db_error& x) {
        if (metrics.failures)
          metrics.failures->inc();
        if (x.code() == runtime::db_errc::unavailable)
          return false;
        // Refused. A value the database refuses (db_errc::invalid: a data exception, a check) is the rows'
        // fault: split at once. Anything else may pass: retried as it is up to three times, then split too, so
        // that nothing blocks every later row behind it.
        if (x.code() != runtime::db_errc::invalid && ++st->refusals < 3)
          return false;
        st->refusals = 0;
        st->todo.pop_back();
        if (e - b == 1) {
          st->refused[b] = true;
          if (st->refused_error.empty())
            st->refused_error = x.what();
        } else {
          auto mid = b + (e - b) / 2;
          st->todo.emplace_back(mid, e);
          st->todo.emplace_back(b, mid);
        }
      }
    }
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
    std::size_t refused = 0;
    // Per connection that asked for acks, in arrival order: the newest committed seq, and the seqs refused
    // (told before the ack, so that no ack ever covers a refused frame unannounced).
    struct outcome {
      std::shared_ptr<ack_sink> sink;
      std::uint64_t committed = 0;
      bool any_committed = false;
      std::vector<std::uint64_t> refused;
    };
    std::unordered_map<ack_sink*, outcome> acks;
    const telemetry_row* first_refused = nullptr;
    for (std::size_t i = 0; i < st->batch.size(); ++i) {
      auto& r = st->batch[i];
      if (st->refused[i]) {
        ++refused;
        if (!first_refused)
          first_refused = &r;
      } else if (metrics.latency) {
        metrics.latency->observe(static_cast<double>(now_us - r.received_us) / 1000.0);
      }
      if (auto sink = r.ack.lock()) {
        auto& a = acks[sink.get()];
        a.sink = std::move(sink);
        if (st->refused[i]) {
          a.refused.push_back(r.t.seq);
        } else {
          a.committed = r.t.seq;
          a.any_committed = true;
        }
      }
    }
    if (metrics.committed)
      metrics.committed->inc(st->inserted);
    if (metrics.duplicates)
      metrics.duplicates->inc(st->written - st->inserted);
    if (refused > 0) {
      if (metrics.dropped_refused)
        metrics.dropped_refused->inc(refused);
      // One line per batch, however many rows were refused.
      runtime::log::error("telemetry", "telemetry rows refused by the database, dropped; the rest of the batch is stored",
                          {{"rows", refused}, {"batch", st->batch.size()}, {"drone_id", first_refused->drone_id},
                           {"seq", first_refused->t.seq}, {"error", st->refused_error}});
    }
    for (auto& [ptr, a] : acks) {
      for (auto seq : a.refused)
        a.sink->refused(seq);
      if (a.any_committed)
        a.sink->committed(a.committed);
    }
    st->batch.clear();
    st->refused.clear();
    st->refused_error.clear();
    st->inserted = 0;
    st->written = 0;
    return true;
  };
  // Writes until the buffer is empty or the database is unavailable. True when everything is written.
  // Writes what the buffer holds, in batches of at most batch_rows, and returns false when the database is
  // unavailable (the batch in hand is kept for the next attempt). `mode` says how much:
  //   all:   until the buffer is empty (shutdown);
  //   tick:  the rows that were there when the tick came, the last batch possibly partial; rows arriving
  //          meanwhile wait for the next tick (or a full batch), so that commits carry real batches;
  //   full:  full batches only (the buffer asked: a batch is ready).
  enum class drain_mode { all, tick, full };
  auto drain = [st, buffer, write_batch](drain_mode mode) -> bool {
    auto budget = mode == drain_mode::tick ? buffer->rows() + st->batch.size() : 0;
    for (;;) {
      if (st->batch.empty()) {
        auto waiting = buffer->rows();
        if (waiting == 0 || (mode == drain_mode::full && waiting < st->settings.batch_rows)
            || (mode == drain_mode::tick && budget == 0))
          return true;
        buffer->take(st->batch, mode == drain_mode::tick ? std::min(budget, st->settings.batch_rows)
                                                         : st->settings.batch_rows);
        buffer->set_writing(st->batch.size());
      }
      auto n = st->batch.size();
      if (!write_batch())
        return false;
      buffer->set_writing(0);
      budget -= std::min(budget, n);
    }
  };
  buffer->on_batch([self] { caf::anon_send(caf::actor_cast<caf::actor>(self), check_atom::value); });
  self->attach_functor([buffer](const caf::error&) { buffer->on_batch(nullptr); });
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      if (st->batch.empty() && buffer->rows() == 0)
        st->link.probe(); // nothing to write: keep /readyz true about PostgreSQL while idle
      drain(drain_mode::tick);
      self->delayed_send(self, std::chrono::milliseconds(st->settings.flush_ms), tick_atom::value);
    },
    [=](check_atom) { drain(drain_mode::full); },
    [=](flush_atom) -> bool { return drain(drain_mode::all); },
  };
}

// -- partition maintenance ------------------------------------------------------------------------------

std::string partition_name(std::int64_t day) {
  std::time_t t = static_cast<std::time_t>(day) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "samples_%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

namespace {

std::string day_literal(std::int64_t day) {
  std::time_t t = static_cast<std::time_t>(day) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "'%04d-%02d-%02d 00:00:00+00'", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

constexpr const char* maintenance_lock = "SELECT pg_advisory_xact_lock(hashtext('dccs-telemetry-maintenance'))";

int create_partitions(pqxx::connection& conn, const telemetry_settings& s) {
  int created = 0;
  auto today = static_cast<std::int64_t>(runtime::wall_ms() / 86400000.0);
  for (auto day = today - 1; day <= today + s.partitions_ahead; ++day) {
    auto name = partition_name(day);
    pqxx::work tx{conn};
    tx.exec(maintenance_lock);
    auto exists = tx.exec("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                          " WHERE n.nspname = 'telemetry' AND c.relname = " + tx.quote(name));
    if (!exists.empty())
      continue;
    auto from = day_literal(day);
    auto to = day_literal(day + 1);
    auto range = " WHERE time >= " + from + " AND time < " + to;
    // A plain table first, filled with the day's rows from the default partition, then attached: creating
    // the partition directly would fail while the default partition holds rows of that day.
    tx.exec0("CREATE TABLE telemetry." + name + " (LIKE telemetry.samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
    tx.exec0("INSERT INTO telemetry." + name + " SELECT * FROM telemetry.samples_default" + range);
    tx.exec0("DELETE FROM telemetry.samples_default" + range);
    tx.exec0("ALTER TABLE telemetry." + name + " ADD CONSTRAINT " + name + "_range CHECK (time >= " + from
             + " AND time < " + to + ")");
    tx.exec0("ALTER TABLE telemetry.samples ATTACH PARTITION telemetry." + name + " FOR VALUES FROM (" + from
             + ") TO (" + to + ")");
    tx.exec0("ALTER TABLE telemetry." + name + " DROP CONSTRAINT " + name + "_range");
    tx.commit();
    ++created;
  }
  return created;
}

/// One maintenance pass. Returns (created, dropped).
std::pair<int, int> maintain(pqxx::connection& conn, const telemetry_settings& s) {
  int created = create_partitions(conn, s);
  int dropped = 0;
  auto today = static_cast<std::int64_t>(runtime::wall_ms() / 86400000.0);
  {
    auto cutoff_day = today - s.retention_days;
    pqxx::work tx{conn};
    tx.exec(maintenance_lock);
    auto parts = tx.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                         " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
                         " WHERE n.nspname = 'telemetry' AND p.relname = 'samples'");
    auto cutoff_name = partition_name(cutoff_day);
    for (const auto& row : parts) {
      auto name = row[0].as<std::string>();
      // samples_YYYYMMDD names sort like their days; the partition of day d ends at d+1.
      if (name.size() == 16 && name != "samples_default" && name < cutoff_name) {
        tx.exec0("DROP TABLE telemetry." + name);
        ++dropped;
      }
    }
    tx.exec0("DELETE FROM telemetry.samples_default WHERE time < " + day_literal(cutoff_day));
    // Hours marked for the analytics job whose samples are past retention: nothing is left to count again (and
    // with no analytics node running, marks would only pile up).
    tx.exec0("DELETE FROM telemetry.rollup_dirty WHERE hour < " + day_literal(cutoff_day));
    tx.commit();
  }
  return {created, dropped};
}

} // namespace

maintenance_actor::behavior_type telemetry_maintenance(maintenance_actor::pointer self, telemetry_settings s,
                                                       telemetry_metrics metrics) {
  auto link = std::make_shared<runtime::pg_link>(s.db);
  auto settings = std::make_shared<telemetry_settings>(std::move(s));
  auto pass = [link, settings, metrics]() -> bool {
    try {
      auto [created, dropped] = link->run([&](pqxx::connection& conn) { return maintain(conn, *settings); });
      if (metrics.partitions_created)
        metrics.partitions_created->inc(static_cast<std::uint64_t>(created));
      if (metrics.partitions_dropped)
        metrics.partitions_dropped->inc(static_cast<std::uint64_t>(dropped));
      if (created > 0 || dropped > 0)
        runtime::log::info("telemetry", "partitions maintained", {{"created", created}, {"dropped", dropped}});
      return true;
    } catch (const runtime::db_error& e) {
      runtime::log::warn("telemetry", "partition maintenance failed, will retry", {{"error", e.what()}});
      return false;
    }
  };
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      // Until a pass succeeds, retry soon; then keep the configured interval.
      bool ok = pass();
      auto wait = ok ? std::chrono::milliseconds(settings->maintenance_s * 1000)
                     : std::chrono::milliseconds(std::max<std::int64_t>(1000, link->retry_in_ms()));
      self->delayed_send(self, wait, tick_atom::value);
    },
    [=](flush_atom) -> bool { return pass(); },
  };
}

} // namespace dccs::actors
