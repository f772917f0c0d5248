-- Fencing of the journal's writes (docs/cluster.md "Fencing"): the highest ownership epoch of the drone actors that
-- reported a step of the command. A report of an older epoch (a cut-off former owner) changes nothing.
ALTER TABLE commands.commands ADD COLUMN owner_epoch bigint NOT NULL DEFAULT 0;
