// The drones this user sees, as the operator socket tells them (snapshot, update, status, remove frames) plus the
// registry's names. Frames only change this store and bump its versions; views compare the versions they last drew
// once per animation frame (frame.ts), so 10,000 drones × 5 Hz cost one render per frame, not one per frame received.
import { Emitter } from './events';
import { isNum } from './format';
import { Trail } from './trail';
import type { Drone, RegistryEntry, RestDrone } from './types';

export interface DroneEntry {
  /** The newest state: each update entry replaces the drone's whole state (docs/protocol.md, "update"). */
  drone: Drone;
  /** Drone-to-operator latency at arrival: page clock minus the drone's `ts` (docs/protocol.md). */
  latency: number | undefined;
  trail: Trail;
  /** Known from the REST list only (registered, not live on the node): replaced by the first frame about it. */
  restOnly: boolean;
}

export interface StatusCounts {
  total: number;
  online: number;
  stale: number;
  lost: number;
}

export class DroneStore {
  readonly entries = new Map<string, DroneEntry>();
  /** Registry objects by id (names, home, metadata), from GET /api/v1/drones. */
  readonly registry = new Map<string, RegistryEntry>();
  /** Bumped by any change of any drone. */
  version = 0;
  /** Bumped when ids come or go (the table re-sorts from scratch). */
  membership = 0;
  /** Bumped when a trail got a point (at most once a second per drone): the map draws trails again at most that often. */
  trailVersion = 0;
  /** Bumped when the set of group names changes (the group filter's options). */
  groupsVersion = 0;
  /** Node clock minus page clock (ms), from the newest server_time: "last seen" is measured on the node's clock. */
  clockOffset = 0;
  /** Any change: main.ts asks for one animation frame. */
  readonly changed = new Emitter();
  /** Each drone state received (live charts record the drones they follow). */
  readonly received = new Emitter<Drone>();

  private readonly groupCounts = new Map<string, number>();
  /**
   * Bumped when a drone's status changes or drones come or go: what the counts depend on. Updates that change only
   * telemetry (nearly all of them) leave it, so counting 10,000 drones is not redone at every frame.
   */
  private statusVersion = 0;
  private countsCache: { version: number; counts: StatusCounts } | null = null;
  /** The REST list's drones the snapshot did not name: kept across snapshots until a frame speaks of them. */
  private restDrones: RestDrone[] = [];

  get(id: string): DroneEntry | undefined {
    return this.entries.get(id);
  }

  groups(): string[] {
    return [...this.groupCounts.keys()];
  }

  /** The node clock now, as best known (page clock plus the offset). */
  nodeNow(pageNow = Date.now()): number {
    return pageNow + this.clockOffset;
  }

  noteServerTime(serverTime: unknown, pageNow: number): void {
    if (isNum(serverTime)) this.clockOffset = serverTime - pageNow;
  }

  /** Every drone the node knows for this user: replaces all live state. */
  snapshot(drones: readonly unknown[], now: number): void {
    this.entries.clear();
    this.groupCounts.clear();
    for (const d of drones) this.apply(d, now);
    this.addRestOnly();
    this.membership++;
    this.groupsVersion++;
    this.touch();
  }

  /** Drones that changed; the latency of each entry that carried a `ts` goes into `latencies` (the header's p50/p95). */
  update(drones: readonly unknown[], now: number, latencies?: number[]): void {
    for (const d of drones) {
      const e = this.apply(d, now);
      if (latencies && e?.latency !== undefined) latencies.push(e.latency);
    }
    this.touch();
  }

  status(events: readonly unknown[]): void {
    for (const ev of events) {
      if (!ev || typeof ev !== 'object') continue;
      const { drone_id: id, status } = ev as { drone_id?: unknown; status?: unknown };
      if (typeof id !== 'string' || typeof status !== 'string') continue;
      const e = this.entries.get(id);
      if (e) {
        if (e.drone.status !== status) this.statusVersion++;
        e.drone = { ...e.drone, status };
      } else {
        this.insert({ id, status }, undefined, false);
        this.membership++;
      }
    }
    this.touch();
  }

  /** Drones this user may no longer see (moved to a group they do not reach, or deleted): forget them. */
  remove(ids: readonly unknown[]): void {
    for (const id of ids) {
      if (typeof id !== 'string') continue;
      const e = this.entries.get(id);
      if (!e) continue;
      this.countGroup(e.drone.group, -1);
      this.entries.delete(id);
      this.registry.delete(id);
      this.restDrones = this.restDrones.filter((d) => d.id !== id);
    }
    this.membership++;
    this.touch();
  }

  /**
   * The REST list (GET /api/v1/drones): the registry's names for every drone, and the registered drones the node is
   * not serving (gone for longer than drone.passivate_after_s, or never connected), shown as the list says.
   */
  setRestList(list: readonly RestDrone[]): void {
    this.registry.clear();
    for (const d of list) if (d.registry) this.registry.set(d.id, d.registry);
    // Entries of the previous list are dropped and made again from this one (a deleted drone is gone from it).
    for (const [id, e] of this.entries) {
      if (!e.restOnly) continue;
      this.countGroup(e.drone.group, -1);
      this.entries.delete(id);
    }
    this.restDrones = list.filter((d) => !this.entries.has(d.id));
    this.addRestOnly();
    this.membership++;
    this.touch();
  }

  reset(): void {
    this.entries.clear();
    this.registry.clear();
    this.groupCounts.clear();
    this.restDrones = [];
    this.clockOffset = 0;
    this.membership++;
    this.groupsVersion++;
    this.touch();
  }

  counts(): StatusCounts {
    const version = this.statusVersion + this.membership; // both only grow
    if (this.countsCache?.version === version) return this.countsCache.counts;
    const c: StatusCounts = { total: this.entries.size, online: 0, stale: 0, lost: 0 };
    for (const { drone } of this.entries.values()) {
      if (drone.status === 'online') c.online++;
      else if (drone.status === 'stale') c.stale++;
      else if (drone.status === 'lost') c.lost++;
    }
    this.countsCache = { version, counts: c };
    return c;
  }

  private addRestOnly(): void {
    for (const d of this.restDrones) if (!this.entries.has(d.id)) this.insert(d, undefined, true);
  }

  private apply(raw: unknown, now: number): DroneEntry | undefined {
    if (!raw || typeof raw !== 'object' || typeof (raw as Drone).id !== 'string') return undefined;
    const d = raw as Drone;
    const latency = isNum(d.ts) ? now - d.ts : undefined;
    const old = this.entries.get(d.id);
    let entry: DroneEntry;
    if (!old) {
      entry = this.insert(d, latency, false);
      this.membership++;
    } else {
      if (old.drone.group !== d.group) {
        this.countGroup(old.drone.group, -1);
        this.countGroup(d.group, 1);
      }
      if (old.drone.status !== d.status) this.statusVersion++;
      old.drone = d;
      old.latency = latency;
      old.restOnly = false;
      entry = old;
    }
    if (isNum(d.lat) && isNum(d.lon) && entry.trail.push(d.lat, d.lon, isNum(d.ts) ? d.ts : now)) this.trailVersion++;
    this.received.emit(d);
    return entry;
  }

  private insert(d: Drone, latency: number | undefined, restOnly: boolean): DroneEntry {
    const entry: DroneEntry = { drone: d, latency, trail: new Trail(), restOnly };
    this.entries.set(d.id, entry);
    this.countGroup(d.group, 1);
    return entry;
  }

  private countGroup(g: string | undefined, delta: number): void {
    if (typeof g !== 'string' || g === '') return;
    const n = (this.groupCounts.get(g) ?? 0) + delta;
    if (n > 0) {
      if (!this.groupCounts.has(g)) this.groupsVersion++;
      this.groupCounts.set(g, n);
    } else if (this.groupCounts.delete(g)) {
      this.groupsVersion++;
    }
  }

  private touch(): void {
    this.version++;
    this.changed.emit();
  }
}
