#include "runtime/redis.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <memory>
#include <utility>

#include <pthread.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "runtime/log.hpp"
#include "runtime/text.hpp"

namespace dccs::runtime {

namespace {

// -- URL parsing --------------------------------------------------------------------------------------------

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i])
      return false;
  return true;
}

/// Decodes %XX sequences; false on a malformed one.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size())
      return false;
    int hi = hex_digit(in[i + 1]);
    int lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

/// A non-negative decimal number of at most `max`; false on anything else (empty, signs, spaces, overflow).
bool parse_number(std::string_view text, long max, long& out) {
  if (text.empty() || text.size() > 10)
    return false;
  long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  if (value > max)
    return false;
  out = value;
  return true;
}

// -- hiredis helpers ----------------------------------------------------------------------------------------

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

redis_reply copy_reply(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.kind = redis_reply::kind_t::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = redis_reply::kind_t::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = redis_reply::kind_t::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = redis_reply::kind_t::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = redis_reply::kind_t::array;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(copy_reply(*r.element[i]));
      break;
    default:
      out.kind = redis_reply::kind_t::nil;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  auto count = std::max<long long>(ms.count(), 1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(count / 1000);
  tv.tv_usec = static_cast<suseconds_t>((count % 1000) * 1000);
  return tv;
}

/// Appends one command, binary-safe; false when hiredis is out of memory.
bool append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) == REDIS_OK;
}

/// What went wrong on a context whose call just failed, with errno as the call left it.
std::string context_error(const redisContext* c, int err) {
  if (c->err == REDIS_ERR_IO && (err == EAGAIN || err == EWOULDBLOCK))
    return "timed out";
  if (c->err == REDIS_ERR_EOF)
    return "the server closed the connection";
  return c->errstr[0] ? std::string{c->errstr} : std::string{"unknown error"};
}

/// Blocks SIGPIPE on this thread while it lives, and discards a SIGPIPE raised meanwhile (the way libpq does
/// it): hiredis writes with write(2), and a write to a server that went away must fail, not end the process.
class sigpipe_guard {
public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~sigpipe_guard() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

} // namespace

bool parse_redis_url(std::string_view url, redis_endpoint& out, std::string& error) {
  // Never quote the URL in an error: it may hold the password.
  constexpr std::string_view scheme = "redis://";
  if (starts_with_nocase(url, "rediss://")) {
    error = "redis URL: TLS (rediss://) is not supported";
    return false;
  }
  if (!starts_with_nocase(url, scheme)) {
    error = "redis URL must start with redis://";
    return false;
  }
  std::string_view rest = url.substr(scheme.size());
  redis_endpoint ep;
  // Credentials end at the last '@' (host, port and db never hold one; a password may).
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      error = "redis URL: credentials must be written ':password@' or 'user:password@'";
      return false;
    }
    if (!percent_decode(userinfo.substr(0, colon), ep.user)) {
      error = "redis URL: bad percent-encoding in the user name";
      return false;
    }
    if (!percent_decode(userinfo.substr(colon + 1), ep.password)) {
      error = "redis URL: bad percent-encoding in the password";
      return false;
    }
    if (ep.password.empty()) {
      error = "redis URL: empty password after ':' (leave out the credentials for none)";
      return false;
    }
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    error = "redis URL: query parameters and fragments are not supported";
    return false;
  }
  // Host: a name, an IPv4 address or a bracketed IPv6 address.
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "redis URL: missing ']' after the IPv6 address";
      return false;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    auto end = rest.find_first_of(":/");
    host = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  if (host.empty()) {
    error = "redis URL: missing host";
    return false;
  }
  ep.host = std::string{host};
  if (!rest.empty() && rest.front() == ':') {
    auto end = rest.find('/');
    auto port_text = rest.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
    long port = 0;
    if (!parse_number(port_text, 65535, port) || port == 0) {
      error = "redis URL: bad port '" + std::string{port_text} + "' (expected 1-65535)";
      return false;
    }
    ep.port = static_cast<int>(port);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  if (!rest.empty() && rest.front() == '/') {
    auto db_text = rest.substr(1);
    long db = 0;
    if (!db_text.empty() && !parse_number(db_text, 1000000, db)) {
      error = "redis URL: bad database number '" + std::string{db_text} + "' (expected a number >= 0)";
      return false;
    }
    ep.db = static_cast<int>(db);
    rest = {};
  }
  if (!rest.empty()) {
    error = "redis URL: unexpected text after the host";
    return false;
  }
  out = std::move(ep);
  return true;
}

redis_client::redis_client(redis_endpoint ep, std::chrono::milliseconds io_timeout,
                           std::chrono::milliseconds retry_min, std::chrono::milliseconds retry_max)
  : ep_(std::move(ep)),
    io_timeout_(std::max(io_timeout, std::chrono::milliseconds{1})),
    retry_min_(std::max(retry_min, std::chrono::milliseconds{1})),
    retry_max_(std::max(retry_max, retry_min_)),
    backoff_(retry_min_),
    next_attempt_(clock::now()),
    rng_(std::random_device{}()) {
}

redis_client::~redis_client() {
  if (ctx_)
    redisFree(ctx_);
}

std::string redis_client::describe() const {
  std::string out = ep_.host.find(':') != std::string::npos ? "[" + ep_.host + "]" : ep_.host;
  out += ":" + std::to_string(ep_.port);
  if (ep_.db != 0)
    out += "/" + std::to_string(ep_.db);
  return out;
}

std::string redis_client::redact(std::string text) const {
  if (ep_.password.empty())
    return text;
  for (auto pos = text.find(ep_.password); pos != std::string::npos; pos = text.find(ep_.password, pos + 3))
    text.replace(pos, ep_.password.size(), "***");
  return text;
}

void redis_client::fail(std::string what) {
  bool was_connected = ctx_ != nullptr;
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  last_error_ = redact(std::move(what));
  // The next attempt waits the current backoff, jittered down by up to half so that many clients that lost
  // the same server do not come back in step; a lost connection starts again from retry_min.
  if (was_connected)
    backoff_ = retry_min_;
  std::uniform_int_distribution<long long> jitter{backoff_.count() / 2, backoff_.count()};
  auto delay = std::chrono::milliseconds{jitter(rng_)};
  next_attempt_ = clock::now() + delay;
  backoff_ = std::min(backoff_ * 2, retry_max_);
  log::warn("redis", was_connected ? "connection lost" : "connection attempt failed",
            {{"server", describe()}, {"error", last_error_}, {"retry_in_ms", delay.count()}});
}

bool redis_client::connect_once() {
  sigpipe_guard guard;
  auto started = clock::now();
  auto tv = to_timeval(io_timeout_);
  redisContext* c = redisConnectWithTimeout(ep_.host.c_str(), ep_.port, tv);
  if (!c) {
    fail("cannot connect to " + describe() + ": out of memory");
    return false;
  }
  if (c->err) {
    auto err = errno;
    auto what = "cannot connect to " + describe() + ": " + context_error(c, err);
    redisFree(c);
    fail(std::move(what));
    return false;
  }
  // The handshake gets what is left of io_timeout, so that one attempt never blocks much longer than that.
  auto left = io_timeout_ - std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  if (redisSetTimeout(c, to_timeval(left)) != REDIS_OK) {
    auto what = "cannot set the I/O timeout on " + describe() + ": " + context_error(c, errno);
    redisFree(c);
    fail(std::move(what));
    return false;
  }
  redisEnableKeepAlive(c);
  // AUTH, SELECT and a PING in one round trip; the PING catches a server that wants a password we lack.
  std::vector<std::pair<std::string, std::vector<std::string>>> hello;
  if (!ep_.password.empty()) {
    if (ep_.user.empty())
      hello.push_back({"authentication", {"AUTH", ep_.password}});
    else
      hello.push_back({"authentication", {"AUTH", ep_.user, ep_.password}});
  }
  if (ep_.db != 0)
    hello.push_back({"SELECT " + std::to_string(ep_.db), {"SELECT", std::to_string(ep_.db)}});
  hello.push_back({"PING", {"PING"}});
  std::string what;
  for (auto& h : hello)
    if (!append(c, h.second)) {
      what = "cannot send to " + describe() + ": out of memory";
      break;
    }
  for (size_t i = 0; what.empty() && i < hello.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) {
      what = "connection to " + describe() + " failed during " + hello[i].first + ": " + context_error(c, errno);
      break;
    }
    reply_ptr reply{static_cast<redisReply*>(raw)};
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string server{reply->str, reply->len};
      if (hello[i].first == "PING" && server.rfind("NOAUTH", 0) == 0)
        what = describe() + " requires a password and none is configured (" + server + ")";
      else
        what = hello[i].first + " on " + describe() + " failed: " + server;
    }
  }
  if (what.empty() && redisSetTimeout(c, tv) != REDIS_OK)
    what = "cannot set the I/O timeout on " + describe() + ": " + context_error(c, errno);
  if (!what.empty()) {
    redisFree(c);
    fail(std::move(what));
    return false;
  }
  ctx_ = c;
  backoff_ = retry_min_;
  last_error_.clear();
  log::info("redis", "connected", {{"server", describe()}});
  return true;
}

bool redis_client::ensure_connected() {
  if (ctx_)
    return true;
  if (clock::now() < next_attempt_)
    return false;
  return connect_once();
}

std::vector<redis_reply> redis_client::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (auto& cmd : commands)
    if (cmd.empty())
      throw std::invalid_argument("redis command without arguments");
  if (!ctx_)
    throw redis_error("not connected to redis " + describe() + (last_error_.empty() ? "" : ": " + last_error_));
  std::vector<redis_reply> out;
  if (commands.empty())
    return out;
  out.reserve(commands.size());
  sigpipe_guard guard;
  for (auto& cmd : commands)
    if (!append(ctx_, cmd)) {
      fail("cannot send to " + describe() + ": out of memory");
      throw redis_error(last_error_);
    }
  // The first redisGetReply writes the whole buffer, then each reads one reply.
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
      auto err = errno;
      fail("connection to " + describe() + " failed: " + context_error(ctx_, err));
      throw redis_error(last_error_);
    }
    reply_ptr reply{static_cast<redisReply*>(raw)};
    out.push_back(copy_reply(*reply));
  }
  return out;
}

redis_reply redis_client::command(const std::vector<std::string>& args) {
  auto replies = pipeline({args});
  return std::move(replies.front());
}

} // namespace dccs::runtime
