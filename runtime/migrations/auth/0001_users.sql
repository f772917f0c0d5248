-- The auth role: users (name, argon2id password hash, role, the drone groups they may reach).
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
  id                  bigserial PRIMARY KEY,
  name                text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
  password_hash       text NOT NULL,
  role                text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  -- Group names as drone ids are spelled; one-dimensional (tested first: array_position refuses more), no NULL.
  groups              text[] NOT NULL DEFAULT '{}' CHECK (
                        CASE WHEN coalesce(array_ndims(groups), 1) <> 1 THEN false
                        ELSE array_position(groups, NULL) IS NULL
                             AND array_to_string(groups, ',') ~ '^([A-Za-z0-9_.-]{1,64}(,[A-Za-z0-9_.-]{1,64})*)?$'
                        END),
  enabled             boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now()
);
