-- Ownership of each drone in a cluster, for fencing (docs/cluster.md, "Fencing"). A drone actor that takes a
-- drone's connection claims the drone: the row names its node and a new epoch from one sequence for the whole
-- fleet, so that an epoch is never given twice (not even after a row is deleted) and the higher of two epochs
-- is always the later claim. Whatever a cluster member does as a drone's owner carries its epoch; a member whose
-- epoch is no longer the drone's is not its owner any more (its state loses to the newer one's on every node;
-- its drone actor stops).
CREATE SEQUENCE fleet.owner_epoch AS bigint;

CREATE TABLE fleet.drone_owners (
  drone_id   text PRIMARY KEY,
  node_id    text NOT NULL,
  epoch      bigint NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
