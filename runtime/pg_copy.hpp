#pragma once
/// COPY in PostgreSQL's binary format, both ways, on a libpqxx transaction's connection. libpqxx 6.4 copies text
/// only; the binary format spares both sides the formatting and parsing of every number and time (the telemetry
/// writer's COPY took half the server time of the text one; the analytics pass reads a minute of the fleet's samples
/// back: bench/commands-report.md, bench/analytics-report.md).
///
/// The format (PostgreSQL's documentation, "COPY", "Binary Format"): a header (signature, flags, extension), then per
/// row a 16-bit field count and per field a 32-bit length (-1: NULL) and the value in its type's binary form
/// (big-endian integers, IEEE 754 doubles, timestamptz as an int8 of microseconds since 2000-01-01 UTC, bool as one
/// byte, text as its bytes), then a trailer (field count -1).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

namespace dccs::runtime::pg_copy {

/// PostgreSQL's epoch (2000-01-01 UTC) in microseconds since 1970.
constexpr std::int64_t pg_epoch_us = 946684800000000LL;

// -- writing rows (COPY ... FROM STDIN (FORMAT binary)) ---------------------------------------------------------

void put_header(std::string& out);
void put_trailer(std::string& out);
/// Starts a row of `fields` fields; each field follows with one of the put_ calls below.
void put_row(std::string& out, std::uint16_t fields);
void put_null(std::string& out);
void put_text(std::string& out, std::string_view v);
void put_int8(std::string& out, std::int64_t v);
void put_int4(std::string& out, std::int32_t v);
void put_float8(std::string& out, double v);
void put_bool(std::string& out, bool v);
/// A timestamptz, given in microseconds since 1970-01-01 UTC.
void put_timestamptz(std::string& out, std::int64_t us_since_1970);

/// Runs `statement` (a COPY ... FROM STDIN (FORMAT binary)) in `tx` and sends `data` (header, rows, trailer) as its
/// input. Throws pqxx::sql_error with PostgreSQL's message and SQLSTATE when the server refuses it (a row already
/// stored, a constraint), pqxx::broken_connection when the connection is lost: as libpqxx's own COPY would.
void send(pqxx::dbtransaction& tx, const std::string& statement, const std::string& data);

// -- reading rows (COPY (SELECT ...) TO STDOUT (FORMAT binary)) --------------------------------------------------

/// One field of a row read: its bytes, valid during the row's callback only.
struct field {
  const char* data = nullptr;
  std::int32_t size = -1; ///< -1: NULL

  bool null() const { return size < 0; }
  /// The value as the type named; throws pqxx::conversion_error when the field is NULL or not of that size.
  std::string_view text() const;
  std::int64_t int8() const;
  std::int32_t int4() const;
  double float8() const;
  bool boolean() const;
  /// A timestamptz as microseconds since 1970-01-01 UTC.
  std::int64_t timestamptz_us() const;
};

/// Runs `statement` (a COPY (...) TO STDOUT (FORMAT binary)) in `tx` and calls `row(fields, count)` for every row,
/// as the server sends them (nothing is held but the row being read). Throws pqxx::sql_error when the server fails
/// the statement, pqxx::broken_connection when the connection is lost, pqxx::conversion_error when the stream is
/// not a binary COPY; an exception from `row` stops the reading (the rest of the stream is drained first, so that
/// the transaction can still be rolled back) and is rethrown.
void receive(pqxx::dbtransaction& tx, const std::string& statement,
             const std::function<void(const field* fields, std::size_t count)>& row);

} // namespace dccs::runtime::pg_copy
