// The short trail behind each drone on the map: its last positions, at most one a second, in a fixed ring so that
// 10,000 drones cost a bounded amount of memory (capacity × 3 numbers each) whatever they do.

const TRAIL_POINTS = 30;
export const TRAIL_MIN_INTERVAL_MS = 1000;

export class Trail {
  private readonly data: Float64Array; // lat, lon, t per point
  private start = 0;
  private size = 0;

  constructor(readonly capacity = TRAIL_POINTS) {
    this.data = new Float64Array(capacity * 3);
  }

  get length(): number {
    return this.size;
  }

  /**
   * Adds a position seen at `t` (ms). A position less than the minimum interval after the newest point is left out
   * (the drone's marker itself shows where it is now); a position older than the newest one (a reordered frame) too.
   * Answers whether the point was added.
   */
  push(lat: number, lon: number, t: number): boolean {
    if (this.size > 0) {
      const newest = this.index(this.size - 1);
      if (t - this.data[newest + 2]! < TRAIL_MIN_INTERVAL_MS) return false;
    }
    let slot: number;
    if (this.size < this.capacity) {
      slot = this.index(this.size);
      this.size++;
    } else {
      slot = this.start * 3;
      this.start = (this.start + 1) % this.capacity;
    }
    this.data[slot] = lat;
    this.data[slot + 1] = lon;
    this.data[slot + 2] = t;
    return true;
  }

  /** The newest point's latitude (NaN when empty). */
  newestLat(): number {
    return this.size > 0 ? this.data[this.index(this.size - 1)]! : NaN;
  }

  /** The newest point's longitude (NaN when empty). */
  newestLon(): number {
    return this.size > 0 ? this.data[this.index(this.size - 1) + 1]! : NaN;
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
  }

  /** Visits the points oldest first. */
  forEach(fn: (lat: number, lon: number, t: number) => void): void {
    for (let i = 0; i < this.size; i++) {
      const k = this.index(i);
      fn(this.data[k]!, this.data[k + 1]!, this.data[k + 2]!);
    }
  }

  private index(i: number): number {
    return ((this.start + i) % this.capacity) * 3;
  }
}
