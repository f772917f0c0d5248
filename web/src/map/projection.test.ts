import { describe, expect, it } from 'vitest';
import { mercatorX, mercatorY } from './projection';

describe('mercator', () => {
  it('puts (0, 0) in the middle of the world and the limits at its edges', () => {
    expect(mercatorX(0, 256)).toBe(128);
    expect(mercatorY(0, 256)).toBeCloseTo(128, 9);
    expect(mercatorX(-180, 256)).toBe(0);
    expect(mercatorY(85.0511287798, 256)).toBeCloseTo(0, 6);
    expect(mercatorY(90, 256)).toBeCloseTo(0, 6); // clamped like Leaflet
  });

  it('agrees with Leaflet (L.CRS.EPSG3857.latLngToPoint at zoom 10)', () => {
    const world = 256 * 2 ** 10;
    expect(mercatorX(8.5456, world)).toBeCloseTo(137294.716, 3);
    expect(mercatorY(47.3977, world)).toBeCloseTo(91776.698, 3);
    expect(mercatorX(151.2093, world)).toBeCloseTo(241179.252, 3);
    expect(mercatorY(-33.8688, world)).toBeCloseTo(157310.583, 3);
  });
});
