-- The telemetry role: every telemetry sample, partitioned by the sample's time (one partition per UTC day,
-- created ahead and dropped past retention by the node's maintenance actor).
CREATE SCHEMA IF NOT EXISTS telemetry;

CREATE TABLE telemetry.samples (
  drone_id  text NOT NULL,
  time      timestamptz NOT NULL,   -- the drone's clock (frame field ts)
  seq       bigint NOT NULL,        -- the drone's sequence number (frame field seq)
  received  timestamptz NOT NULL,   -- the node's clock when the frame arrived
  lat       double precision NOT NULL,
  lon       double precision NOT NULL,
  alt       double precision NOT NULL,
  heading   double precision NOT NULL,
  speed     double precision NOT NULL,
  vspeed    double precision NOT NULL,
  battery   double precision NOT NULL,
  armed     boolean NOT NULL,
  mode      text NOT NULL,
  roll      double precision,
  pitch     double precision,
  yaw       double precision,
  voltage   double precision,
  sats      integer,
  fix       integer
) PARTITION BY RANGE (time);

-- Serves history by (drone, time) and stores each (drone, time, seq) once: a resent frame is the same row.
CREATE UNIQUE INDEX samples_drone_time_seq ON telemetry.samples (drone_id, time, seq);

-- Rows whose day has no partition yet (a drone clock far off): maintenance moves them into the day's
-- partition when it creates it.
CREATE TABLE telemetry.samples_default PARTITION OF telemetry.samples DEFAULT;
