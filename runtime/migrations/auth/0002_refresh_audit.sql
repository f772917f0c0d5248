-- Refresh tokens (auth/refresh.hpp) and the audit log (auth/audit.hpp).

-- Opaque refresh tokens, stored only as the SHA-256 of the token text: single use, rotated within a family that
-- shares one absolute expiry (the first token's issue time + the lifetime). A token presented twice revokes its
-- whole family (reuse detection).
CREATE TABLE auth.refresh_tokens (
  hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
  family     uuid NOT NULL,
  user_id    bigint NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON auth.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON auth.refresh_tokens (expires_at);

-- Who did what, from where, with which outcome. `detail` never holds a password, a password hash or a token
-- (access or refresh): the writer (auth/audit.cpp) is the only code that inserts here.
CREATE TABLE auth.audit (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text NOT NULL CHECK (length(actor) BETWEEN 1 AND 256),
  action   text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]{0,63}$'),
  drone_id text CHECK (length(drone_id) BETWEEN 1 AND 256),
  address  text NOT NULL DEFAULT '' CHECK (length(address) <= 256),
  outcome  text NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
  detail   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX audit_at ON auth.audit (at);
CREATE INDEX audit_actor_at ON auth.audit (actor, at);
CREATE INDEX audit_drone_at ON auth.audit (drone_id, at) WHERE drone_id IS NOT NULL;
CREATE INDEX audit_action_at ON auth.audit (action, at);
