// The admin screens' pure logic: the audit filter → query string (docs/protocol.md, GET /api/v1/audit), the user
// form → request body (POST/PATCH /api/v1/users), the registration form → body (POST /api/v1/drones), and group
// lists typed as text. Unit-tested in adminModel.test.ts.

export const ROLES = ['viewer', 'analytics', 'operator', 'admin'] as const;
export const OUTCOMES = ['ok', 'refused', 'error'] as const;
const ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface AuditFilter {
  actor: string;
  action: string;
  drone: string;
  outcome: string;
  /** datetime-local text (the page's time zone), or ''. */
  from: string;
  to: string;
  limit: number;
}

/** The query of GET /api/v1/audit: empty fields left out, times as ms since the epoch, `before` for the next page. */
export function auditQuery(f: AuditFilter, before?: number | string | null): string {
  const p = new URLSearchParams();
  const put = (k: string, v: string): void => {
    const t = v.trim();
    if (t) p.set(k, t);
  };
  put('actor', f.actor);
  put('action', f.action);
  put('drone', f.drone);
  put('outcome', f.outcome);
  for (const k of ['from', 'to'] as const) {
    if (!f[k].trim()) continue;
    const ms = new Date(f[k]).getTime();
    if (!Number.isFinite(ms)) throw new Error(`The "${k}" time is not a date.`);
    p.set(k, String(ms));
  }
  if (f.from.trim() && f.to.trim() && new Date(f.from).getTime() >= new Date(f.to).getTime()) throw new Error('"from" must be before "to".');
  p.set('limit', String(Math.max(1, Math.min(1000, Math.floor(f.limit) || 100))));
  if (before !== undefined && before !== null && before !== '') p.set('before', String(before));
  return `?${p.toString()}`;
}

/** "a, b  c" → ["a","b","c"] (commas or spaces), each once, in order. */
export function parseGroups(text: string): string[] {
  const out: string[] = [];
  for (const g of text.split(/[\s,]+/)) if (g && !out.includes(g)) out.push(g);
  return out;
}

export type Result<T> = { ok: true; body: T } | { ok: false; field: string; message: string };

export interface NewUserForm {
  name: string;
  password: string;
  role: string;
  groups: string;
}

export function newUserBody(f: NewUserForm): Result<{ name: string; password: string; role: string; groups: string[] }> {
  const name = f.name.trim();
  if (!name) return { ok: false, field: 'name', message: 'The user needs a name.' };
  if (!f.password) return { ok: false, field: 'password', message: 'The user needs a password.' };
  if (!(ROLES as readonly string[]).includes(f.role)) return { ok: false, field: 'role', message: 'Choose a role.' };
  const groups = parseGroups(f.groups);
  const bad = groups.find((g) => !ID.test(g));
  if (bad) return { ok: false, field: 'groups', message: `"${bad}" is no group name (1–64 of A-Z a-z 0-9 _ . -).` };
  return { ok: true, body: { name, password: f.password, role: f.role, groups } };
}

/** PATCH body with only what changed (role, groups); null when nothing did. */
export function userChange(
  before: { role: string; groups: readonly string[] },
  role: string,
  groupsText: string,
): Result<{ role?: string; groups?: string[] }> | null {
  const groups = parseGroups(groupsText);
  const bad = groups.find((g) => !ID.test(g));
  if (bad) return { ok: false, field: 'groups', message: `"${bad}" is no group name.` };
  const body: { role?: string; groups?: string[] } = {};
  if (role !== before.role) body.role = role;
  if (groups.join('\u0000') !== before.groups.join('\u0000')) body.groups = groups;
  return Object.keys(body).length ? { ok: true, body } : null;
}

export interface RegisterForm {
  id: string;
  name: string;
  group: string;
  model: string;
  firmware: string;
}

export function registerBody(f: RegisterForm): Result<{ id: string; name?: string; group?: string; model?: string; firmware?: string }> {
  const id = f.id.trim();
  if (!ID.test(id) || id === '.' || id === '..') return { ok: false, field: 'id', message: 'The id is 1–64 characters of A-Z a-z 0-9 _ . - (not "." or "..").' };
  const body: { id: string; name?: string; group?: string; model?: string; firmware?: string } = { id };
  const group = f.group.trim();
  if (group) {
    if (!ID.test(group)) return { ok: false, field: 'group', message: 'The group is 1–64 characters of A-Z a-z 0-9 _ . -.' };
    body.group = group;
  }
  for (const k of ['name', 'model', 'firmware'] as const) {
    const v = f[k].trim();
    if (v) body[k] = v;
  }
  return { ok: true, body };
}
