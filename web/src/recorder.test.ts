import { describe, expect, it } from 'vitest';
import { Recorder, RING_SIZE } from './recorder';
import type { TelemetryRow } from './types';

const T0 = 1_800_000_000_000;
const row = (ts: number, alt: number): TelemetryRow => ({ time: new Date(ts).toISOString(), ts, alt, received: new Date(ts + 15).toISOString() });

describe('Recorder', () => {
  it('records watched drones only, in time order', () => {
    const r = new Recorder();
    const rec = r.watch('a');
    r.record({ id: 'a', ts: T0, alt: 10, recv: T0 + 5 });
    r.record({ id: 'b', ts: T0, alt: 99 });
    r.record({ id: 'a', ts: T0 - 1000, alt: 11 }); // older than the newest: left out
    r.record({ id: 'a', ts: T0 + 1000, alt: 12 });
    expect(rec.ring.column('alt')).toEqual([10, 12]);
    expect(rec.ring.column('latency')).toEqual([5, null]);
    expect(rec.ring.column('t')).toEqual([T0 / 1000, T0 / 1000 + 1]);
  });

  it('puts stored history before the live samples that came first', () => {
    const r = new Recorder();
    const rec = r.watch('a');
    r.record({ id: 'a', ts: T0 + 3000, alt: 30 });
    r.seed('a', [row(T0 + 2000, 20), row(T0, 0), row(T0 + 3000, 99), row(T0 + 1000, 10)]);
    expect(rec.ring.column('alt')).toEqual([0, 10, 20, 30]);
    expect(rec.ring.column('latency')).toEqual([15, 15, 15, null]);
  });

  it('keeps the newest samples when the history is longer than the ring', () => {
    const r = new Recorder();
    const rec = r.watch('a');
    r.seed('a', Array.from({ length: RING_SIZE + 10 }, (_, i) => row(T0 + i, i)));
    expect(rec.ring.length).toBe(RING_SIZE);
    expect(rec.ring.last('alt')).toBe(RING_SIZE + 9);
  });

  it('forgets the least recently opened drone beyond its bound', () => {
    const r = new Recorder();
    const first = r.watch('d0');
    for (let i = 1; i <= 8; i++) r.watch(`d${i}`);
    r.record({ id: 'd0', ts: T0, alt: 1 });
    expect(first.ring.length).toBe(0); // no longer recorded
    expect(r.watch('d0')).not.toBe(first); // opened again: a new recording
  });
});
