// Every drone on canvases: an arrow rotated by its heading, coloured by link status, ringed when its battery is low,
// with a short trail. Built for 10,000 drones at 5 Hz: the layer draws at most once per animation frame (the frame
// loop calls render(), which draws when the store or the view changed), only what is in view; markers are copied
// from a sprite atlas (sprites.ts), and a view crowded past ARROWS_UP_TO drones shows squares instead of arrows.
// Trails live on a canvas of their own beneath the markers, drawn again when the view, the filter or the selection
// changes and otherwise at most once per TRAIL_REDRAW_MS (a trail gets at most a point a second): stroking 30
// points of up to 2,000 trails at every frame was the costliest thing the page rasterised. Each frame draws only
// the short segment from a trail's newest point to where its drone is now, with the markers.
import * as L from 'leaflet';
import { isNum } from '../format';
import type { DroneEntry, DroneStore } from '../store';
import { fillSquare, packColor } from './pixels';
import { mercatorX, mercatorY } from './projection';
import { SpriteAtlas } from './sprites';

const DRONE_PANE = 'drones';

const STATUS_COLORS: Readonly<Record<string, string>> = {
  online: '#3fb950',
  stale: '#d29922',
  lost: '#f85149',
  unknown: '#8b949e',
};
const DIM_COLOR = 'rgba(139, 148, 158, 0.35)';
const LOW_BATTERY_COLOR = '#db61a2';
const SELECT_COLOR = '#58a6ff';
/** Battery below this (percent) is marked: the node's own low-battery warning threshold (alarms.battery_warn). */
export const LOW_BATTERY = 25;
/** Trails are drawn for every drone in view up to this many; beyond it only the selected drone's. */
const TRAIL_DRAW_LIMIT = 2000;
/**
 * Beyond this many drones in view, markers are small squares (status colour, a pink rim for a low battery): arrows
 * that overlap say nothing about headings, and 10,000 of them cost 60–120 ms a frame where the canvas is drawn
 * without a GPU (measured in headless Chromium). Zooming in brings the arrows back.
 */
const ARROWS_UP_TO = 2000;
/** When only the data changed, drawing may take at most this share of the time (slow machines draw less often). */
const DRAW_SHARE = 0.4;
/**
 * When only the data changed, the drones are drawn at most this often: twice the simulator's and a typical drone's
 * 5 Hz telemetry, so every position shows, while the browser is not made to rasterise the same markers at 60 Hz
 * (without a GPU, 1,000 marker copies cost about 10 ms a frame to rasterise). Panning, zooming, the filter and the
 * selection still draw at the next frame.
 */
export const DATA_DRAW_MS = 100;
const PICK_RADIUS = 12;
const MARGIN = 16; // px outside the view still drawn (an arrow half in view)
/** Trails are drawn again at most this often when only data changed (a trail takes a point at most once a second). */
export const TRAIL_REDRAW_MS = 1000;
const TRAIL_WIDTH = 1.5;
const TRAIL_ALPHA = 0.45;

type Bucket = 'dim' | 'unknown' | 'online' | 'stale' | 'lost';
const DRAW_ORDER: readonly Bucket[] = ['dim', 'unknown', 'online', 'stale', 'lost']; // problems on top

/** The drones in view at one drawing: entry, colour and container position by index. */
interface View {
  visible: readonly DroneEntry[];
  buckets: readonly Bucket[];
  xs: Float32Array;
  ys: Float32Array;
}

export class DroneLayer extends L.Layer {
  private canvas: HTMLCanvasElement | null = null;
  private trailCanvas: HTMLCanvasElement | null = null;
  /** The trails need drawing at the next draw (view, filter, selection or the set of drones changed). */
  private trailsDirty = true;
  private trailsDrawnAt = -Infinity; // performance.now()
  private trailVersionDrawn = -1;
  private membershipSeen = -1;
  private lmap: L.Map | null = null;
  private drawn = { ids: [] as string[], xs: new Float32Array(0), ys: new Float32Array(0), count: 0 };
  private viewChanged = true;
  private lastVersion = -1;
  private lastSelected: string | null = null;
  private lastFilterVersion = -1;
  private sprites: SpriteAtlas | null = null;
  private drawnAt = 0; // performance.now() of the last drawing
  private drawCost = 0; // ms it took
  private timer = 0;
  /** The dense view's pixels (the canvas's size) and its colours as pixels. */
  private pixels: { image: ImageData; buf: Uint32Array; width: number; height: number } | null = null;
  private packed: Record<string, number> | null = null;
  /** Drones in view at the last draw. */
  inView = 0;
  /** The last draw showed squares, not arrows (too many in view). */
  dense = false;

  selected: string | null = null;
  /** The drones to show in colour while the table filters (the rest are dimmed), or null for all. */
  private highlight: ((e: DroneEntry) => boolean) | null = null;
  private highlightVersion = 0;

  /** `requestFrame`: asks the frame loop for a frame (a drawing put off to later, see render()). */
  constructor(
    private readonly store: DroneStore,
    private readonly requestFrame: () => void,
  ) {
    super();
  }

  override onAdd(map: L.Map): this {
    this.lmap = map;
    if (!map.getPane(DRONE_PANE)) {
      const pane = map.createPane(DRONE_PANE);
      pane.style.zIndex = '450'; // above geofences and tracks (overlay pane, 400), below tooltips
      pane.style.pointerEvents = 'none'; // clicks reach the map, which picks the nearest drone (pick())
    }
    // Hidden during a zoom animation (Leaflet's class) and drawn again at the new zoom. Trails beneath the markers.
    this.trailCanvas = L.DomUtil.create('canvas', 'drone-canvas leaflet-zoom-hide', map.getPane(DRONE_PANE));
    this.canvas = L.DomUtil.create('canvas', 'drone-canvas leaflet-zoom-hide', map.getPane(DRONE_PANE));
    map.on('move zoomend resize viewreset', this.onViewChange, this);
    this.viewChanged = true;
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off('move zoomend resize viewreset', this.onViewChange, this);
    clearTimeout(this.timer);
    this.timer = 0;
    this.canvas?.remove();
    this.canvas = null;
    this.trailCanvas?.remove();
    this.trailCanvas = null;
    this.lmap = null;
    return this;
  }

  setHighlight(predicate: ((e: DroneEntry) => boolean) | null): void {
    this.highlight = predicate;
    this.highlightVersion++;
  }

  /**
   * Draws when anything it shows changed; called by the frame loop. The view, the selection and the filter draw at
   * once; new data alone waits DATA_DRAW_MS after the last drawing, or longer while the last drawing's cost says this
   * machine needs the time (DRAW_SHARE).
   */
  render(): void {
    const dataChanged = this.lastVersion !== this.store.version;
    const otherChanged = this.viewChanged || this.lastSelected !== this.selected || this.lastFilterVersion !== this.highlightVersion;
    if (!dataChanged && !otherChanged) return;
    const now = performance.now();
    if (!otherChanged) {
      const wait = Math.max(DATA_DRAW_MS, this.drawCost / DRAW_SHARE) - (now - this.drawnAt);
      if (wait > 0) {
        this.timer ||= window.setTimeout(() => {
          this.timer = 0;
          this.requestFrame();
        }, wait);
        return;
      }
    }
    if (otherChanged || this.membershipSeen !== this.store.membership) this.trailsDirty = true;
    this.membershipSeen = this.store.membership;
    this.viewChanged = false;
    this.lastVersion = this.store.version;
    this.lastSelected = this.selected;
    this.lastFilterVersion = this.highlightVersion;
    this.draw(now);
    this.drawnAt = now;
    this.drawCost = performance.now() - now;
  }

  /** The drone drawn nearest to a container point, within the pick radius. */
  pick(p: L.Point): string | null {
    const { ids, xs, ys, count } = this.drawn;
    let best: string | null = null;
    let bestD2 = PICK_RADIUS * PICK_RADIUS;
    for (let i = 0; i < count; i++) {
      const dx = xs[i]! - p.x;
      const dy = ys[i]! - p.y;
      const d2 = dx * dx + dy * dy;
      if (d2 < bestD2) {
        bestD2 = d2;
        best = ids[i]!;
      }
    }
    return best;
  }

  private onViewChange(): void {
    this.viewChanged = true;
  }

  /** Sizes and places a canvas over the map container; answers its context, cleared, in CSS pixels. */
  private prepare(canvas: HTMLCanvasElement, map: L.Map, size: L.Point, dpr: number): CanvasRenderingContext2D | null {
    const bw = Math.max(1, Math.round(size.x * dpr));
    const bh = Math.max(1, Math.round(size.y * dpr));
    if (canvas.width !== bw || canvas.height !== bh) {
      canvas.width = bw;
      canvas.height = bh;
      canvas.style.width = `${size.x}px`;
      canvas.style.height = `${size.y}px`;
    }
    // The canvas covers the map container: its top left is the container's (0,0) in the pane's coordinates.
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    return ctx;
  }

  private draw(now: number): void {
    const map = this.lmap;
    const canvas = this.canvas;
    const trailCanvas = this.trailCanvas;
    if (!map || !canvas || !trailCanvas) return;
    const size = map.getSize();
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.prepare(canvas, map, size, dpr);
    if (!ctx) return;

    // container point = world pixel − pixel origin + map pane offset.
    const world = 256 * 2 ** map.getZoom();
    const origin = map.getPixelOrigin();
    const panePos = map.layerPointToContainerPoint([0, 0]);
    const ox = panePos.x - origin.x;
    const oy = panePos.y - origin.y;
    // A cheap first cut in degrees before projecting.
    const b = map.getBounds().pad(0.05);
    const south = b.getSouth();
    const north = b.getNorth();
    const west = b.getWest();
    const east = b.getEast();

    const n = this.store.entries.size;
    if (this.drawn.xs.length < n) this.drawn = { ids: new Array<string>(n), xs: new Float32Array(n), ys: new Float32Array(n), count: 0 };
    const { ids, xs, ys } = this.drawn;
    const visible: DroneEntry[] = [];
    const buckets: Bucket[] = [];
    let count = 0;
    for (const e of this.store.entries.values()) {
      const { lat, lon } = e.drone;
      if (!isNum(lat) || !isNum(lon) || lat < south || lat > north || lon < west || lon > east) continue;
      const x = mercatorX(lon, world) + ox;
      const y = mercatorY(lat, world) + oy;
      if (x < -MARGIN || y < -MARGIN || x > size.x + MARGIN || y > size.y + MARGIN) continue;
      ids[count] = e.drone.id;
      xs[count] = x;
      ys[count] = y;
      visible.push(e);
      buckets.push(this.bucketOf(e));
      count++;
    }
    this.drawn.count = count;
    this.inView = count;

    const project = (lat: number, lon: number): [number, number] => [mercatorX(lon, world) + ox, mercatorY(lat, world) + oy];
    const view: View = { visible, buckets, xs, ys };
    const trailsMoved = this.store.trailVersion !== this.trailVersionDrawn;
    if (this.trailsDirty || (trailsMoved && now - this.trailsDrawnAt >= TRAIL_REDRAW_MS)) {
      const tctx = this.prepare(trailCanvas, map, size, dpr);
      if (tctx) this.drawTrails(tctx, view, project);
      this.trailsDirty = false;
      this.trailsDrawnAt = now;
      this.trailVersionDrawn = this.store.trailVersion;
    } else if (trailsMoved) {
      // New trail points, drawn when their time comes even if nothing else asks for a frame by then.
      this.timer ||= window.setTimeout(() => {
        this.timer = 0;
        this.requestFrame();
      }, TRAIL_REDRAW_MS - (now - this.trailsDrawnAt));
    }
    this.drawMarkers(ctx, view, dpr, project);
    this.drawSelection(ctx, view);
  }

  private bucketOf(e: DroneEntry): Bucket {
    if (this.highlight && !this.highlight(e)) return 'dim';
    const s = e.drone.status;
    return s === 'online' || s === 'stale' || s === 'lost' ? s : 'unknown';
  }

  private colorOf(b: Bucket): string {
    return b === 'dim' ? DIM_COLOR : STATUS_COLORS[b]!;
  }

  /** Whether the i-th drone in view gets a trail: all of them up to TRAIL_DRAW_LIMIT in view, else the selected one. */
  private hasTrail(view: View, i: number): boolean {
    const e = view.visible[i]!;
    return e.trail.length > 0 && (view.visible.length <= TRAIL_DRAW_LIMIT || e.drone.id === this.selected);
  }

  /** The trails' points (not the drones' current positions: drawHeads does that part at every frame). */
  private drawTrails(ctx: CanvasRenderingContext2D, view: View, project: (lat: number, lon: number) => [number, number]): void {
    const paths = new Map<Bucket, Path2D>();
    view.visible.forEach((e, i) => {
      if (!this.hasTrail(view, i) || e.trail.length < 2) return;
      const bucket = view.buckets[i]!;
      let p = paths.get(bucket);
      if (!p) paths.set(bucket, (p = new Path2D()));
      let first = true;
      e.trail.forEach((lat, lon) => {
        const [x, y] = project(lat, lon);
        if (first) p.moveTo(x, y);
        else p.lineTo(x, y);
        first = false;
      });
    });
    this.strokeBuckets(ctx, paths);
  }

  /** From each trail's newest point on to where its drone is now: one short segment per drone, every frame. */
  private drawHeads(ctx: CanvasRenderingContext2D, view: View, project: (lat: number, lon: number) => [number, number]): void {
    const paths = new Map<Bucket, Path2D>();
    view.visible.forEach((e, i) => {
      if (!this.hasTrail(view, i)) return;
      const lat = e.trail.newestLat();
      const lon = e.trail.newestLon();
      if (Number.isNaN(lat) || Number.isNaN(lon)) return;
      const bucket = view.buckets[i]!;
      let p = paths.get(bucket);
      if (!p) paths.set(bucket, (p = new Path2D()));
      const [x, y] = project(lat, lon);
      p.moveTo(x, y);
      p.lineTo(view.xs[i]!, view.ys[i]!);
    });
    this.strokeBuckets(ctx, paths);
  }

  private strokeBuckets(ctx: CanvasRenderingContext2D, paths: ReadonlyMap<Bucket, Path2D>): void {
    ctx.lineWidth = TRAIL_WIDTH;
    ctx.globalAlpha = TRAIL_ALPHA;
    for (const bucket of DRAW_ORDER) {
      const p = paths.get(bucket);
      if (!p) continue;
      ctx.strokeStyle = this.colorOf(bucket);
      ctx.stroke(p);
    }
    ctx.globalAlpha = 1;
  }

  /** The markers with the trails' heads beneath them: arrows, or squares in a crowded view. */
  private drawMarkers(ctx: CanvasRenderingContext2D, view: View, dpr: number, project: (lat: number, lon: number) => [number, number]): void {
    const { visible, buckets, xs, ys } = view;
    if (this.sprites?.dpr !== dpr) {
      const colors: Record<string, string> = {};
      for (const b of DRAW_ORDER) colors[b] = this.colorOf(b);
      this.sprites = new SpriteAtlas(dpr, colors, LOW_BATTERY_COLOR);
    }
    const atlas = this.sprites;
    const cell = atlas.cell;
    const half = cell / 2;
    // By colour, problems last (on top); then the low-battery rings over all of them.
    const byBucket = new Map<Bucket, number[]>(DRAW_ORDER.map((b) => [b, []]));
    const low: number[] = [];
    visible.forEach((e, i) => {
      const bucket = buckets[i]!;
      byBucket.get(bucket)!.push(i);
      if (bucket !== 'dim' && isNum(e.drone.battery) && e.drone.battery < LOW_BATTERY) low.push(i);
    });
    this.dense = visible.length > ARROWS_UP_TO;
    if (this.dense) {
      this.drawSquares(ctx, byBucket, low, xs, ys, dpr); // replaces every pixel: before the heads
      this.drawHeads(ctx, view, project);
      return;
    }
    this.drawHeads(ctx, view, project);
    // Device pixels, whole ones: each marker is a 1:1 copy of its cell, never resampled.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const copy = (sx: number, sy: number, i: number): void =>
      ctx.drawImage(atlas.image, sx, sy, cell, cell, Math.round(xs[i]! * dpr - half), Math.round(ys[i]! * dpr - half), cell, cell);
    for (const bucket of DRAW_ORDER) {
      for (const i of byBucket.get(bucket)!) {
        const h = visible[i]!.drone.heading;
        const [sx, sy] = atlas.marker(bucket, isNum(h) ? h : undefined);
        copy(sx, sy, i);
      }
    }
    const [rx, ry] = atlas.ring();
    for (const i of low) copy(rx, ry, i);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /**
   * The dense view: 4 px squares by colour, low battery rimmed, written into a pixel buffer and put on the canvas at
   * once (pixels.ts: far cheaper to rasterise than thousands of fillRects).
   */
  private drawSquares(ctx: CanvasRenderingContext2D, byBucket: ReadonlyMap<Bucket, number[]>, low: readonly number[], xs: Float32Array, ys: Float32Array, dpr: number): void {
    const { width, height } = ctx.canvas;
    if (this.pixels?.width !== width || this.pixels.height !== height) {
      const image = new ImageData(width, height);
      this.pixels = { image, buf: new Uint32Array(image.data.buffer), width, height };
    }
    const packed = (this.packed ??= Object.fromEntries([...DRAW_ORDER.map((b) => [b, packColor(this.colorOf(b))]), ['low', packColor(LOW_BATTERY_COLOR)]]));
    const { image, buf } = this.pixels;
    buf.fill(0);
    const rim = Math.round(6 * dpr);
    const side = Math.round(4 * dpr);
    for (const i of low) fillSquare(buf, width, height, xs[i]! * dpr, ys[i]! * dpr, rim, packed.low!);
    for (const bucket of DRAW_ORDER) {
      const color = packed[bucket]!;
      for (const i of byBucket.get(bucket)!) fillSquare(buf, width, height, xs[i]! * dpr, ys[i]! * dpr, side, color);
    }
    ctx.putImageData(image, 0, 0);
  }

  private drawSelection(ctx: CanvasRenderingContext2D, { visible, xs, ys }: View): void {
    if (this.selected === null) return;
    const i = visible.findIndex((e) => e.drone.id === this.selected);
    if (i < 0) return;
    const x = xs[i]!;
    const y = ys[i]!;
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = SELECT_COLOR;
    ctx.beginPath();
    ctx.arc(x, y, 14, 0, 2 * Math.PI);
    ctx.stroke();
    const label = this.store.registry.get(this.selected)?.name;
    const text = label ? `${this.selected} · ${label}` : this.selected;
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(13, 17, 23, 0.9)';
    ctx.fillStyle = '#e6edf3';
    ctx.strokeText(text, x + 17, y - 10);
    ctx.fillText(text, x + 17, y - 10);
  }
}
