// The REST API of docs/protocol.md as typed calls. Every call sends the access token as a bearer token, renews it
// first when it is due, and on a 401 renews once and tries again (a second 401 ends the session: login form). An
// error answer becomes an ApiError (http.ts) that the caller shows in place, next to what failed.
//
// To add a route: one method here, with the body type in types.ts; pages never build URLs themselves.
import type { Session } from './auth';
import { SessionEndedError } from './errors';
import { ApiError, request, type HttpAnswer, type RequestOptions } from './http';
import type {
  Alarm,
  AlarmPage,
  AnalyticsDaily,
  AnalyticsDrones,
  AnalyticsFleet,
  AuditPage,
  ClusterStatus,
  Command,
  CommandKind,
  CommandPage,
  DronePage,
  Geofence,
  GeofenceBody,
  GeofencePage,
  Lease,
  Mission,
  MissionBody,
  MissionPage,
  RegistryEntry,
  RestDrone,
  TelemetryPage,
  TrackCollection,
  User,
  UserRecord,
  WebConfig,
} from './types';

const API = '/api/v1';

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, q: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

const seg = encodeURIComponent;

export interface HistoryRange {
  /** ms since the epoch, page clock. */
  from: number;
  to: number;
}

/** The query of the analytics routes: UTC days "YYYY-MM-DD" (both included), a group, one drone (/daily only). */
export interface AnalyticsQuery {
  from: string;
  to: string;
  group?: string;
  drone?: string;
}

/** A CSV answer: its text and the file name of its Content-Disposition, when it named one. */
/** The analytics routes with a CSV form. */
export type AnalyticsRoute = 'daily' | 'drones' | 'fleet';

export interface CsvFile {
  text: string;
  disposition: string | null;
}

export class Api {
  constructor(private readonly session: Session) {}

  /** The answer of any status but 401 (which is handled here); rejects with SessionEndedError or NetworkError. */
  async send(method: string, path: string, opts: Omit<RequestOptions, 'token'> = {}): Promise<HttpAnswer> {
    const generation = this.session.current;
    await this.session.ensureFresh();
    for (let retried = false; ; retried = true) {
      const token = this.session.accessToken;
      let res: HttpAnswer;
      try {
        res = await request(method, path, { ...opts, token });
      } finally {
        this.session.check(generation);
      }
      if (res.status !== 401) return res;
      if (retried) {
        this.session.end('The node refused the renewed session. Please log in again.');
        throw new SessionEndedError('second 401');
      }
      // Renew unless another caller already did while this request was under way.
      if (this.session.accessToken === token) await this.session.refresh();
      this.session.check(generation);
    }
  }

  /** The JSON body of a 2xx answer; any other answer rejects with its ApiError. */
  async call<T>(method: string, path: string, opts: Omit<RequestOptions, 'token'> = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (!res.ok) throw ApiError.from(res);
    return res.data as T;
  }

  // ---- session

  me(): Promise<User> {
    return this.call('GET', `${API}/auth/me`);
  }

  ticket(): Promise<{ ticket: string; expires_in?: number }> {
    return this.call('POST', `${API}/auth/ticket`);
  }

  /** The map's tile server. A node without the route (404) has none: the map stays offline. */
  async webConfig(): Promise<WebConfig | null> {
    const res = await this.send('GET', `${API}/config/web`);
    if (res.status === 404) return null;
    if (!res.ok) throw ApiError.from(res);
    return res.data as WebConfig;
  }

  // ---- drones

  drones(limit: number, cursor?: string): Promise<DronePage> {
    return this.call('GET', withQuery(`${API}/drones`, { limit, cursor }));
  }

  drone(id: string): Promise<RestDrone> {
    return this.call('GET', `${API}/drones/${seg(id)}`);
  }

  telemetry(id: string, range: HistoryRange, opts: { limit?: number; bucket?: string; cursor?: string } = {}): Promise<TelemetryPage> {
    return this.call('GET', withQuery(`${API}/drones/${seg(id)}/telemetry`, { ...rangeQuery(range), ...opts }));
  }

  /** The same rows as telemetry(), as the node's CSV (RFC 4180; at most `limit` rows, no cursor). */
  telemetryCsv(id: string, range: HistoryRange, opts: { limit?: number; bucket?: string }): Promise<string> {
    return this.call('GET', withQuery(`${API}/drones/${seg(id)}/telemetry`, { ...rangeQuery(range), ...opts, format: 'csv' }), {
      accept: 'csv',
    });
  }

  track(id: string, range: HistoryRange): Promise<TrackCollection> {
    return this.call('GET', withQuery(`${API}/drones/${seg(id)}/track`, rangeQuery(range)));
  }

  // ---- commands and control

  commands(id: string, limit: number): Promise<CommandPage> {
    return this.call('GET', withQuery(`${API}/drones/${seg(id)}/commands`, { limit }));
  }

  issueCommand(id: string, kind: CommandKind, params?: Record<string, number>): Promise<Command> {
    return this.call('POST', `${API}/drones/${seg(id)}/commands`, { body: params ? { kind, params } : { kind } });
  }

  cancelCommand(commandId: string): Promise<Command> {
    return this.call('DELETE', `${API}/commands/${seg(commandId)}`);
  }

  lease(id: string): Promise<Lease> {
    return this.call('GET', `${API}/drones/${seg(id)}/control`);
  }

  takeLease(id: string, force: boolean): Promise<Lease> {
    return this.call('POST', `${API}/drones/${seg(id)}/control`, { body: force ? { force: true } : {} });
  }

  async releaseLease(id: string): Promise<void> {
    await this.call('DELETE', `${API}/drones/${seg(id)}/control`);
  }

  // ---- geofences and alarms

  geofences(limit: number, after?: string): Promise<GeofencePage> {
    return this.call('GET', withQuery(`${API}/geofences`, { limit, after }));
  }

  alarms(q: { state?: string; drone?: string; kind?: string; group?: string; limit?: number; before?: string }): Promise<AlarmPage> {
    return this.call('GET', withQuery(`${API}/alarms`, q));
  }

  acknowledgeAlarm(id: string): Promise<Alarm> {
    return this.call('POST', `${API}/alarms/${seg(id)}/acknowledge`);
  }

  clearAlarm(id: string): Promise<Alarm> {
    return this.call('POST', `${API}/alarms/${seg(id)}/clear`);
  }

  // ---- geofences (editing)

  createGeofence(body: GeofenceBody): Promise<Geofence> {
    return this.call('POST', `${API}/geofences`, { body });
  }

  updateGeofence(id: string, body: Partial<GeofenceBody>): Promise<Geofence> {
    return this.call('PATCH', `${API}/geofences/${seg(id)}`, { body });
  }

  async deleteGeofence(id: string): Promise<void> {
    await this.call('DELETE', `${API}/geofences/${seg(id)}`);
  }

  // ---- missions

  missions(q: { group?: string; state?: string; limit?: number; before?: string } = {}): Promise<MissionPage> {
    return this.call('GET', withQuery(`${API}/missions`, q));
  }

  mission(id: string): Promise<Mission> {
    return this.call('GET', `${API}/missions/${seg(id)}`);
  }

  createMission(body: MissionBody): Promise<Mission> {
    return this.call('POST', `${API}/missions`, { body });
  }

  updateMission(id: string, body: Partial<MissionBody>): Promise<Mission> {
    return this.call('PATCH', `${API}/missions/${seg(id)}`, { body });
  }

  async deleteMission(id: string): Promise<void> {
    await this.call('DELETE', `${API}/missions/${seg(id)}`);
  }

  assignMission(id: string, drones: string[]): Promise<Mission> {
    return this.call('POST', `${API}/missions/${seg(id)}/assign`, { body: { drones } });
  }

  /** validate, upload, start, pause, resume, abort. */
  missionAction(id: string, action: 'validate' | 'upload' | 'start' | 'pause' | 'resume' | 'abort'): Promise<Mission> {
    return this.call('POST', `${API}/missions/${seg(id)}/${action}`, { body: {} });
  }

  // ---- admin: users, registry, audit

  users(): Promise<{ users: UserRecord[] }> {
    return this.call('GET', `${API}/users`);
  }

  createUser(body: { name: string; password: string; role: string; groups: string[] }): Promise<UserRecord> {
    return this.call('POST', `${API}/users`, { body });
  }

  updateUser(name: string, body: { password?: string; role?: string; groups?: string[]; enabled?: boolean }): Promise<UserRecord> {
    return this.call('PATCH', `${API}/users/${seg(name)}`, { body });
  }

  registerDrone(body: { id: string; group?: string; name?: string; model?: string; firmware?: string }): Promise<RegistryEntry & { secret: string }> {
    return this.call('POST', `${API}/drones`, { body });
  }

  rotateSecret(id: string): Promise<{ id: string; credential: string; secret: string }> {
    return this.call('POST', `${API}/drones/${seg(id)}/secret`);
  }

  async revokeSecret(id: string): Promise<void> {
    await this.call('DELETE', `${API}/drones/${seg(id)}/secret`);
  }

  updateDrone(id: string, body: { group?: string; name?: string }): Promise<RegistryEntry> {
    return this.call('PATCH', `${API}/drones/${seg(id)}`, { body });
  }

  async deleteDrone(id: string): Promise<void> {
    await this.call('DELETE', `${API}/drones/${seg(id)}`);
  }

  // ---- analytics (admins, operators and analytics users)

  analyticsDaily(q: AnalyticsQuery): Promise<AnalyticsDaily> {
    return this.call('GET', withQuery(`${API}/analytics/daily`, { ...q }));
  }

  /** One row per drone over the range, summed by the node (no drone filter: the node refuses `drone` here). */
  analyticsDrones(q: Omit<AnalyticsQuery, 'drone'>): Promise<AnalyticsDrones> {
    return this.call('GET', withQuery(`${API}/analytics/drones`, { from: q.from, to: q.to, group: q.group }));
  }

  analyticsFleet(q: Omit<AnalyticsQuery, 'drone'>): Promise<AnalyticsFleet> {
    return this.call('GET', withQuery(`${API}/analytics/fleet`, { from: q.from, to: q.to, group: q.group }));
  }

  /** The same figures as the node's CSV (header line of the field names), with its file name. Only /daily takes `drone`. */
  async analyticsCsv(route: AnalyticsRoute, q: AnalyticsQuery): Promise<CsvFile> {
    const query: Query = route === 'daily' ? { ...q, format: 'csv' } : { from: q.from, to: q.to, group: q.group, format: 'csv' };
    const res = await this.send('GET', withQuery(`${API}/analytics/${route}`, query), { accept: 'csv' });
    if (!res.ok) throw ApiError.from(res);
    return { text: typeof res.data === 'string' ? res.data : '', disposition: res.headers.get('Content-Disposition') };
  }

  /** The cluster's members as the node answering sees them (admins; a single node: `enabled` false, no members). */
  cluster(): Promise<ClusterStatus> {
    return this.call('GET', `${API}/cluster`);
  }

  /** The audit log; `query` is built by auditQuery() (adminModel.ts). */
  audit(query: string): Promise<AuditPage> {
    return this.call('GET', `${API}/audit${query}`);
  }
}

function rangeQuery(r: HistoryRange): Query {
  return { from: Math.floor(r.from), to: Math.ceil(r.to) };
}

/** Every page of a cursor-paged list, up to `max` items (the lists are bounded by the node anyway). */
export async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>,
  max: number,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    out.push(...page.items);
    if (!page.next || out.length >= max) return out;
    cursor = page.next;
  }
}
