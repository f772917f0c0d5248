import { describe, expect, it } from 'vitest';
import { Trail, TRAIL_MIN_INTERVAL_MS } from './trail';

function points(t: Trail): number[][] {
  const out: number[][] = [];
  t.forEach((lat, lon, at) => out.push([lat, lon, at]));
  return out;
}

describe('Trail', () => {
  it('keeps at most its capacity, dropping the oldest', () => {
    const t = new Trail(3);
    for (let i = 0; i < 10; i++) t.push(i, -i, i * TRAIL_MIN_INTERVAL_MS);
    expect(t.length).toBe(3);
    expect(points(t).map((p) => p[0])).toEqual([7, 8, 9]);
  });

  it('takes at most one point per interval, and no older point', () => {
    const t = new Trail(10);
    t.push(1, 1, 0);
    t.push(2, 2, TRAIL_MIN_INTERVAL_MS - 1);
    t.push(3, 3, TRAIL_MIN_INTERVAL_MS);
    t.push(4, 4, 10);
    expect(points(t)).toEqual([
      [1, 1, 0],
      [3, 3, TRAIL_MIN_INTERVAL_MS],
    ]);
  });

  it('says whether a point was taken, and which is the newest', () => {
    const t = new Trail(3);
    expect(Number.isNaN(t.newestLat())).toBe(true);
    expect(t.push(1, 2, 0)).toBe(true);
    expect(t.push(3, 4, 10)).toBe(false);
    expect([t.newestLat(), t.newestLon()]).toEqual([1, 2]);
    for (let i = 1; i <= 4; i++) expect(t.push(10 + i, 20 + i, i * TRAIL_MIN_INTERVAL_MS)).toBe(true);
    expect([t.newestLat(), t.newestLon()]).toEqual([14, 24]); // past the ring's wrap
  });

  it('starts again empty after clear', () => {
    const t = new Trail(2);
    t.push(1, 1, 0);
    t.clear();
    expect(t.length).toBe(0);
    t.push(5, 5, 0);
    expect(points(t)).toEqual([[5, 5, 0]]);
  });
});
