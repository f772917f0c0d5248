// The fleet table's logic without the DOM: its columns, the filter, the sort that finds the first N rows of 10,000
// drones without sorting all of them by comparator, and the user's column choice. Tested in tableModel.test.ts.
import * as fmt from './format';
import { isNum } from './format';
import type { DroneEntry } from './store';
import type { RegistryEntry } from './types';

export interface RowContext {
  /** Node clock now (ms): "last seen" ages. */
  nodeNow: number;
  registry: ReadonlyMap<string, RegistryEntry>;
}

type SortKind =
  | 'text' // strings, compared by the collator
  | 'number' // any number
  | 'rank'; // small integers (status, armed): sorted natively, ties kept in id order

export interface Column {
  key: string;
  label: string;
  /** Minimum width in px (the header never wraps below it). */
  width: number;
  numeric?: boolean;
  sort: SortKind;
  /** The sort key; undefined (missing) always sorts last. */
  value(e: DroneEntry, ctx: RowContext): string | number | undefined;
  /** The cell text. The status and battery cells are drawn specially by table.ts around this text. */
  text(e: DroneEntry, ctx: RowContext): string;
  /** Shown until the user chooses otherwise. */
  standard: boolean;
}

const STATUS_RANK: Record<string, number> = { online: 0, stale: 1, lost: 2 };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (isNum(v) ? v : undefined);

/** The registry's name of a drone, if it has one. */
function nameOf(id: string, registry: ReadonlyMap<string, RegistryEntry>): string | undefined {
  return str(registry.get(id)?.name);
}

/** Live `model`/`fw` from the drone's hello, else the registry's (a registered drone not connected now). */
function modelOf(e: DroneEntry, ctx: RowContext): string | undefined {
  return str(e.drone.model) ?? str(ctx.registry.get(e.drone.id)?.model);
}

function firmwareOf(e: DroneEntry, ctx: RowContext): string | undefined {
  return str(e.drone.fw) ?? str(ctx.registry.get(e.drone.id)?.firmware);
}

function numberColumn(key: string, label: string, width: number, digits: number, standard: boolean, pick: (e: DroneEntry) => unknown): Column {
  return {
    key,
    label,
    width,
    numeric: true,
    sort: 'number',
    standard,
    value: (e) => num(pick(e)),
    text: (e) => fmt.fixed(pick(e), digits),
  };
}

export const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'id', width: 120, sort: 'text', standard: true, value: (e) => e.drone.id, text: (e) => e.drone.id },
  {
    key: 'name',
    label: 'name',
    width: 110,
    sort: 'text',
    standard: true,
    value: (e, c) => nameOf(e.drone.id, c.registry),
    text: (e, c) => nameOf(e.drone.id, c.registry) ?? fmt.DASH,
  },
  { key: 'group', label: 'group', width: 90, sort: 'text', standard: true, value: (e) => str(e.drone.group), text: (e) => str(e.drone.group) ?? fmt.DASH },
  {
    key: 'status',
    label: 'status',
    width: 72,
    sort: 'rank',
    standard: true,
    value: (e) => STATUS_RANK[e.drone.status ?? ''] ?? 3,
    text: (e) => str(e.drone.status) ?? '?',
  },
  { key: 'mode', label: 'mode', width: 80, sort: 'text', standard: true, value: (e) => str(e.drone.mode), text: (e) => str(e.drone.mode) ?? fmt.DASH },
  {
    key: 'armed',
    label: 'armed',
    width: 58,
    sort: 'rank',
    standard: true,
    value: (e) => (typeof e.drone.armed === 'boolean' ? Number(e.drone.armed) : undefined),
    text: (e) => (typeof e.drone.armed === 'boolean' ? (e.drone.armed ? 'yes' : 'no') : fmt.DASH),
  },
  {
    key: 'battery',
    label: 'battery',
    width: 104,
    numeric: true,
    sort: 'number',
    standard: true,
    value: (e) => num(e.drone.battery),
    text: (e) => fmt.percent(e.drone.battery),
  },
  numberColumn('alt', 'alt m', 64, 1, true, (e) => e.drone.alt),
  numberColumn('speed', 'speed m/s', 82, 1, true, (e) => e.drone.speed),
  numberColumn('vspeed', 'vspeed m/s', 88, 1, false, (e) => e.drone.vspeed),
  numberColumn('heading', 'hdg °', 56, 0, true, (e) => e.drone.heading),
  numberColumn('lat', 'lat', 92, 6, true, (e) => e.drone.lat),
  numberColumn('lon', 'lon', 92, 6, true, (e) => e.drone.lon),
  numberColumn('sats', 'sats', 50, 0, false, (e) => e.drone.sats),
  numberColumn('fix', 'fix', 42, 0, false, (e) => e.drone.fix),
  numberColumn('voltage', 'volt V', 62, 2, false, (e) => e.drone.voltage),
  { key: 'model', label: 'model', width: 80, sort: 'text', standard: false, value: modelOf, text: (e, c) => modelOf(e, c) ?? fmt.DASH },
  { key: 'fw', label: 'fw', width: 70, sort: 'text', standard: false, value: firmwareOf, text: (e, c) => firmwareOf(e, c) ?? fmt.DASH },
  {
    key: 'last_seen',
    label: 'last seen',
    width: 82,
    numeric: true,
    sort: 'number',
    standard: true,
    // Ascending "last seen" is the most recently seen first; never seen (null) sorts last like a missing value.
    value: (e) => (isNum(e.drone.last_seen) ? -e.drone.last_seen : undefined),
    text: (e, c) => (e.drone.last_seen === undefined ? fmt.DASH : fmt.ago(e.drone.last_seen, c.nodeNow)),
  },
  {
    key: 'latency',
    label: 'latency',
    width: 70,
    numeric: true,
    sort: 'number',
    standard: true,
    value: (e) => e.latency,
    text: (e) => fmt.latency(e.latency),
  },
  {
    key: 'connected',
    label: 'link',
    width: 52,
    sort: 'rank',
    standard: false,
    value: (e) => (typeof e.drone.connected === 'boolean' ? Number(!e.drone.connected) : undefined),
    text: (e) => (typeof e.drone.connected === 'boolean' ? (e.drone.connected ? 'up' : 'down') : fmt.DASH),
  },
];

export const COLUMN_BY_KEY: ReadonlyMap<string, Column> = new Map(COLUMNS.map((c) => [c.key, c]));

// ---- filter

export interface TableFilter {
  /** Lower-case text matched as a substring of the id, the registry name or the group. */
  text: string;
  /** One group, or '' for all. */
  group: string;
  /** 'online' | 'stale' | 'lost', or '' for all. */
  status: string;
}

export function isFiltering(f: TableFilter): boolean {
  return f.text !== '' || f.group !== '' || f.status !== '';
}

export function rowMatches(e: DroneEntry, f: TableFilter, registry: ReadonlyMap<string, RegistryEntry>): boolean {
  const d = e.drone;
  if (f.group && d.group !== f.group) return false;
  if (f.status && d.status !== f.status) return false;
  if (!f.text) return true;
  if (d.id.toLowerCase().includes(f.text)) return true;
  if (typeof d.group === 'string' && d.group.toLowerCase().includes(f.text)) return true;
  const name = nameOf(d.id, registry);
  return name !== undefined && name.toLowerCase().includes(f.text);
}

// ---- order

export const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * The first `limit` of `ids` (given in natural id order) sorted by `col` in direction `dir` (1 or -1), missing values
 * last, ties in id order.
 */
export function topRows(
  ids: readonly string[],
  col: Column,
  dir: 1 | -1,
  limit: number,
  get: (id: string) => DroneEntry | undefined,
  ctx: RowContext,
): string[] {
  const n = ids.length;
  const count = Math.min(limit, n);
  if (col.key === 'id') return dir > 0 ? ids.slice(0, count) : ids.slice(n - count).reverse();
  let order: ArrayLike<number>;
  if (col.sort === 'text') {
    order = sortText(ids, col, dir, get, ctx);
  } else {
    // Numbers go into a Float64Array (missing = NaN). Small ranks are made unique as rank·n + index, so the native
    // (comparator-free) typed-array sort already gives the final order.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const e = get(ids[i]!);
      const v = e ? col.value(e, ctx) : undefined;
      keys[i] = typeof v !== 'number' ? NaN : col.sort === 'rank' ? dir * v * n + i : dir * v;
    }
    order = topIndices(keys, count);
  }
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = ids[order[i]!]!;
  return out;
}

/**
 * Indices of the `limit` smallest keys in ascending order, NaN (missing) last, ties by index. Only the candidates up
 * to the limit-th smallest key are sorted with a comparator, so sorting 10,000 drones to show 200 costs one native
 * Float64Array sort plus a small comparator sort.
 */
export function topIndices(keys: Float64Array, limit: number): number[] {
  const n = keys.length;
  const threshold = limit > 0 && limit < n ? keys.slice().sort()[limit - 1]! : NaN; // a typed sort puts NaN last
  let cand: number[];
  if (!Number.isNaN(threshold)) {
    cand = [];
    for (let i = 0; i < n; i++) if (keys[i]! <= threshold) cand.push(i);
  } else {
    cand = Array.from({ length: n }, (_, i) => i);
  }
  cand.sort((a, b) => {
    const ka = keys[a]!;
    const kb = keys[b]!;
    const na = Number.isNaN(ka);
    const nb = Number.isNaN(kb);
    if (na || nb) return na && nb ? a - b : na ? 1 : -1;
    return ka - kb || a - b;
  });
  return cand.slice(0, limit);
}

function sortText(
  ids: readonly string[],
  col: Column,
  dir: 1 | -1,
  get: (id: string) => DroneEntry | undefined,
  ctx: RowContext,
): Uint32Array {
  const n = ids.length;
  const keys = new Array<string | undefined>(n);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const e = get(ids[i]!);
    const v = e ? col.value(e, ctx) : undefined;
    keys[i] = typeof v === 'string' ? v : undefined;
    idx[i] = i;
  }
  return idx.sort((a, b) => {
    const ka = keys[a];
    const kb = keys[b];
    if (ka === undefined || kb === undefined) return ka === kb ? a - b : ka === undefined ? 1 : -1;
    return dir * collator.compare(ka, kb) || a - b;
  });
}

// ---- the user's columns (localStorage)

export const COLUMNS_KEY = 'dccs.dashboard.columns';

export function standardColumns(): string[] {
  return COLUMNS.filter((c) => c.standard).map((c) => c.key);
}

/**
 * The stored column choice: known keys only, in the table's order, the id column always first. Anything unreadable
 * gives the standard set.
 */
export function parseColumns(raw: string | null): string[] {
  if (!raw) return standardColumns();
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return standardColumns();
  }
  if (!Array.isArray(v)) return standardColumns();
  const chosen = new Set(v.filter((k): k is string => typeof k === 'string' && COLUMN_BY_KEY.has(k)));
  chosen.add('id');
  return COLUMNS.filter((c) => chosen.has(c.key)).map((c) => c.key);
}

export function serializeColumns(keys: readonly string[]): string {
  return JSON.stringify(keys);
}
