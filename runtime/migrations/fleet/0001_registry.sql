-- The fleet role: the drone registry.
CREATE SCHEMA IF NOT EXISTS fleet;

CREATE TABLE fleet.drones (
  id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  name        text NOT NULL DEFAULT '',
  model       text NOT NULL DEFAULT '',
  firmware    text NOT NULL DEFAULT '',
  home_lat    double precision CHECK (home_lat BETWEEN -90 AND 90),
  home_lon    double precision CHECK (home_lon BETWEEN -180 AND 180),
  home_alt    double precision,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz
);
