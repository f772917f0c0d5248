// A bounded ring of samples with a fixed set of numeric columns: the live charts keep the last N telemetry values
// of a drone without growing. Reading gives plain arrays in time order, the shape uPlot takes.

export class SeriesRing<K extends string> {
  private readonly columns: Record<K, Float64Array>;
  private start = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly keys: readonly K[],
  ) {
    this.columns = Object.fromEntries(keys.map((k) => [k, new Float64Array(capacity)])) as Record<K, Float64Array>;
  }

  get length(): number {
    return this.size;
  }

  /** Appends one sample; a missing value is stored as NaN (a gap in the chart). The oldest sample is dropped when full. */
  push(sample: Readonly<Partial<Record<K, number>>>): void {
    let slot: number;
    if (this.size < this.capacity) {
      slot = (this.start + this.size) % this.capacity;
      this.size++;
    } else {
      slot = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    for (const k of this.keys) this.columns[k][slot] = sample[k] ?? NaN;
  }

  /** The newest value of a column, or undefined when empty. */
  last(key: K): number | undefined {
    if (this.size === 0) return undefined;
    return this.columns[key][(this.start + this.size - 1) % this.capacity];
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
  }

  /** One column, oldest first; NaN becomes null (uPlot's gap). */
  column(key: K): (number | null)[] {
    const src = this.columns[key];
    const out = new Array<number | null>(this.size);
    for (let i = 0; i < this.size; i++) {
      const v = src[(this.start + i) % this.capacity]!;
      out[i] = Number.isNaN(v) ? null : v;
    }
    return out;
  }
}
