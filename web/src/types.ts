// The shapes of docs/protocol.md that the dashboard reads: operator frames and REST bodies. Fields the node may
// leave out are optional; the live code checks numbers with isNum() before using them, since a frame is data
// from the network.

/** The operator view of a drone ("Node → operator", `<drone>`). Telemetry fields appear once telemetry arrived. */
export interface Drone {
  id: string;
  status?: string;
  connected?: boolean;
  model?: string;
  fw?: string;
  group?: string;
  /** The command kinds the drone's hello listed (known kinds, protocol order); null when it listed none. */
  commands?: string[] | null;
  /** In a cluster: the id of the member whose drone actor serves the drone (its owner; GET /api/v1/cluster). */
  node?: string;
  /** In a cluster: the ownership epoch of the drone actor that published this state. */
  owner_epoch?: number;
  /** Node time (ms) of the drone's last frame; null for a registered drone never seen. */
  last_seen?: number | null;
  seq?: number;
  ts?: number;
  recv?: number;
  lat?: number;
  lon?: number;
  alt?: number;
  heading?: number;
  speed?: number;
  vspeed?: number;
  battery?: number;
  armed?: boolean;
  mode?: string;
  roll?: number;
  pitch?: number;
  yaw?: number;
  voltage?: number;
  sats?: number;
  fix?: number;
}

export interface Position3 {
  lat: number;
  lon: number;
  alt?: number;
}

/** Registry object (REST "Drones: live state and registry"). Times are RFC 3339 text here, not ms. */
export interface RegistryEntry {
  id: string;
  name?: string;
  model?: string;
  firmware?: string;
  group?: string;
  credential?: 'active' | 'revoked' | 'none';
  home?: Position3 | null;
  metadata?: Record<string, unknown>;
  created_at?: string;
  last_seen?: string | null;
}

/** GET /api/v1/drones and /drones/{id}: the operator view plus the registry. */
export interface RestDrone extends Drone {
  registered?: boolean;
  registry?: RegistryEntry;
}

export interface DronePage {
  drones: RestDrone[];
  next_cursor: string | null;
}

export type CommandKind =
  | 'arm'
  | 'disarm'
  | 'takeoff'
  | 'land'
  | 'rtl'
  | 'goto'
  | 'hold'
  | 'resume'
  | 'set_mode'
  | 'set_speed'
  | 'mission_start';

export interface Command {
  id: string;
  drone_id: string;
  group?: string;
  kind: string;
  params?: Record<string, unknown>;
  state: string;
  final: boolean;
  attempt?: number;
  progress?: number;
  reason?: string;
  issued_by?: string;
  created_at: number;
  updated_at: number;
  expires_at?: number;
}

export interface CommandPage {
  commands: Command[];
  next_cursor: string | null;
}

/** GET/POST /drones/{id}/control and the `control` frame share these fields. */
export interface Lease {
  drone_id: string;
  holder: string | null;
  taken_at?: number;
  expires_at?: number | null;
}

export interface ControlFrame extends Lease {
  type: 'control';
  previous?: string | null;
  by?: string;
}

export type AlarmState = 'active' | 'acknowledged' | 'cleared';

export interface Alarm {
  id: string;
  drone_id: string;
  group?: string;
  kind: string;
  severity: 'warning' | 'critical' | string;
  state: AlarmState | string;
  message?: string;
  detail?: Record<string, unknown>;
  count?: number;
  raised_at: number;
  updated_at: number;
  acknowledged_by?: string | null;
  acknowledged_at?: number | null;
  cleared_by?: string | null;
  cleared_at?: number | null;
}

export interface AlarmPage {
  alarms: Alarm[];
  next_cursor: string | null;
}

export interface MissionDrone {
  drone_id: string;
  state: string;
  current_seq: number | null;
  reached?: { seq: number; at: number }[];
  reason?: string;
}

export interface MissionFrame {
  type: 'mission';
  mission_id: string;
  name?: string;
  state: string;
  reason?: string;
  items?: number;
  drone: MissionDrone;
  /** Page clock when it arrived (set by MissionBook). */
  received?: number;
}

export interface Geofence {
  id: string;
  name: string;
  group: string;
  kind: 'inclusion' | 'exclusion' | string;
  polygon: { type: 'Polygon'; coordinates: number[][][] };
  floor?: number | null;
  ceiling?: number | null;
  action?: 'alert' | 'rtl' | 'land' | string;
  created_by?: string;
  created_at?: number;
  updated_at?: number;
}

export interface GeofencePage {
  geofences: Geofence[];
  next_cursor: string | null;
}

/** GET /api/v1/auth/me. */
export interface User {
  name: string;
  role: string;
  groups: string[];
  expires_at?: number;
}

/** POST /api/v1/auth/login and /auth/refresh. */
export interface Grant {
  access_token: string;
  refresh_token: string;
  /** Seconds. */
  expires_in: number;
  /** Unix seconds, node clock: the login's absolute end. */
  refresh_expires_at: number | null;
}

/** GET /api/v1/config/web (the map's tile server; "" = none). */
export interface WebConfig {
  tile_url: string;
  tile_attribution: string;
  tile_max_zoom: number;
}

export interface TelemetryRow {
  time: string;
  ts: number;
  seq?: number;
  received?: string;
  count?: number;
  lat?: number;
  lon?: number;
  alt?: number;
  heading?: number;
  speed?: number;
  vspeed?: number;
  battery?: number;
  armed?: boolean;
  mode?: string;
  voltage?: number;
}

export interface TelemetryPage {
  drone_id: string;
  from: string;
  to: string;
  bucket?: string;
  rows: TelemetryRow[];
  next_cursor: string | null;
}

export interface TrackCollection {
  type: 'FeatureCollection';
  features: {
    type: 'Feature';
    geometry: { type: 'LineString'; coordinates: number[][] } | { type: 'Point'; coordinates: number[] } | null;
    properties: { drone_id: string; points: number; samples: number; sampled: boolean; times: number[] };
  }[];
}

// ---- missions (REST "Missions")

export type WaypointAction = 'none' | 'photo' | 'land' | 'rtl';
export type FinalAction = 'rtl' | 'land' | 'hold';

export interface MissionItem {
  lat: number;
  lon: number;
  /** Metres above mean sea level (the API's one datum). */
  alt: number;
  speed?: number;
  hold_s?: number;
  action?: WaypointAction;
}

export interface MissionProblem {
  index: number | null;
  field: string;
  reason: string;
}

export interface MissionBody {
  name: string;
  group: string;
  items: MissionItem[];
  final_action: FinalAction;
  cruise_speed: number;
}

export interface Mission extends MissionBody {
  id: string;
  state: string;
  problems?: MissionProblem[];
  reason?: string;
  created_by?: string;
  created_at?: number;
  updated_at?: number;
  drones: MissionDrone[];
  commands?: { drone_id: string; command_id?: string; error?: { code: string; message: string } }[];
}

export interface MissionPage {
  missions: Mission[];
  next_cursor: string | null;
}

export interface GeofenceBody {
  name: string;
  group: string;
  kind: 'inclusion' | 'exclusion';
  polygon: { type: 'Polygon'; coordinates: number[][][] };
  floor: number | null;
  ceiling: number | null;
  action: 'alert' | 'rtl' | 'land';
}

// ---- admin (REST "Authentication and users", registry, audit)

export interface UserRecord {
  name: string;
  role: string;
  groups: string[];
  enabled: boolean;
  created_at?: string | number;
  updated_at?: string | number;
  password_changed_at?: string | number | null;
}

export interface AuditEntry {
  id: number | string;
  at?: string | number;
  time?: string | number;
  actor?: string;
  action?: string;
  drone?: string | null;
  drone_id?: string | null;
  outcome?: string;
  address?: string;
  detail?: unknown;
  [k: string]: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | string | null;
}

// ---- cluster (GET /api/v1/cluster, admins; docs/cluster.md)

/** A live member as the node answering sees it. */
export interface ClusterMember {
  id: string;
  /** host:port clients reach its HTTP port at. */
  http: string;
  /** host:port of its cluster port. */
  cluster?: string;
  roles?: string[];
  /** Wall-clock ms at its start: a restarted node has a larger one. */
  epoch?: number;
  /** The member answering (the node this page is connected to). */
  self?: boolean;
  /** ms since it was last heard (not for self). */
  heard_ms_ago?: number;
  /** The drone actors it runs, as it last reported. */
  drones?: number;
}

/** A single node answers {"enabled":false,"members":[]}. */
export interface ClusterStatus {
  enabled: boolean;
  self?: string;
  /** The membership view's number (a new one at each change of the live members). */
  version?: number;
  members: ClusterMember[];
  heartbeat_ms?: number;
  timeout_ms?: number;
  board?: 'ok' | 'unavailable' | 'disabled' | string;
}

// ---- analytics (GET /api/v1/analytics/daily, /drones and /fleet; days are UTC calendar days "YYYY-MM-DD")

/** The figures of a drone, a group or the fleet over a day or a range. */
export interface AnalyticsFigures {
  /** Seconds armed and airborne. */
  flight_s: number;
  /** Seconds armed. */
  armed_s: number;
  /** Horizontal metres flown while airborne. */
  distance_m: number;
  /** The highest `alt` reported (m AMSL); null without a sample. */
  max_alt_m: number | null;
  /** The sum of the battery percentage's drops. */
  battery_used_pct: number;
  /** Take-offs. */
  flights: number;
  /** Alarms raised. */
  alarms: number;
}

export interface AnalyticsDailyRow extends AnalyticsFigures {
  day: string;
  drone_id: string;
  group: string;
  samples: number;
}

export interface AnalyticsDaily {
  from: string;
  to: string;
  /** ms since the epoch: samples up to then are in the figures; null before the first rollup. */
  computed_through: number | null;
  /** One per (drone, day) with samples or alarms, by day then drone id. */
  rows: AnalyticsDailyRow[];
}

/** One drone over the whole range (GET /analytics/drones), summed by the node. */
export interface AnalyticsDroneRow extends AnalyticsFigures {
  drone_id: string;
  /** The registry's group now ("" for a drone no longer registered). */
  group: string;
  /** Days with telemetry in the range. */
  days: number;
  samples: number;
}

export interface AnalyticsDrones {
  from: string;
  to: string;
  computed_through: number | null;
  /** One per drone with samples or alarms in the range, by drone id. */
  drones: AnalyticsDroneRow[];
}

export interface AnalyticsGroupFigures extends AnalyticsFigures {
  group: string;
  /** Distinct drones with samples or alarms. */
  drones: number;
}

export interface AnalyticsFleetDay extends AnalyticsGroupFigures {
  day: string;
}

export interface AnalyticsFleet {
  from: string;
  to: string;
  computed_through: number | null;
  days: AnalyticsFleetDay[];
  /** Per group over the whole range. */
  totals: AnalyticsGroupFigures[];
}
