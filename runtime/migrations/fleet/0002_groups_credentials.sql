-- Drone groups (who may see and touch a drone: docs/security.md) and drone credentials.
ALTER TABLE fleet.drones
  ADD COLUMN group_name text NOT NULL DEFAULT 'default' CHECK (group_name ~ '^[A-Za-z0-9_.-]{1,64}$'),
  -- 'none': never issued (drones that registered themselves in development); 'active': secret_hash holds the
  -- SHA-256 of the drone's secret (256 random bits); 'revoked': refused until a new secret is issued.
  ADD COLUMN credential text NOT NULL DEFAULT 'none' CHECK (credential IN ('none', 'active', 'revoked')),
  ADD COLUMN secret_hash bytea CHECK (secret_hash IS NULL OR octet_length(secret_hash) = 32),
  ADD COLUMN credential_changed_at timestamptz,
  ADD CONSTRAINT drones_credential_hash CHECK ((credential = 'active') = (secret_hash IS NOT NULL));
CREATE INDEX drones_group ON fleet.drones (group_name);
