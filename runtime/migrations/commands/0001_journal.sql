-- The commands role: the command journal. Every command an operator (or the node itself) issues to a drone is a
-- row here, committed before the request is answered; every change of its state is a row of `transitions`.
-- The journal is the truth: the drone's owner executes what it says, and a node that restarts or takes over a
-- drone resolves every command that is not final from it.
CREATE SCHEMA IF NOT EXISTS commands;

CREATE TABLE commands.commands (
  id              uuid PRIMARY KEY,
  drone_id        text NOT NULL,
  drone_group     text NOT NULL,            -- the drone's group when it was issued: who may see and cancel it
  kind            text NOT NULL,
  params          jsonb NOT NULL DEFAULT '{}',
  state           text NOT NULL,
  attempt         integer NOT NULL DEFAULT 0,
  progress        double precision,         -- 0..100, from the drone's in_progress acks
  reason          text NOT NULL DEFAULT '', -- why it ended as it did (the drone's reason, or the node's)
  issued_by       text NOT NULL,
  idempotency_key text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,     -- never sent after this
  deadline        timestamptz NOT NULL,     -- final by then unless the drone reports progress (the sweep's bound)
  finished_at     timestamptz,
  CHECK (state IN ('queued', 'sent', 'accepted', 'in_progress', 'succeeded', 'failed', 'rejected', 'expired',
                   'timed_out', 'cancelled'))
);

-- A drone's commands, newest first (GET /api/v1/drones/{id}/commands), and the ones still open (single flight,
-- the owner's pending list, the sweep).
CREATE INDEX commands_drone_created ON commands.commands (drone_id, created_at DESC, id);
CREATE INDEX commands_open ON commands.commands (deadline)
  WHERE state IN ('queued', 'sent', 'accepted', 'in_progress');
-- One command per (user, Idempotency-Key): a retried POST returns the first command.
CREATE UNIQUE INDEX commands_idempotency ON commands.commands (issued_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE commands.transitions (
  command_id uuid NOT NULL REFERENCES commands.commands (id) ON DELETE CASCADE,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  state      text NOT NULL,
  attempt    integer NOT NULL DEFAULT 0,
  cause      text NOT NULL DEFAULT ''
);
CREATE INDEX transitions_command ON commands.transitions (command_id, at);
