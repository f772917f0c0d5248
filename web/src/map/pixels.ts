// Squares written straight into a canvas-sized pixel buffer (an ImageData's, put on the canvas once): the map's
// dense view of thousands of drones. Where the canvas is drawn without a GPU, each fillRect is an operation the
// browser records and plays back when it rasterises the frame (about 2 µs each in headless Chromium: 20 ms a frame
// for 10,000 drones); writing 16 pixels per drone here and one putImageData cost a tenth of that. Pure (no DOM):
// tested in pixels.test.ts.

/** A CSS colour ("#rrggbb", "#rgb", "rgb(r, g, b)" or "rgba(r, g, b, a)") as an ImageData pixel (RGBA bytes, little-endian). */
export function packColor(css: string): number {
  let r = 0;
  let g = 0;
  let b = 0;
  let a = 255;
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(css.trim());
  const fn = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/i.exec(css.trim());
  if (hex) {
    const h = hex[1]!;
    const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
    r = parseInt(full.slice(0, 2), 16);
    g = parseInt(full.slice(2, 4), 16);
    b = parseInt(full.slice(4, 6), 16);
  } else if (fn) {
    r = Math.min(255, Math.round(Number(fn[1])));
    g = Math.min(255, Math.round(Number(fn[2])));
    b = Math.min(255, Math.round(Number(fn[3])));
    if (fn[4] !== undefined) a = Math.round(Math.min(1, Number(fn[4])) * 255);
  } else {
    throw new Error(`not a colour packColor reads: ${css}`);
  }
  return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/**
 * A `side`×`side` square of `color` centred on (cx, cy) (device pixels), clipped to the `width`×`height` buffer.
 * Pixels are replaced, not blended: a later square covers an earlier one.
 */
export function fillSquare(buf: Uint32Array, width: number, height: number, cx: number, cy: number, side: number, color: number): void {
  const x0 = Math.round(cx - side / 2);
  const y0 = Math.round(cy - side / 2);
  const xa = x0 < 0 ? 0 : x0;
  const ya = y0 < 0 ? 0 : y0;
  const xb = x0 + side > width ? width : x0 + side;
  const yb = y0 + side > height ? height : y0 + side;
  for (let y = ya; y < yb; y++) {
    const row = y * width;
    for (let x = xa; x < xb; x++) buf[row + x] = color;
  }
}
