// Alarms (docs/protocol.md, "Alarms"): the open ones loaded at login and kept current by `alarm` frames, plus the
// history the alarms page asks for. Filters and order are pure functions, tested in alarmModel.test.ts.
import { Emitter } from './events';
import type { Alarm } from './types';

/** Closed (cleared) alarms kept at most; open ones are always kept. */
const MAX_CLEARED = 2000;

const STATE_RANK: Record<string, number> = { active: 0, acknowledged: 1, cleared: 2 };

export type AlarmStateFilter = 'open' | 'active' | 'acknowledged' | 'cleared' | 'all';

export interface AlarmFilter {
  state: AlarmStateFilter;
  severity: '' | 'warning' | 'critical';
  kind: string;
  /** A substring of the drone id, case-insensitive. */
  drone: string;
}

function isOpen(a: Alarm): boolean {
  return a.state !== 'cleared';
}

/** Whether `next` is news about `old`: newer, or as new and further along (active → acknowledged → cleared). */
export function isNewerAlarm(old: Alarm, next: Alarm): boolean {
  if (next.updated_at !== old.updated_at) return next.updated_at > old.updated_at;
  return (STATE_RANK[next.state] ?? 0) >= (STATE_RANK[old.state] ?? 0) && (next.count ?? 0) >= (old.count ?? 0);
}

export function matches(a: Alarm, f: AlarmFilter): boolean {
  if (f.state === 'open' ? !isOpen(a) : f.state !== 'all' && a.state !== f.state) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.kind && a.kind !== f.kind) return false;
  return !f.drone || a.drone_id.toLowerCase().includes(f.drone.toLowerCase());
}

/** Newest raised first; critical before warning at the same instant. */
function compareAlarms(a: Alarm, b: Alarm): number {
  return b.raised_at - a.raised_at || (a.severity === 'critical' ? -1 : 0) - (b.severity === 'critical' ? -1 : 0);
}

export class AlarmBook {
  private readonly byId = new Map<string, Alarm>();
  version = 0;
  readonly changed = new Emitter();

  apply(a: Alarm): void {
    const old = this.byId.get(a.id);
    if (old && !isNewerAlarm(old, a)) return;
    const { type: _frameType, ...alarm } = a as Alarm & { type?: string };
    this.byId.set(a.id, alarm);
    if (!old && !isOpen(a)) this.evictCleared();
    this.version++;
    this.changed.emit();
  }

  applyAll(list: readonly Alarm[]): void {
    for (const a of list) this.apply(a);
  }

  /**
   * The node's complete list of open alarms (after a reconnect): an open alarm it no longer lists was cleared, or
   * left the user's sight, while the socket was down, and goes.
   */
  replaceOpen(list: readonly Alarm[]): void {
    const listed = new Set(list.map((a) => a.id));
    for (const [id, a] of this.byId) if (isOpen(a) && !listed.has(id)) this.byId.delete(id);
    this.version++;
    this.applyAll(list);
    this.changed.emit();
  }

  list(f: AlarmFilter): Alarm[] {
    const out: Alarm[] = [];
    for (const a of this.byId.values()) if (matches(a, f)) out.push(a);
    return out.sort(compareAlarms);
  }

  /** Active (not acknowledged) alarms, and how many of them are critical: the header's badge. */
  activeCounts(): { active: number; critical: number } {
    let active = 0;
    let critical = 0;
    for (const a of this.byId.values()) {
      if (a.state !== 'active') continue;
      active++;
      if (a.severity === 'critical') critical++;
    }
    return { active, critical };
  }

  kinds(): string[] {
    return [...new Set([...this.byId.values()].map((a) => a.kind))].sort();
  }

  clear(): void {
    this.byId.clear();
    this.version++;
    this.changed.emit();
  }

  private evictCleared(): void {
    const cleared = [...this.byId.values()].filter((a) => !isOpen(a));
    if (cleared.length <= MAX_CLEARED) return;
    cleared.sort((a, b) => a.updated_at - b.updated_at);
    for (const a of cleared.slice(0, cleared.length - MAX_CLEARED)) this.byId.delete(a.id);
  }
}
