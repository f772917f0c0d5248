// The mission planner's pure logic (docs/protocol.md, "Missions"): the waypoint list being edited (add, move, change,
// delete, reorder), the form → request body with its local checks, the node's problems by waypoint index, and the
// live progress of a mission's drones merged from `mission` frames. No DOM here: unit-tested in missionPlan.test.ts.
import type { FinalAction, Mission, MissionBody, MissionDrone, MissionFrame, MissionItem, MissionProblem, WaypointAction } from './types';

export const WAYPOINT_ACTIONS: readonly WaypointAction[] = ['none', 'photo', 'land', 'rtl'];
export const FINAL_ACTIONS: readonly FinalAction[] = ['rtl', 'land', 'hold'];
export const MAX_ITEMS = 500;
/** States in which drones fly the mission (or are being sent it): the plan cannot change, nor its drones. */
export const BUSY_STATES = new Set(['uploading', 'active', 'paused']);

/** A waypoint as edited: the same fields as the API's item, speed and hold optional. */
export interface Waypoint {
  lat: number;
  lon: number;
  alt: number;
  speed: number | null;
  hold_s: number;
  action: WaypointAction;
}

/** A new waypoint at a point: the altitude of the last one (or `defaultAlt`), no speed of its own, no hold. */
export function newWaypoint(list: readonly Waypoint[], lat: number, lon: number, defaultAlt: number): Waypoint {
  const last = list[list.length - 1];
  return { lat: round7(lat), lon: round7(lon), alt: last ? last.alt : defaultAlt, speed: null, hold_s: 0, action: 'none' };
}

/** Degrees to 7 decimals (about 1 cm): what a map click means, without float noise in the body. */
export function round7(x: number): number {
  return Math.round(x * 1e7) / 1e7;
}

export function addWaypoint(list: readonly Waypoint[], wp: Waypoint): Waypoint[] {
  if (list.length >= MAX_ITEMS) return [...list];
  return [...list, wp];
}

/** Inserts after `index` (between two waypoints). */
export function insertWaypoint(list: readonly Waypoint[], index: number, wp: Waypoint): Waypoint[] {
  if (list.length >= MAX_ITEMS) return [...list];
  const out = [...list];
  out.splice(Math.max(0, Math.min(index + 1, list.length)), 0, wp);
  return out;
}

export function removeWaypoint(list: readonly Waypoint[], index: number): Waypoint[] {
  return list.filter((_, i) => i !== index);
}

/** Moves waypoint `index` by `delta` places (−1 up, +1 down); out of range leaves the list as it is. */
export function moveWaypoint(list: readonly Waypoint[], index: number, delta: number): Waypoint[] {
  const to = index + delta;
  const out = [...list];
  if (index < 0 || index >= list.length || to < 0 || to >= list.length) return out;
  const [wp] = out.splice(index, 1);
  out.splice(to, 0, wp!);
  return out;
}

export function updateWaypoint(list: readonly Waypoint[], index: number, change: Partial<Waypoint>): Waypoint[] {
  return list.map((wp, i) => (i === index ? { ...wp, ...change } : wp));
}

/** The waypoint moved on the map (dragged). */
export function relocateWaypoint(list: readonly Waypoint[], index: number, lat: number, lon: number): Waypoint[] {
  return updateWaypoint(list, index, { lat: round7(lat), lon: round7(lon) });
}

export function fromItems(items: readonly MissionItem[] | undefined): Waypoint[] {
  return (items ?? []).map((it) => ({
    lat: it.lat,
    lon: it.lon,
    alt: it.alt,
    speed: typeof it.speed === 'number' ? it.speed : null,
    hold_s: typeof it.hold_s === 'number' ? it.hold_s : 0,
    action: it.action ?? 'none',
  }));
}

export function toItems(list: readonly Waypoint[]): MissionItem[] {
  return list.map((wp) => {
    const it: MissionItem = { lat: wp.lat, lon: wp.lon, alt: wp.alt };
    if (wp.speed !== null) it.speed = wp.speed;
    if (wp.hold_s) it.hold_s = wp.hold_s;
    if (wp.action !== 'none') it.action = wp.action;
    return it;
  });
}

/** The mission form as typed (text from the inputs). */
export interface MissionForm {
  name: string;
  group: string;
  cruiseSpeed: string;
  finalAction: string;
}

export type BodyResult = { ok: true; body: MissionBody } | { ok: false; field: string; message: string };

/**
 * The request body of POST /api/v1/missions (and PATCH: the same fields), or the first thing the form lacks. Only
 * shape is checked here (the node checks everything again and reports every problem): a name, a group, a number for
 * the cruise speed, a known final action, at least one waypoint with numbers.
 */
export function missionBody(form: MissionForm, list: readonly Waypoint[]): BodyResult {
  const name = form.name.trim();
  if (!name) return { ok: false, field: 'name', message: 'The mission needs a name.' };
  const group = form.group.trim();
  if (!group) return { ok: false, field: 'group', message: 'Choose a group.' };
  const cruise = form.cruiseSpeed.trim() === '' ? 10 : Number(form.cruiseSpeed);
  if (!Number.isFinite(cruise) || cruise <= 0) return { ok: false, field: 'cruise_speed', message: 'The cruise speed must be a number above 0 (m/s).' };
  if (!(FINAL_ACTIONS as readonly string[]).includes(form.finalAction))
    return { ok: false, field: 'final_action', message: 'Choose a final action.' };
  if (list.length === 0) return { ok: false, field: 'items', message: 'Add at least one waypoint (click the map).' };
  for (let i = 0; i < list.length; i++) {
    const wp = list[i]!;
    for (const k of ['lat', 'lon', 'alt', 'hold_s'] as const) {
      if (!Number.isFinite(wp[k])) return { ok: false, field: `items[${i}].${k}`, message: `Waypoint ${i + 1}: ${k} must be a number.` };
    }
    if (wp.speed !== null && !Number.isFinite(wp.speed))
      return { ok: false, field: `items[${i}].speed`, message: `Waypoint ${i + 1}: speed must be a number.` };
  }
  return { ok: true, body: { name, group, items: toItems(list), final_action: form.finalAction as FinalAction, cruise_speed: cruise } };
}

/** A number field's text: '' → null (not set), else the number (NaN when it is not one: missionBody refuses it). */
export function parseOptional(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

/** Problems by waypoint index; those of the mission as a whole (index null) under -1. */
export function problemsByIndex(problems: readonly MissionProblem[] | undefined): Map<number, MissionProblem[]> {
  const out = new Map<number, MissionProblem[]>();
  for (const p of problems ?? []) {
    const k = typeof p.index === 'number' ? p.index : -1;
    const list = out.get(k);
    if (list) list.push(p);
    else out.set(k, [p]);
  }
  return out;
}

/** Leg lengths in metres (haversine), leg i ending at waypoint i (0 for the first). */
export function legLengths(list: readonly Waypoint[]): number[] {
  return list.map((wp, i) => (i === 0 ? 0 : distanceM(list[i - 1]!, wp)));
}

export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(s)));
}

/**
 * The mission's drones with what `mission` frames told since it was read: a frame about this mission and one of its
 * drones replaces that drone's entry, and the newest frame's `state` is the mission's. `frames` gives the newest frame
 * per drone (MissionBook).
 */
export function liveProgress(
  m: Pick<Mission, 'id' | 'state' | 'drones'>,
  frameOf: (droneId: string) => MissionFrame | undefined,
  readAt: number,
): { state: string; drones: MissionDrone[] } {
  let state = m.state;
  let newest = readAt;
  const drones = m.drones.map((d) => {
    const f = frameOf(d.drone_id);
    if (!f || f.mission_id !== m.id) return d;
    const at = f.received ?? 0;
    if (at >= newest) {
      newest = at;
      state = f.state;
    }
    return { ...d, ...f.drone, reached: f.drone.reached ?? d.reached };
  });
  return { state, drones };
}

/** The text of a drone's progress: "item 3/5 · reached 2" (items counted from 1). */
export function progressText(d: MissionDrone, items: number): string {
  const reached = d.reached?.length ?? 0;
  const cur = typeof d.current_seq === 'number' ? `item ${d.current_seq + 1}/${items}` : `— /${items}`;
  return `${cur} · reached ${reached}`;
}

/** Which mission actions the state allows (the node decides; these are what is offered). */
export function allowedActions(state: string, drones: number): { upload: boolean; start: boolean; pause: boolean; resume: boolean; abort: boolean; edit: boolean } {
  return {
    upload: drones > 0 && (state === 'validated' || state === 'ready'),
    start: state === 'ready',
    pause: state === 'active',
    resume: state === 'paused',
    abort: ['uploading', 'ready', 'active', 'paused'].includes(state),
    edit: !BUSY_STATES.has(state),
  };
}
