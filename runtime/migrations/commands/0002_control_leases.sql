-- Control leases: while a lease is held, only its holder commands the drone (docs/protocol.md "Control").
-- One row per drone ever leased; a lease past expires_at is free.
CREATE TABLE commands.control_leases (
  drone_id    text PRIMARY KEY,
  drone_group text NOT NULL,
  holder      text NOT NULL,
  taken_at    timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
