-- What changed in the registry since a given moment, so that a node refreshes its copy of the registry by reading
-- the changes instead of every row. Stamped by the database itself (its own clock, whoever writes the row):
--   updated_at: the row is new, or a statement set a column other than last_seen: the node reads the row again;
--   seen_at:    last_seen moved (written every few seconds for every drone that is live somewhere): the node reads
--               only (id, last_seen) — the frequent change costs a few bytes a drone, not its metadata.
-- clock_timestamp(), not now(): a stamp close to the commit keeps the overlap a reader needs small.
ALTER TABLE fleet.drones
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  ADD COLUMN seen_at timestamptz;
CREATE INDEX drones_updated_at ON fleet.drones (updated_at);
-- No index on seen_at: every last-seen write would then update every index of the row (no HOT update), which
-- doubles its cost; reading the moved pairs scans the table instead (a few milliseconds for 20,000 drones).

-- Stamps the change its trigger names: 'updated' or 'seen'.
CREATE FUNCTION fleet.stamp_drone_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'seen' THEN
    NEW.seen_at := clock_timestamp();
  ELSE
    NEW.updated_at := clock_timestamp();
  END IF;
  RETURN NEW;
END
$$;

-- By the columns a statement sets, not by comparing rows: the last-seen writes (thousands of rows every few
-- seconds) then cost no comparison of whole rows. A migration that adds a column to fleet.drones recreates this
-- trigger with it (tests/actors/registry_store_test.cpp checks).
CREATE TRIGGER drones_updated BEFORE UPDATE OF id, name, model, firmware, home_lat, home_lon, home_alt, metadata,
  created_at, group_name, credential, secret_hash, credential_changed_at ON fleet.drones
  FOR EACH ROW EXECUTE FUNCTION fleet.stamp_drone_change('updated');
CREATE TRIGGER drones_seen BEFORE UPDATE OF last_seen ON fleet.drones
  FOR EACH ROW WHEN (OLD.last_seen IS DISTINCT FROM NEW.last_seen) EXECUTE FUNCTION fleet.stamp_drone_change('seen');
