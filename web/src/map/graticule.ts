// Graticule lines for the offline base map: a spacing that suits the zoom (about four to eight lines across a
// screen), and the lines that cross a view.

/** Spacings in degrees, coarse to fine. */
const STEPS = [30, 10, 5, 2, 1, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

/** The spacing (degrees) for a view `spanDeg` degrees of longitude wide. */
export function graticuleStep(spanDeg: number): number {
  for (const s of STEPS) if (spanDeg / s >= 4) return s;
  return STEPS[STEPS.length - 1]!;
}

export interface Bounds {
  south: number;
  west: number;
  north: number;
  east: number;
}

/** Meridians and parallels (as [lat, lon] pairs) every `step` degrees across `b`, clipped to the world. */
export function graticuleLines(b: Bounds, step: number): [number, number][][] {
  const south = Math.max(-85, b.south);
  const north = Math.min(85, b.north);
  const west = Math.max(-180, b.west);
  const east = Math.min(180, b.east);
  const lines: [number, number][][] = [];
  if (south >= north || west >= east) return lines;
  // Integer multiples avoid the drift of adding 0.1 over and over.
  for (let i = Math.ceil(west / step); i * step <= east; i++) {
    const lon = round(i * step);
    lines.push([
      [south, lon],
      [north, lon],
    ]);
  }
  for (let i = Math.ceil(south / step); i * step <= north; i++) {
    const lat = round(i * step);
    lines.push([
      [lat, west],
      [lat, east],
    ]);
  }
  return lines;
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
