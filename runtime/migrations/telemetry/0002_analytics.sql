-- Daily flight analytics (docs/protocol.md "Analytics"): figures per (drone, UTC hour), summed per day by the view
-- daily_rollups, kept by the analytics rollup job (actors/analytics.cpp) incrementally from telemetry.samples.

-- The job reads the samples of a time window each pass: a BRIN index on time finds a window's blocks without
-- reading a whole day partition (rows arrive nearly in time order, so the ranges are tight), at almost no cost
-- to the writer.
CREATE INDEX samples_time_brin ON telemetry.samples USING brin (time);

-- The job keeps figures per (drone, UTC hour): telemetry stored late makes it count one hour again, not a day.
CREATE TABLE telemetry.hourly_rollups (
  drone_id          text NOT NULL,
  hour              timestamptz NOT NULL,    -- the hour's start
  day               date NOT NULL,           -- its UTC day
  flight_s          double precision NOT NULL DEFAULT 0,
  armed_s           double precision NOT NULL DEFAULT 0,
  distance_m        double precision NOT NULL DEFAULT 0,
  max_alt_m         double precision,        -- NULL: no sample that hour
  battery_used_pct  double precision NOT NULL DEFAULT 0,
  flights           integer NOT NULL DEFAULT 0,
  samples           bigint NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (drone_id, hour)
);
CREATE INDEX hourly_rollups_day ON telemetry.hourly_rollups (day, drone_id);

-- What the answers read: a day is the sum of its hours (a condition on day reaches the index above).
CREATE VIEW telemetry.daily_rollups AS
  SELECT drone_id, day, sum(flight_s) AS flight_s, sum(armed_s) AS armed_s, sum(distance_m) AS distance_m,
         max(max_alt_m) AS max_alt_m, sum(battery_used_pct) AS battery_used_pct, sum(flights)::integer AS flights,
         sum(samples)::bigint AS samples
  FROM telemetry.hourly_rollups GROUP BY drone_id, day;

-- What carries from one pass to the next per drone: its newest sample counted, and whether it was flying.
CREATE TABLE telemetry.rollup_cursors (
  drone_id    text PRIMARY KEY,
  time_us     bigint NOT NULL,
  lat         double precision NOT NULL,
  lon         double precision NOT NULL,
  alt         double precision NOT NULL,
  battery     double precision NOT NULL,
  armed       boolean NOT NULL,
  airborne    boolean NOT NULL,
  ground_alt  double precision              -- NULL: no ground altitude known yet
);

-- Samples that arrived after the job had counted their time (a drone's stored frames sent after a reconnect, a
-- clock behind): the telemetry writer marks their (drone, hour), in the transaction that stores them, and the job
-- computes those hours again from all their samples.
CREATE TABLE telemetry.rollup_dirty (
  drone_id   text NOT NULL,
  hour       timestamptz NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (drone_id, hour)
);

-- The job's progress: samples with time <= done are counted; `claimed` (>= done) is where the pass under way
-- counts to, and what the writer compares a new sample's time with. One row.
CREATE TABLE telemetry.rollup_state (
  id         integer PRIMARY KEY CHECK (id = 1),
  claimed    timestamptz,
  done       timestamptz,
  passes     bigint NOT NULL DEFAULT 0,
  last_pass  timestamptz
);
INSERT INTO telemetry.rollup_state (id) VALUES (1);
