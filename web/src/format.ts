// Text for numbers, times and units. Pure functions: every value may be missing or malformed (it came from the
// network), and then the dash below is shown instead of "NaN", "undefined" or 1970.

export const DASH = '–';

/** A finite number (NaN and ±Infinity fail, as does anything that is not a number). */
export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function fixed(v: unknown, digits: number, unit = ''): string {
  if (!isNum(v)) return DASH;
  return unit ? `${v.toFixed(digits)} ${unit}` : v.toFixed(digits);
}

/** A duration in seconds, short: "42 s", "3m 05s", "2h 07m", "4d". */
export function duration(seconds: unknown): string {
  if (!isNum(seconds)) return DASH;
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function latency(ms: unknown): string {
  if (!isNum(ms)) return DASH;
  return Math.abs(ms) < 10000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local date and time to the second, "2026-11-30 14:05:09". */
export function dateTime(ms: unknown): string {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return DASH;
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** Local clock time, "14:05:09". */
export function clock(ms: unknown): string {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * "How long ago" for a node timestamp (ms), measured on the node's clock: `nodeNow` is the page clock plus the
 * offset learnt from the frames' server_time, so a skewed operator clock does not distort it. Null (a registered
 * drone that never connected) is "never"; a missing value is a dash.
 */
export function ago(at: number | null | undefined, nodeNow: number): string {
  if (at === null) return 'never';
  if (!isNum(at)) return DASH;
  return `${duration((nodeNow - at) / 1000)} ago`;
}

/**
 * Registry times are RFC 3339 text ("2026-11-26T10:00:00.000Z") or null. Null is "never" (the registry's
 * last_seen of a drone that never connected), never the epoch.
 */
export function isoDateTime(text: string | null | undefined): string {
  if (text === null) return 'never';
  if (typeof text !== 'string' || text === '') return DASH;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : dateTime(ms);
}

export function percent(v: unknown): string {
  return isNum(v) ? `${Math.round(v)} %` : DASH;
}

export function metres(m: unknown): string {
  if (!isNum(m)) return DASH;
  return Math.abs(m) >= 10000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

export function coord(v: unknown): string {
  return fixed(v, 6);
}

/** A value of unknown shape (registry metadata) as one line of text. */
export function anyValue(v: unknown): string {
  if (v === null || v === undefined) return DASH;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** `Retry-After`: delay-seconds or an HTTP date. Whole seconds, or null when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return parseInt(v, 10);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - now) / 1000));
}

/** A datetime-local input's value ("2026-11-30T14:05") for a page-clock time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}
