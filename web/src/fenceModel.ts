// The geofence editor's pure logic (docs/protocol.md, "Geofences"): the vertices being drawn as [lat, lon], closing
// them into a GeoJSON ring ([lon, lat], the last equal to the first), the checks the node would refuse (at least 3
// distinct points, at most 499, an area, no crossing edges), and the form → request body. Unit-tested in
// fenceModel.test.ts.
import type { Geofence, GeofenceBody } from './types';

export type LatLon = [lat: number, lon: number];

export const MAX_VERTICES = 499; // the ring holds at most 500 positions, the closing one included
export const KINDS = ['inclusion', 'exclusion'] as const;
export const ACTIONS = ['alert', 'rtl', 'land'] as const;

const round7 = (x: number): number => Math.round(x * 1e7) / 1e7;

/** The ring of a polygon as the vertices being edited: [lat, lon], the closing repeat dropped. */
export function openRing(coords: readonly (readonly number[])[] | undefined): LatLon[] {
  const pts: LatLon[] = (coords ?? []).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])).map((p) => [p[1]!, p[0]!]);
  if (pts.length > 1) {
    const a = pts[0]!;
    const b = pts[pts.length - 1]!;
    if (a[0] === b[0] && a[1] === b[1]) pts.pop();
  }
  return pts;
}

/** The GeoJSON ring of the vertices: [lon, lat] each, closed (the first repeated at the end). */
export function closeRing(pts: readonly LatLon[]): number[][] {
  const ring = pts.map(([lat, lon]) => [round7(lon), round7(lat)]);
  if (ring.length) ring.push([...ring[0]!]);
  return ring;
}

/** Twice the signed area in degrees² (shoelace). */
export function signedArea2(pts: readonly LatLon[]): number {
  let s = 0;
  for (let i = 0; i < pts.length; i++) {
    const [y1, x1] = pts[i]!;
    const [y2, x2] = pts[(i + 1) % pts.length]!;
    s += x1 * y2 - x2 * y1;
  }
  return s;
}

function orient(a: LatLon, b: LatLon, c: LatLon): number {
  const v = (b[1] - a[1]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[1] - a[1]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(a: LatLon, b: LatLon, p: LatLon): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

export function segmentsCross(a: LatLon, b: LatLon, c: LatLon, d: LatLon): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (o1 === 0 && onSegment(a, b, c)) || (o2 === 0 && onSegment(a, b, d)) || (o3 === 0 && onSegment(c, d, a)) || (o4 === 0 && onSegment(c, d, b));
}

/** Why the vertices are no polygon the node takes, or null when they are one. Edge i runs from vertex i to i+1. */
export function polygonProblem(pts: readonly LatLon[]): string | null {
  if (pts.length < 3) return 'A fence needs at least 3 points: click the map.';
  if (pts.length > MAX_VERTICES) return `A fence has at most ${MAX_VERTICES} points.`;
  for (const [lat, lon] of pts) if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return 'A point is off the map (latitude −90…90, longitude −180…180).';
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[(i + 1) % pts.length]!;
    if (a[0] === b[0] && a[1] === b[1]) return `Points ${i + 1} and ${((i + 1) % pts.length) + 1} are the same.`;
  }
  const n = pts.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue; // neighbours share a vertex
      if (segmentsCross(pts[i]!, pts[(i + 1) % n]!, pts[j]!, pts[(j + 1) % n]!)) return `The edges ${i + 1}–${((i + 1) % n) + 1} and ${j + 1}–${((j + 1) % n) + 1} cross.`;
    }
  }
  if (Math.abs(signedArea2(pts)) < 1e-14) return 'The points enclose no area.';
  return null;
}

export interface FenceForm {
  name: string;
  group: string;
  kind: string;
  floor: string;
  ceiling: string;
  action: string;
}

export type FenceBodyResult = { ok: true; body: GeofenceBody } | { ok: false; field: string; message: string };

function altitude(text: string): number | null | undefined {
  if (text.trim() === '') return null;
  const v = Number(text);
  return Number.isFinite(v) && v >= -1000 && v <= 20000 ? v : undefined;
}

export function fenceBody(form: FenceForm, pts: readonly LatLon[]): FenceBodyResult {
  const name = form.name.trim();
  if (!name) return { ok: false, field: 'name', message: 'The fence needs a name.' };
  if (!form.group.trim()) return { ok: false, field: 'group', message: 'Choose a group.' };
  if (!(KINDS as readonly string[]).includes(form.kind)) return { ok: false, field: 'kind', message: 'Choose inclusion or exclusion.' };
  if (!(ACTIONS as readonly string[]).includes(form.action)) return { ok: false, field: 'action', message: 'Choose alert, rtl or land.' };
  const floor = altitude(form.floor);
  if (floor === undefined) return { ok: false, field: 'floor', message: 'The floor must be empty or metres from −1000 to 20000.' };
  const ceiling = altitude(form.ceiling);
  if (ceiling === undefined) return { ok: false, field: 'ceiling', message: 'The ceiling must be empty or metres from −1000 to 20000.' };
  if (floor !== null && ceiling !== null && !(floor < ceiling)) return { ok: false, field: 'ceiling', message: 'The ceiling must be above the floor.' };
  const problem = polygonProblem(pts);
  if (problem) return { ok: false, field: 'polygon', message: problem };
  return {
    ok: true,
    body: {
      name,
      group: form.group.trim(),
      kind: form.kind as GeofenceBody['kind'],
      polygon: { type: 'Polygon', coordinates: [closeRing(pts)] },
      floor,
      ceiling,
      action: form.action as GeofenceBody['action'],
    },
  };
}

/** The fence's form fields as text. */
export function fenceForm(g: Geofence | null, defaultGroup: string): FenceForm {
  return {
    name: g?.name ?? '',
    group: g?.group ?? defaultGroup,
    kind: g?.kind ?? 'exclusion',
    floor: typeof g?.floor === 'number' ? String(g.floor) : '',
    ceiling: typeof g?.ceiling === 'number' ? String(g.ceiling) : '',
    action: g?.action ?? 'alert',
  };
}
