-- Missions (docs/protocol.md "Missions"): a plan of waypoints for the drones of one group, validated before anything
-- is sent, and the drones assigned to fly it.
CREATE TABLE commands.missions (
  id           uuid PRIMARY KEY,
  name         text NOT NULL,
  drone_group  text NOT NULL,
  plan         jsonb NOT NULL,                 -- {"items":[...],"final_action":..,"cruise_speed":..}
  state        text NOT NULL CHECK (state IN ('draft', 'validated', 'uploading', 'ready', 'active', 'paused',
                                              'completed', 'aborted', 'failed')),
  problems     jsonb NOT NULL DEFAULT '[]',    -- the validation's problems (draft) or [] (validated)
  reason       text NOT NULL DEFAULT '',
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX missions_group ON commands.missions (drone_group, created_at DESC);

CREATE TABLE commands.mission_drones (
  mission_id  uuid NOT NULL REFERENCES commands.missions (id) ON DELETE CASCADE,
  drone_id    text NOT NULL,
  state       text NOT NULL DEFAULT 'assigned',
  current_seq integer,
  reached     jsonb NOT NULL DEFAULT '[]',     -- [{"seq":0,"at":<ms>}, ...]
  reason      text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (mission_id, drone_id)
);
CREATE INDEX mission_drones_drone ON commands.mission_drones (drone_id);
