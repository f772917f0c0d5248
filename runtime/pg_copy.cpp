#include "runtime/pg_copy.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include <libpq-fe.h>
#include <poll.h>

namespace dccs::runtime::pg_copy {

namespace {

template <class U>
void put_be(std::string& out, U v) {
  char b[sizeof(U)];
  for (std::size_t i = 0; i < sizeof(U); ++i)
    b[i] = static_cast<char>((v >> (8 * (sizeof(U) - 1 - i))) & 0xff);
  out.append(b, sizeof(U));
}

template <class U>
U get_be(const char* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i)
    v = static_cast<U>((v << 8) | static_cast<unsigned char>(p[i]));
  return v;
}

constexpr char signature[] = "PGCOPY\n\377\r\n"; // and a zero byte: 11 in all
constexpr std::size_t signature_size = 11;

/// libpq's connection under a libpqxx transaction: libpqxx 6.4 hands it to its large objects and their subclasses
/// only (a protected static member), and has no binary COPY of its own.
struct raw_pq : pqxx::largeobject {
  static PGconn* of(const pqxx::dbtransaction& tx) { return largeobject::raw_connection(tx); }
};

/// Waits until libpq's socket can be written (a connection in non-blocking mode whose buffer is full).
void wait_writable(PGconn* pg) {
  pollfd p{PQsocket(pg), POLLOUT, 0};
  ::poll(&p, 1, 1000);
}

/// The results that end a COPY: the first error's message and SQLSTATE, if any.
void collect_results(PGconn* pg, std::string& error, std::string& sqlstate) {
  while (PGresult* res = PQgetResult(pg)) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK && error.empty()) {
      error = PQresultErrorMessage(res);
      if (const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE))
        sqlstate = state;
      if (error.empty())
        error = "COPY failed";
    }
    PQclear(res);
  }
}

[[noreturn]] void throw_failure(PGconn* pg, const std::string& error, const std::string& sqlstate,
                                const std::string& statement) {
  if (PQstatus(pg) != CONNECTION_OK)
    throw pqxx::broken_connection{error};
  throw pqxx::sql_error{error, statement, sqlstate.empty() ? nullptr : sqlstate.c_str()};
}

void expect_size(const field& f, std::int32_t size, const char* type) {
  if (f.size != size)
    throw pqxx::conversion_error{std::string{"COPY field is not a "} + type
                                 + (f.null() ? " (NULL)" : " (" + std::to_string(f.size) + " bytes)")};
}

/// Splits a binary COPY stream into rows, across the server's messages (a row is one message, but the header comes
/// with the first row, and nothing here relies on that).
class stream_reader {
public:
  explicit stream_reader(const std::function<void(const field*, std::size_t)>& row) : row_(row) {}

  void feed(const char* data, std::size_t size) {
    if (pending_.empty()) {
      auto used = parse(data, size);
      pending_.assign(data + used, size - used);
      return;
    }
    pending_.append(data, size);
    auto used = parse(pending_.data(), pending_.size());
    pending_.erase(0, used);
  }

  bool ended() const { return ended_; }
  bool leftover() const { return !pending_.empty(); }

private:
  /// Reads the whole rows at the front of [p, p + n): the bytes used.
  std::size_t parse(const char* p, std::size_t n) {
    std::size_t at = 0;
    if (!header_) {
      if (n < signature_size + 8)
        return 0;
      if (std::memcmp(p, signature, signature_size) != 0)
        throw pqxx::conversion_error{"not a binary COPY stream (no PGCOPY signature)"};
      auto extension = get_be<std::uint32_t>(p + signature_size + 4);
      if (n - (signature_size + 8) < extension)
        return 0;
      at = signature_size + 8 + extension;
      header_ = true;
    }
    while (!ended_ && n - at >= 2) {
      auto count = static_cast<std::int16_t>(get_be<std::uint16_t>(p + at));
      if (count == -1) {
        ended_ = true;
        at += 2;
        break;
      }
      if (count < 0)
        throw pqxx::conversion_error{"binary COPY stream: bad field count"};
      fields_.resize(static_cast<std::size_t>(count));
      auto q = at + 2;
      bool whole = true;
      for (auto& f : fields_) {
        if (n - q < 4) {
          whole = false;
          break;
        }
        auto size = static_cast<std::int32_t>(get_be<std::uint32_t>(p + q));
        q += 4;
        if (size < -1)
          throw pqxx::conversion_error{"binary COPY stream: bad field length"};
        if (size >= 0 && n - q < static_cast<std::size_t>(size)) {
          whole = false;
          break;
        }
        f.data = size >= 0 ? p + q : nullptr;
        f.size = size;
        if (size > 0)
          q += static_cast<std::size_t>(size);
      }
      if (!whole)
        break;
      row_(fields_.data(), fields_.size());
      at = q;
    }
    return at;
  }

  const std::function<void(const field*, std::size_t)>& row_;
  std::string pending_;
  std::vector<field> fields_;
  bool header_ = false;
  bool ended_ = false;
};

} // namespace

void put_header(std::string& out) {
  out.append(signature, signature_size);
  put_be<std::uint32_t>(out, 0); // flags: no OIDs
  put_be<std::uint32_t>(out, 0); // no header extension
}

void put_trailer(std::string& out) {
  put_be<std::uint16_t>(out, 0xffff); // field count -1
}

void put_row(std::string& out, std::uint16_t fields) {
  put_be<std::uint16_t>(out, fields);
}

void put_null(std::string& out) {
  put_be<std::uint32_t>(out, 0xffffffffu); // length -1
}

void put_text(std::string& out, std::string_view v) {
  put_be<std::uint32_t>(out, static_cast<std::uint32_t>(v.size()));
  out.append(v.data(), v.size());
}

void put_int8(std::string& out, std::int64_t v) {
  put_be<std::uint32_t>(out, 8);
  put_be<std::uint64_t>(out, static_cast<std::uint64_t>(v));
}

void put_int4(std::string& out, std::int32_t v) {
  put_be<std::uint32_t>(out, 4);
  put_be<std::uint32_t>(out, static_cast<std::uint32_t>(v));
}

void put_float8(std::string& out, double v) {
  std::uint64_t bits;
  static_assert(sizeof bits == sizeof v);
  std::memcpy(&bits, &v, sizeof bits);
  put_be<std::uint32_t>(out, 8);
  put_be<std::uint64_t>(out, bits);
}

void put_bool(std::string& out, bool v) {
  put_be<std::uint32_t>(out, 1);
  out += v ? '\1' : '\0';
}

void put_timestamptz(std::string& out, std::int64_t us_since_1970) {
  put_int8(out, us_since_1970 - pg_epoch_us);
}

void send(pqxx::dbtransaction& tx, const std::string& statement, const std::string& data) {
  tx.exec0(statement); // the connection is now in COPY IN, as libpqxx's tablewriter leaves it
  PGconn* pg = raw_pq::of(tx);
  const char* failure = nullptr;
  for (std::size_t at = 0; at < data.size() && failure == nullptr;) {
    auto n = std::min<std::size_t>(data.size() - at, 1 << 20);
    int rc = PQputCopyData(pg, data.data() + at, static_cast<int>(n));
    if (rc == 1)
      at += n;
    else if (rc == 0)
      wait_writable(pg);
    else
      failure = "the COPY data could not be sent";
  }
  int rc;
  while ((rc = PQputCopyEnd(pg, failure)) == 0)
    wait_writable(pg);
  while (PQisnonblocking(pg) && PQflush(pg) == 1)
    wait_writable(pg);
  std::string error, sqlstate;
  collect_results(pg, error, sqlstate);
  if (rc < 0 && error.empty())
    error = PQerrorMessage(pg);
  if (!error.empty())
    throw_failure(pg, error, sqlstate, statement);
}

void receive(pqxx::dbtransaction& tx, const std::string& statement,
             const std::function<void(const field*, std::size_t)>& row) {
  tx.exec0(statement); // the connection is now in COPY OUT
  PGconn* pg = raw_pq::of(tx);
  stream_reader reader{row};
  std::exception_ptr stopped; // from a row or the stream's format: the rest is drained, then it is rethrown
  std::string error, sqlstate;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(pg, &buf, 0);
    if (n == -1)
      break; // the server sent everything
    if (n < 0) {
      error = PQerrorMessage(pg);
      break;
    }
    if (!stopped) {
      try {
        reader.feed(buf, static_cast<std::size_t>(n));
      } catch (...) {
        stopped = std::current_exception();
      }
    }
    PQfreemem(buf);
  }
  collect_results(pg, error, sqlstate);
  if (stopped)
    std::rethrow_exception(stopped);
  if (!error.empty())
    throw_failure(pg, error, sqlstate, statement);
  if (!reader.ended() || reader.leftover())
    throw pqxx::conversion_error{"binary COPY stream ended without its trailer"};
}

std::string_view field::text() const {
  if (null())
    throw pqxx::conversion_error{"COPY field is NULL, not a text"};
  return {data, static_cast<std::size_t>(size)};
}

std::int64_t field::int8() const {
  expect_size(*this, 8, "int8");
  return static_cast<std::int64_t>(get_be<std::uint64_t>(data));
}

std::int32_t field::int4() const {
  expect_size(*this, 4, "int4");
  return static_cast<std::int32_t>(get_be<std::uint32_t>(data));
}

double field::float8() const {
  expect_size(*this, 8, "float8");
  auto bits = get_be<std::uint64_t>(data);
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

bool field::boolean() const {
  expect_size(*this, 1, "bool");
  return *data != 0;
}

std::int64_t field::timestamptz_us() const {
  expect_size(*this, 8, "timestamptz");
  return static_cast<std::int64_t>(get_be<std::uint64_t>(data)) + pg_epoch_us;
}

} // namespace dccs::runtime::pg_copy
