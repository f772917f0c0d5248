import { describe, expect, it } from 'vitest';
import { graticuleLines, graticuleStep } from './graticule';

describe('graticule', () => {
  it('chooses a spacing giving a handful of lines across the view', () => {
    expect(graticuleStep(360)).toBe(30);
    expect(graticuleStep(20)).toBe(5);
    expect(graticuleStep(0.1)).toBe(0.02);
    expect(graticuleStep(0.000001)).toBe(0.001);
  });

  it('draws meridians and parallels at multiples of the step inside the bounds', () => {
    const lines = graticuleLines({ south: 47.05, west: 8.05, north: 47.35, east: 8.25 }, 0.1);
    const meridians = lines.filter((l) => l[0]![1] === l[1]![1]).map((l) => l[0]![1]);
    const parallels = lines.filter((l) => l[0]![0] === l[1]![0]).map((l) => l[0]![0]);
    expect(meridians).toEqual([8.1, 8.2]);
    expect(parallels).toEqual([47.1, 47.2, 47.3]);
  });

  it('clips to the world', () => {
    const lines = graticuleLines({ south: -100, west: -200, north: 100, east: 200 }, 30);
    for (const l of lines) for (const [lat, lon] of l) {
      expect(Math.abs(lat)).toBeLessThanOrEqual(85);
      expect(Math.abs(lon)).toBeLessThanOrEqual(180);
    }
  });
});
