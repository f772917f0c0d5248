-- Geofences and alarms (docs/protocol.md "Geofences" and "Alarms"), in the commands role's database beside the
-- journal: a breach commands the drone through it.

-- A geofence applies to the drones of its group while they are armed. `ring` is the GeoJSON Polygon's outer ring
-- ([[lon, lat], ...], closed).
CREATE TABLE commands.geofences (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  drone_group text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('inclusion', 'exclusion')),
  ring        jsonb NOT NULL,
  floor       double precision,
  ceiling     double precision,
  action      text NOT NULL CHECK (action IN ('alert', 'rtl', 'land')),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX geofences_group ON commands.geofences (drone_group);

-- Bumped by every change of a geofence, in the change's transaction: every node polls it and reloads its
-- geofences when it moved (cluster-wide within a poll interval).
CREATE TABLE commands.geofence_version (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL
);
INSERT INTO commands.geofence_version VALUES (true, 1);

CREATE TABLE commands.alarms (
  id              uuid PRIMARY KEY,
  drone_id        text NOT NULL,
  drone_group     text NOT NULL,
  kind            text NOT NULL,
  severity        text NOT NULL CHECK (severity IN ('warning', 'critical')),
  state           text NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')),
  message         text NOT NULL DEFAULT '',
  detail          jsonb NOT NULL DEFAULT '{}',
  count           integer NOT NULL DEFAULT 1,     -- raises while it was open
  raised_at       timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  acknowledged_by text,
  acknowledged_at timestamptz,
  cleared_by      text,                           -- a user, or 'system' when the condition ended
  cleared_at      timestamptz
);
-- One open alarm per (drone, kind).
CREATE UNIQUE INDEX alarms_open ON commands.alarms (drone_id, kind) WHERE state <> 'cleared';
CREATE INDEX alarms_raised ON commands.alarms (raised_at DESC, id);
CREATE INDEX alarms_drone ON commands.alarms (drone_id, raised_at DESC);
