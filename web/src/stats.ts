// The header's receive statistics over the last second: update frames and drone entries per second, and the p50/p95
// of the drone-to-operator latency (page clock at arrival minus the entry's ts).
import { latency } from './format';

/** The p-quantile (0 … 1) of ascending `sorted` values (nearest rank), or undefined when empty. */
function quantile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const MAX_SAMPLES = 50000; // a second of 10,000 drones at 5 Hz

export class RxStats {
  readonly latencies: number[] = [];
  private frames = 0;
  private entries = 0;
  /** The texts of the last full second; '–' when nothing was received (or the socket is down). */
  rate = '–';
  latency = '–';

  frame(entries: number): void {
    this.frames++;
    this.entries += entries;
  }

  /** Whether more latency samples are wanted this second (bounded: a burst cannot grow the array without end). */
  get wantsLatencies(): boolean {
    return this.latencies.length < MAX_SAMPLES;
  }

  /** Called once a second: turns the counts into the texts and starts a new second. */
  roll(live: boolean): void {
    if (live) {
      const sorted = Float64Array.from(this.latencies).sort();
      this.latency = sorted.length ? `${latency(quantile(sorted, 0.5))} / ${latency(quantile(sorted, 0.95))}` : '–';
      this.rate = `${this.frames} fr/s · ${this.entries} drones/s`;
    } else {
      this.latency = '–';
      this.rate = '–';
    }
    this.latencies.length = 0;
    this.frames = 0;
    this.entries = 0;
  }
}
