// The live charts' data: a bounded ring of samples per drone whose detail was opened (the last few, so that going
// back to a drone shows what it did meanwhile), seeded from the stored history when opened. Recording every drone
// would cost 10,000 rings; recording only watched ones costs a handful.
import { isNum } from './format';
import { SeriesRing } from './ring';
import type { Drone, TelemetryRow } from './types';

const CHART_KEYS = ['t', 'alt', 'speed', 'battery', 'latency'] as const;
export type ChartKey = (typeof CHART_KEYS)[number];

/** Samples per drone: two minutes at the node's highest rate to an operator (hub.rate, 10/s). */
export const RING_SIZE = 1200;
/** Drones recorded at once; opening another forgets the least recently opened. */
const MAX_WATCHED = 8;

export interface Recording {
  ring: SeriesRing<ChartKey>;
  /** Bumped by every sample: the charts redraw when it moved. */
  version: number;
}

type Sample = Partial<Record<ChartKey, number>>;

/** A live drone state as a chart sample: t in seconds (uPlot's time unit), latency drone → node (recv − ts). */
function sampleOfDrone(d: Drone): Sample | null {
  if (!isNum(d.ts)) return null;
  return {
    t: d.ts / 1000,
    alt: d.alt,
    speed: d.speed,
    battery: d.battery,
    latency: isNum(d.recv) ? d.recv - d.ts : undefined,
  };
}

/** A stored telemetry row (raw or bucketed) as a chart sample. */
function sampleOfRow(r: TelemetryRow): Sample | null {
  if (!isNum(r.ts)) return null;
  const received = r.received ? Date.parse(r.received) : NaN;
  return {
    t: r.ts / 1000,
    alt: r.alt,
    speed: r.speed,
    battery: r.battery,
    latency: Number.isNaN(received) ? undefined : received - r.ts,
  };
}

export class Recorder {
  private readonly watched = new Map<string, Recording>(); // insertion order = least recently opened first

  /** Starts (or goes on) recording a drone; returns its recording. */
  watch(id: string): Recording {
    let r = this.watched.get(id);
    if (r) {
      this.watched.delete(id); // move to the most recent end
    } else {
      r = { ring: new SeriesRing(RING_SIZE, CHART_KEYS), version: 0 };
      if (this.watched.size >= MAX_WATCHED) this.watched.delete(this.watched.keys().next().value!);
    }
    this.watched.set(id, r);
    return r;
  }

  /** Every drone state received: appended when the drone is watched and the sample is newer than the last. */
  record(d: Drone): void {
    const r = this.watched.get(d.id);
    if (!r) return;
    const s = sampleOfDrone(d);
    if (!s || s.t! <= (r.ring.last('t') ?? -Infinity)) return;
    r.ring.push(s);
    r.version++;
  }

  /**
   * Fills a recording with stored rows: the history before the first live sample, then the live samples, in time
   * order (the history answer may come after the first live samples).
   */
  seed(id: string, rows: readonly TelemetryRow[]): void {
    const r = this.watched.get(id);
    if (!r) return;
    const live = r.ring.length > 0 ? r.ring.column('t') : [];
    const firstLive = (live[0] as number | undefined) ?? Infinity;
    const samples: Sample[] = [];
    for (const row of rows) {
      const s = sampleOfRow(row);
      if (s && s.t! < firstLive) samples.push(s);
    }
    if (samples.length === 0) return;
    samples.sort((a, b) => a.t! - b.t!);
    const columns = Object.fromEntries(CHART_KEYS.map((k) => [k, r.ring.column(k)])) as Record<ChartKey, (number | null)[]>;
    for (let i = 0; i < live.length; i++) {
      samples.push(Object.fromEntries(CHART_KEYS.map((k) => [k, columns[k][i] ?? undefined])) as Sample);
    }
    r.ring.clear();
    for (const s of samples.slice(-RING_SIZE)) r.ring.push(s);
    r.version++;
  }

  clear(): void {
    this.watched.clear();
  }
}
