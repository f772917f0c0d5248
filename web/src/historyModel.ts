// The pure side of history replay: which bucket a range needs, the track's points and times, the sample nearest a
// moment. Tested in historyModel.test.ts.
import { isNum } from './format';
import type { TrackCollection } from './types';

/** The node's limit of one history request (docs/protocol.md, "Telemetry history"). */
const MAX_RANGE_MS = 31 * 24 * 3600 * 1000;
/** Rows per answer at most (history.max_rows, default 10,000). */
export const MAX_ROWS = 10000;

/** Bucket widths the node takes (`<n>s|m|h|d`, 1s … 1d), in ms, finest first. */
const BUCKETS: readonly [string, number][] = [
  ['1s', 1000],
  ['10s', 10000],
  ['30s', 30000],
  ['1m', 60000],
  ['5m', 300000],
  ['10m', 600000],
  ['30m', 1800000],
  ['1h', 3600000],
  ['6h', 21600000],
  ['1d', 86400000],
];

/** Raw samples up to this range, beyond it buckets: 16 minutes of a drone sending 10 frames a second fit one answer. */
const RAW_UP_TO_MS = 16 * 60 * 1000;
/** Buckets are chosen so that a range gives at most about this many rows. */
const TARGET_ROWS = 3000;

/** The `bucket` for a range: undefined (raw rows) for short ranges, else the finest width giving ≤ TARGET_ROWS rows. */
export function pickBucket(rangeMs: number): string | undefined {
  if (rangeMs <= RAW_UP_TO_MS) return undefined;
  for (const [name, ms] of BUCKETS) if (rangeMs / ms <= TARGET_ROWS) return name;
  return '1d';
}

/** What is wrong with a range, or null when the node will take it. */
export function rangeProblem(from: number, to: number): string | null {
  if (!isNum(from) || !isNum(to)) return 'Enter a start and an end.';
  if (from >= to) return 'The start must be before the end.';
  if (to - from > MAX_RANGE_MS) return 'A range may span at most 31 days.';
  return null;
}

export interface Track {
  /** [lat, lon] per point, in time order. */
  points: [number, number][];
  /** ms, the time of each point. */
  times: number[];
  /** The node sampled a longer history evenly (`samples` > `points`). */
  sampled: boolean;
  samples: number;
}

/** The track route's GeoJSON as points and times (RFC 7946: a Point for one sample, null for none). */
export function parseTrack(fc: TrackCollection | null | undefined): Track {
  const empty: Track = { points: [], times: [], sampled: false, samples: 0 };
  const f = fc?.features?.[0];
  if (!f || !f.geometry) return empty;
  const coords = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
  const times = Array.isArray(f.properties?.times) ? f.properties.times : [];
  const out: Track = { points: [], times: [], sampled: f.properties?.sampled === true, samples: f.properties?.samples ?? 0 };
  coords.forEach((c, i) => {
    const t = times[i];
    if (isNum(c[0]) && isNum(c[1]) && isNum(t)) {
      out.points.push([c[1], c[0]]); // GeoJSON is [lon, lat(, alt)]
      out.times.push(t);
    }
  });
  return out;
}

/** The index of the value in ascending `sorted` nearest to `t`, or -1 when empty. */
export function nearestIndex(sorted: readonly number[], t: number): number {
  const n = sorted.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(sorted[lo - 1]! - t) <= Math.abs(sorted[lo]! - t)) return lo - 1;
  return lo;
}

/** The file name of an export, e.g. "sim-00001_20261130-1400_20261130-1500.csv" (local time). */
export function csvFileName(droneId: string, from: number, to: number): string {
  const stamp = (ms: number): string => {
    const d = new Date(ms);
    const p = (n: number): string => String(n).padStart(2, '0');
    return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
  };
  return `${droneId.replace(/[^A-Za-z0-9_.-]/g, '_')}_${stamp(from)}_${stamp(to)}.csv`;
}
