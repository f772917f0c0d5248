#include "auth/refresh.hpp"

#include "auth/base64url.hpp"
#include "runtime/secret.hpp"

#include <optional>
#include <stdexcept>

#include <pqxx/pqxx>

namespace dccs::auth {

namespace {

constexpr std::size_t token_bytes = 32;      // 256 random bits
constexpr std::size_t token_chars = 43;      // their unpadded base64url
constexpr const char* epoch_us_expires = "(extract(epoch FROM t.expires_at) * 1000000)::int8";

std::chrono::system_clock::time_point from_us(std::int64_t us) {
  return std::chrono::system_clock::time_point{
    std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds{us})};
}

std::string new_token() {
  return runtime::random_token(token_bytes);
}

/// Serializes every change to one user's tokens (two int4 keys: a space apart from the bigint-keyed locks of
/// migrate and bootstrap_admin). Transaction-scoped: released at commit or rollback.
void lock_user(pqxx::transaction_base& tx, std::int64_t user_id) {
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('dccs-refresh'), ($1::int8 % 2147483647)::int4)", user_id);
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

/// Revokes every token of the family that is not revoked yet; returns how many of them were still usable.
std::int64_t revoke_family_locked(pqxx::transaction_base& tx, const std::string& family) {
  return tx
    .exec_params("WITH r AS (UPDATE auth.refresh_tokens SET revoked_at = now()"
                 " WHERE family = $1::uuid AND revoked_at IS NULL"
                 " RETURNING used_at IS NULL AND expires_at > now() AS live)"
                 " SELECT count(*) FILTER (WHERE live) FROM r",
                 family)[0][0]
    .as<std::int64_t>();
}

} // namespace

const char* to_string(refresh_status s) {
  switch (s) {
    case refresh_status::ok: return "ok";
    case refresh_status::unknown: return "unknown";
    case refresh_status::expired: return "expired";
    case refresh_status::revoked: return "revoked";
    case refresh_status::reused: return "reused";
    case refresh_status::disabled: return "disabled";
  }
  return "unknown";
}

std::string refresh_token_hash(std::string_view token) {
  return runtime::sha256(token);
}

refresh_token issue_refresh(pqxx::connection& conn, std::int64_t user_id, std::chrono::seconds lifetime) {
  if (lifetime.count() <= 0)
    throw std::invalid_argument("a refresh token lifetime must be positive");
  refresh_token out;
  out.token = new_token();
  pqxx::work tx{conn};
  lock_user(tx, user_id);
  auto res = tx.exec_params("INSERT INTO auth.refresh_tokens AS t (hash, family, user_id, expires_at)"
                            " VALUES (decode($1, 'hex'), gen_random_uuid(), $2, now() + $3::int8 * interval '1 second')"
                            " RETURNING t.family::text, "
                              + std::string{epoch_us_expires},
                            runtime::sha256_hex(out.token), user_id, static_cast<std::int64_t>(lifetime.count()));
  out.family = res[0][0].as<std::string>();
  out.expires_at = from_us(res[0][1].as<std::int64_t>());
  tx.commit();
  return out;
}

namespace {

/// The stored key of a presented token (hex SHA-256), or nothing for anything but 43 base64url characters of 32
/// bytes: that is not ours, and is refused before any query.
std::optional<std::string> token_key(std::string_view token) {
  if (token.size() != token_chars)
    return std::nullopt;
  auto raw = base64url_decode(token);
  if (!raw || raw->size() != token_bytes)
    return std::nullopt;
  return runtime::sha256_hex(token);
}

} // namespace

rotate_result rotate_refresh(pqxx::connection& conn, std::string_view token) {
  rotate_result out;
  auto key = token_key(token);
  if (!key)
    return out;
  const auto& h = *key;

  pqxx::work tx{conn};
  auto owner = tx.exec_params("SELECT user_id FROM auth.refresh_tokens WHERE hash = decode($1, 'hex')", h);
  if (owner.empty())
    return out;
  // The user's lock first, then the row: a concurrent rotation of the same token waits here, and then (READ
  // COMMITTED: every statement sees what committed before it) finds the token used.
  lock_user(tx, owner[0][0].as<std::int64_t>());
  auto res = tx.exec_params("SELECT t.user_id, u.name, t.family::text, t.expires_at <= now(), t.used_at IS NOT NULL,"
                            " t.revoked_at IS NOT NULL, u.enabled, "
                              + std::string{epoch_us_expires}
                              + " FROM auth.refresh_tokens t JOIN auth.users u ON u.id = t.user_id"
                                " WHERE t.hash = decode($1, 'hex') FOR UPDATE OF t",
                            h);
  if (res.empty()) // purged, or its user deleted, meanwhile
    return out;
  const auto& r = res[0];
  out.user_id = r[0].as<std::int64_t>();
  out.user_name = r[1].as<std::string>();
  out.family = r[2].as<std::string>();
  bool expired = r[3].as<bool>();
  bool used = r[4].as<bool>();
  bool revoked = r[5].as<bool>();
  bool enabled = r[6].as<bool>();
  auto expires_us = r[7].as<std::int64_t>();

  if (expired) {
    out.status = refresh_status::expired;
    return out;
  }
  if (used) {
    revoke_family_locked(tx, out.family);
    tx.commit();
    out.status = refresh_status::reused;
    return out;
  }
  if (revoked) {
    out.status = refresh_status::revoked;
    return out;
  }
  if (!enabled) {
    revoke_family_locked(tx, out.family);
    tx.commit();
    out.status = refresh_status::disabled;
    return out;
  }
  tx.exec_params("UPDATE auth.refresh_tokens SET used_at = now() WHERE hash = decode($1, 'hex')", h);
  auto next = new_token();
  tx.exec_params("INSERT INTO auth.refresh_tokens (hash, family, user_id, expires_at)"
                 " SELECT decode($1, 'hex'), family, user_id, expires_at FROM auth.refresh_tokens"
                 " WHERE hash = decode($2, 'hex')",
                 runtime::sha256_hex(next), h);
  tx.commit();
  out.status = refresh_status::ok;
  out.next.token = std::move(next);
  out.next.family = out.family;
  out.next.expires_at = from_us(expires_us);
  return out;
}

std::int64_t revoke_family(pqxx::connection& conn, const std::string& family) {
  if (!is_uuid(family))
    return 0;
  pqxx::work tx{conn};
  auto owners = tx.exec_params("SELECT DISTINCT user_id FROM auth.refresh_tokens WHERE family = $1::uuid"
                               " ORDER BY user_id",
                               family);
  if (owners.empty())
    return 0;
  for (const auto& o : owners) // one, always: a family belongs to one user
    lock_user(tx, o[0].as<std::int64_t>());
  auto n = revoke_family_locked(tx, family);
  tx.commit();
  return n;
}

std::int64_t revoke_user(pqxx::connection& conn, std::int64_t user_id) {
  pqxx::work tx{conn};
  auto n = revoke_user(tx, user_id);
  tx.commit();
  return n;
}

std::int64_t revoke_user(pqxx::transaction_base& tx, std::int64_t user_id) {
  lock_user(tx, user_id);
  return tx
    .exec_params("WITH r AS (UPDATE auth.refresh_tokens SET revoked_at = now()"
                 " WHERE user_id = $1 AND revoked_at IS NULL"
                 " RETURNING used_at IS NULL AND expires_at > now() AS live)"
                 " SELECT count(*) FILTER (WHERE live) FROM r",
                 user_id)[0][0]
    .as<std::int64_t>();
}

logout_result logout_refresh(pqxx::connection& conn, std::string_view token, const std::string& user_name) {
  logout_result out;
  auto key = token_key(token);
  if (!key)
    return out;
  const auto& h = *key;
  pqxx::work tx{conn};
  auto owner = tx.exec_params("SELECT t.user_id, t.family::text FROM auth.refresh_tokens t"
                              " JOIN auth.users u ON u.id = t.user_id WHERE t.hash = decode($1, 'hex') AND u.name = $2",
                              h, user_name);
  if (owner.empty())
    return out;
  lock_user(tx, owner[0][0].as<std::int64_t>());
  out.family = owner[0][1].as<std::string>();
  revoke_family_locked(tx, out.family);
  tx.commit();
  out.revoked = true;
  return out;
}

std::int64_t purge_refresh(pqxx::connection& conn, std::chrono::seconds grace) {
  pqxx::work tx{conn};
  auto res = tx.exec_params("DELETE FROM auth.refresh_tokens WHERE expires_at < now() - $1::int8 * interval '1 second'",
                            static_cast<std::int64_t>(grace.count()));
  tx.commit();
  return static_cast<std::int64_t>(res.affected_rows());
}

} // namespace dccs::auth
