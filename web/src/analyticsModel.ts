// The analytics page's pure logic (docs/protocol.md, GET /api/v1/analytics/daily, /drones and /fleet): UTC calendar
// days and the range form → query (checked as the node would: real days, from ≤ to, at most 366 days), the default
// and preset ranges, the figures as text (hours, km, percent), per-day series for the charts (days without rows are
// zero), totals summed across groups, /drones' rows checked (the drones' table), one drone's daily rows summed, the
// drones sorted, the CSV's file name. Unit-tested in analyticsModel.test.ts.
import type { AnalyticsQuery, AnalyticsRoute } from './api';
import { DASH, isNum } from './format';
import type { AnalyticsDailyRow, AnalyticsDroneRow, AnalyticsFigures, AnalyticsFleetDay, AnalyticsGroupFigures } from './types';

/** The longest range the node answers, in calendar days (both ends included). */
export const MAX_DAYS = 366;
export const PRESETS = [7, 30] as const;
const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const ID = /^[A-Za-z0-9_.-]{1,64}$/;

// ---- days

/** The UTC calendar day of a time, "2026-11-30". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The UTC midnight (ms) of "YYYY-MM-DD", or null when the text is no real day ("2026-02-30", "2026-1-5"). */
export function parseDay(text: string): number | null {
  const m = DAY.exec(text.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms;
}

/** The day `n` days after `day` (before, when negative). */
export function addDays(day: string, n: number): string {
  const ms = parseDay(day);
  if (ms === null) throw new Error(`"${day}" is no day`);
  return utcDay(ms + n * DAY_MS);
}

/** How many calendar days from `from` to `to`, both included (0 when to < from). */
export function dayCount(from: string, to: string): number {
  const a = parseDay(from);
  const b = parseDay(to);
  if (a === null || b === null || b < a) return 0;
  return Math.round((b - a) / DAY_MS) + 1;
}

/** Every day of the range, in order. */
export function dayList(from: string, to: string): string[] {
  const n = dayCount(from, to);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(addDays(from, i));
  return out;
}

/** The last `days` days up to today (UTC; `now` on the node's clock), as the node's default is the last 7. */
export function presetRange(days: number, now: number): { from: string; to: string } {
  const to = utcDay(now);
  return { from: addDays(to, -(days - 1)), to };
}

export function defaultRange(now: number): { from: string; to: string } {
  return presetRange(7, now);
}

// ---- the form

export interface AnalyticsForm {
  from: string;
  to: string;
  /** '' for every group the user reaches. */
  group: string;
  /** '' for every drone; else one drone id. */
  drone: string;
}

export type Checked<T> = { ok: true; query: T } | { ok: false; field: keyof AnalyticsForm; message: string };

/** The form → the routes' query, refusing what the node would (400 invalid_parameter) with the field to blame. */
export function analyticsQuery(f: AnalyticsForm): Checked<AnalyticsQuery> {
  const from = f.from.trim();
  const to = f.to.trim();
  if (parseDay(from) === null) return { ok: false, field: 'from', message: 'Choose the first day (YYYY-MM-DD).' };
  if (parseDay(to) === null) return { ok: false, field: 'to', message: 'Choose the last day (YYYY-MM-DD).' };
  if (parseDay(from)! > parseDay(to)!) return { ok: false, field: 'from', message: 'The first day must not be after the last.' };
  if (dayCount(from, to) > MAX_DAYS) return { ok: false, field: 'from', message: `At most ${MAX_DAYS} days at a time.` };
  const query: AnalyticsQuery = { from, to };
  const group = f.group.trim();
  if (group) query.group = group;
  const drone = f.drone.trim();
  if (drone) {
    if (!ID.test(drone)) return { ok: false, field: 'drone', message: 'A drone id is 1–64 characters of A-Z a-z 0-9 _ . -.' };
    query.drone = drone;
  }
  return { ok: true, query };
}

// ---- text

function num(v: unknown): number {
  return isNum(v) ? v : 0;
}

/** Seconds as hours: "0 h", "< 0.01 h", "0.25 h", "12.5 h", "1,234 h". */
export function hours(seconds: unknown): string {
  if (!isNum(seconds)) return DASH;
  const h = seconds / 3600;
  if (h === 0) return '0 h';
  if (Math.abs(h) < 0.005) return '< 0.01 h';
  if (Math.abs(h) < 10) return `${h.toFixed(2)} h`;
  if (Math.abs(h) < 100) return `${h.toFixed(1)} h`;
  return `${Math.round(h).toLocaleString('en-US')} h`;
}

/** Metres as kilometres: "0 km", "0.35 km", "12.3 km", "1,234 km". */
export function km(metres: unknown): string {
  if (!isNum(metres)) return DASH;
  const k = metres / 1000;
  if (k === 0) return '0 km';
  if (Math.abs(k) < 0.005) return '< 0.01 km';
  if (Math.abs(k) < 10) return `${k.toFixed(2)} km`;
  if (Math.abs(k) < 100) return `${k.toFixed(1)} km`;
  return `${Math.round(k).toLocaleString('en-US')} km`;
}

/** A percentage (battery used, summed: may exceed 100): "12.5 %", "340 %". */
export function pct(v: unknown): string {
  if (!isNum(v)) return DASH;
  return Math.abs(v) < 100 ? `${v.toFixed(1)} %` : `${Math.round(v).toLocaleString('en-US')} %`;
}

export function count(v: unknown): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH;
}

export function altitude(v: unknown): string {
  return isNum(v) ? `${v.toFixed(1)} m` : DASH;
}

/** What `computed_through` says: "figures up to 14:05:09 UTC" (with the day when it is not today's), or not yet. */
export function computedNote(computedThrough: unknown, now: number): string {
  if (!isNum(computedThrough)) return 'not computed yet';
  const iso = new Date(computedThrough).toISOString();
  const time = iso.slice(11, 19);
  const day = iso.slice(0, 10);
  return day === utcDay(now) ? `figures up to ${time} UTC` : `figures up to ${day} ${time} UTC`;
}

/**
 * The `computed_through` of several answers read together: the oldest (what all of them include), null when one of
 * them is null (not computed yet); answers not asked for (undefined) do not count.
 */
export function oldestComputed(values: readonly (number | null | undefined)[]): number | null {
  let oldest: number | null = null;
  for (const v of values) {
    if (v === undefined) continue;
    if (!isNum(v)) return null;
    if (oldest === null || v < oldest) oldest = v;
  }
  return oldest;
}

// ---- sums

export interface Totals extends AnalyticsFigures {
  drones: number;
}

function emptyFigures(): AnalyticsFigures {
  return { flight_s: 0, armed_s: 0, distance_m: 0, max_alt_m: null, battery_used_pct: 0, flights: 0, alarms: 0 };
}

function emptyTotals(): Totals {
  return { drones: 0, ...emptyFigures() };
}

function maxAlt(a: number | null, b: unknown): number | null {
  if (!isNum(b)) return a;
  return a === null || b > a ? b : a;
}

function addFigures<T extends AnalyticsFigures>(into: T, r: Partial<AnalyticsFigures>): T {
  into.flight_s += num(r.flight_s);
  into.armed_s += num(r.armed_s);
  into.distance_m += num(r.distance_m);
  into.battery_used_pct += num(r.battery_used_pct);
  into.flights += num(r.flights);
  into.alarms += num(r.alarms);
  into.max_alt_m = maxAlt(into.max_alt_m, r.max_alt_m);
  return into;
}

/**
 * The range's totals over the groups of /fleet ("all"): sums, the highest altitude. `drones` is the sum of each
 * group's distinct drones: a drone that changed groups within the range counts in each.
 */
export function sumTotals(totals: readonly AnalyticsGroupFigures[]): Totals {
  const out = emptyTotals();
  for (const t of totals) {
    addFigures(out, t);
    out.drones += num(t.drones);
  }
  return out;
}

/** The totals of /daily rows (one drone chosen): `drones` counts the distinct drone ids. */
export function totalsFromDaily(rows: readonly AnalyticsDailyRow[]): Totals {
  const out = emptyTotals();
  const ids = new Set<string>();
  for (const r of rows) {
    addFigures(out, r);
    ids.add(r.drone_id);
  }
  out.drones = ids.size;
  return out;
}

// ---- charts

export interface DaySeries {
  days: string[];
  flightHours: number[];
  distanceKm: number[];
  flights: number[];
  alarms: number[];
}

/**
 * One value per day of the range (a day without rows is zero: nothing flew), summed over the rows of that day —
 * every group of /fleet's `days` ("all"), or the chosen drone's /daily rows. Rows outside the range are ignored.
 */
export function daySeries(rows: readonly (Pick<AnalyticsFleetDay, 'day'> & Partial<AnalyticsFigures>)[], from: string, to: string): DaySeries {
  const days = dayList(from, to);
  const index = new Map(days.map((d, i) => [d, i]));
  const s: DaySeries = {
    days,
    flightHours: days.map(() => 0),
    distanceKm: days.map(() => 0),
    flights: days.map(() => 0),
    alarms: days.map(() => 0),
  };
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    s.flightHours[i]! += num(r.flight_s) / 3600;
    s.distanceKm[i]! += num(r.distance_m) / 1000;
    s.flights[i]! += num(r.flights);
    s.alarms[i]! += num(r.alarms);
  }
  return s;
}

// ---- per drone

/** A drone's figures over the range: a row of /drones (or one drone's /daily rows summed). */
export type DroneTotals = AnalyticsDroneRow;

/**
 * /drones' `drones` as the table shows them: rows without a drone id dropped, a figure that is no number taken as
 * 0 (the highest altitude as missing), a group that is no text as "".
 */
export function droneRows(list: unknown): DroneTotals[] {
  if (!Array.isArray(list)) return [];
  const out: DroneTotals[] = [];
  for (const r of list as Partial<Record<keyof DroneTotals, unknown>>[]) {
    if (!r || typeof r.drone_id !== 'string') continue;
    out.push({
      drone_id: r.drone_id,
      group: typeof r.group === 'string' ? r.group : '',
      days: num(r.days),
      flight_s: num(r.flight_s),
      armed_s: num(r.armed_s),
      distance_m: num(r.distance_m),
      max_alt_m: isNum(r.max_alt_m) ? r.max_alt_m : null,
      battery_used_pct: num(r.battery_used_pct),
      flights: num(r.flights),
      alarms: num(r.alarms),
      samples: num(r.samples),
    });
  }
  return out;
}

/**
 * /daily rows summed per drone over the range (in the order of first appearance) — for one chosen drone, whose days
 * /daily gives anyway; the fleet's table comes from /drones. As /drones counts them, `days` are the days with
 * samples (a day with alarms only is not one) and the group is the newest row's.
 */
export function perDrone(rows: readonly AnalyticsDailyRow[]): DroneTotals[] {
  const by = new Map<string, DroneTotals & { lastDay: string }>();
  for (const r of rows) {
    if (typeof r.drone_id !== 'string') continue;
    let t = by.get(r.drone_id);
    if (!t) {
      t = { ...emptyFigures(), drone_id: r.drone_id, group: '', days: 0, samples: 0, lastDay: '' };
      by.set(r.drone_id, t);
    }
    addFigures(t, r);
    if (num(r.samples) > 0) t.days++;
    t.samples += num(r.samples);
    if (typeof r.day === 'string' && r.day >= t.lastDay) {
      t.lastDay = r.day;
      if (typeof r.group === 'string') t.group = r.group;
    }
  }
  return [...by.values()].map(({ lastDay: _, ...t }) => t);
}

export type DroneKey = 'drone_id' | 'group' | 'days' | 'flight_s' | 'armed_s' | 'distance_m' | 'max_alt_m' | 'battery_used_pct' | 'flights' | 'alarms' | 'samples';

export interface SortState {
  key: DroneKey;
  desc: boolean;
}

export const DEFAULT_SORT: SortState = { key: 'flight_s', desc: true };

/** A header click: the same column again turns the order round; another starts descending for numbers, A→Z for text. */
export function nextSort(s: SortState, key: DroneKey): SortState {
  if (s.key === key) return { key, desc: !s.desc };
  return { key, desc: key !== 'drone_id' && key !== 'group' };
}

/** Sorted by `key` (missing values last either way), ties by drone id. A new array. */
export function sortDrones(list: readonly DroneTotals[], s: SortState): DroneTotals[] {
  const dir = s.desc ? -1 : 1;
  return [...list].sort((a, b) => {
    const x = a[s.key];
    const y = b[s.key];
    const xm = x === null || x === undefined || (typeof x === 'number' && !Number.isFinite(x));
    const ym = y === null || y === undefined || (typeof y === 'number' && !Number.isFinite(y));
    if (xm !== ym) return xm ? 1 : -1;
    let c = 0;
    if (!xm) c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : (x as number) - (y as number);
    if (c !== 0) return c * dir;
    return a.drone_id < b.drone_id ? -1 : a.drone_id > b.drone_id ? 1 : 0;
  });
}

// ---- CSV

/** The file name a Content-Disposition names (filename*=UTF-8''… first), without any path; null when none. */
export function dispositionFileName(header: string | null): string | null {
  if (!header) return null;
  let name: string | null = null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      name = decodeURIComponent(star[1]!.trim());
    } catch {
      name = null;
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
    if (plain) name = (plain[1] ?? plain[2] ?? '').replace(/\\(.)/g, '$1');
  }
  if (!name) return null;
  name = name.split(/[/\\]/).pop()!.trim();
  return name && name !== '.' && name !== '..' ? name : null;
}

/** The download's name: the node's, else "dccs-analytics-daily-2026-11-24-2026-11-30[-group][-drone].csv" (the drone: /daily only). */
export function csvFileName(route: AnalyticsRoute, q: AnalyticsQuery, disposition: string | null): string {
  const given = dispositionFileName(disposition);
  if (given) return given;
  const parts = ['dccs-analytics', route, q.from, q.to];
  if (q.group) parts.push(q.group);
  if (route === 'daily' && q.drone) parts.push(q.drone);
  return `${parts.join('-').replace(/[^A-Za-z0-9_.-]/g, '_')}.csv`;
}
