import { describe, expect, it } from 'vitest';
import { SeriesRing } from './ring';

describe('SeriesRing', () => {
  it('keeps the newest samples in time order when it wraps', () => {
    const r = new SeriesRing(3, ['t', 'v'] as const);
    for (let i = 1; i <= 5; i++) r.push({ t: i, v: i * 10 });
    expect(r.length).toBe(3);
    expect(r.column('t')).toEqual([3, 4, 5]);
    expect(r.column('v')).toEqual([30, 40, 50]);
    expect(r.last('v')).toBe(50);
  });

  it('turns a missing value into a gap (null)', () => {
    const r = new SeriesRing(4, ['t', 'v'] as const);
    r.push({ t: 1 });
    r.push({ t: 2, v: 7 });
    expect(r.column('v')).toEqual([null, 7]);
  });

  it('is empty after clear', () => {
    const r = new SeriesRing(2, ['t'] as const);
    r.push({ t: 1 });
    r.clear();
    expect(r.length).toBe(0);
    expect(r.last('t')).toBeUndefined();
    expect(r.column('t')).toEqual([]);
  });
});
