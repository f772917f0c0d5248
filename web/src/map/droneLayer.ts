// Every drone on one canvas: an arrow rotated by its heading, coloured by link status, ringed when its battery is
// low, with a short trail. Built for 10,000 drones at 5 Hz: the layer draws at most once per animation frame (the
// frame loop calls render(), which draws when the store or the view changed), only what is in view; markers are
// copied from a sprite atlas (sprites.ts), trails batched into one path per colour, and a view crowded past
// ARROWS_UP_TO drones shows squares instead of arrows.
import * as L from 'leaflet';
import { isNum } from '../format';
import type { DroneEntry, DroneStore } from '../store';
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
const PICK_RADIUS = 12;
const MARGIN = 16; // px outside the view still drawn (an arrow half in view)

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
    // Hidden during a zoom animation (Leaflet's class) and drawn again at the new zoom.
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
    this.lmap = null;
    return this;
  }

  setHighlight(predicate: ((e: DroneEntry) => boolean) | null): void {
    this.highlight = predicate;
    this.highlightVersion++;
  }

  /**
   * Draws when anything it shows changed; called by the frame loop. The view, the selection and the filter draw at
   * once; new data alone waits while the last drawing's cost says this machine needs the time (DRAW_SHARE).
   */
  render(): void {
    const dataChanged = this.lastVersion !== this.store.version;
    const otherChanged = this.viewChanged || this.lastSelected !== this.selected || this.lastFilterVersion !== this.highlightVersion;
    if (!dataChanged && !otherChanged) return;
    const now = performance.now();
    if (!otherChanged) {
      const wait = this.drawCost / DRAW_SHARE - (now - this.drawnAt);
      if (wait > 0) {
        this.timer ||= window.setTimeout(() => {
          this.timer = 0;
          this.requestFrame();
        }, wait);
        return;
      }
    }
    this.viewChanged = false;
    this.lastVersion = this.store.version;
    this.lastSelected = this.selected;
    this.lastFilterVersion = this.highlightVersion;
    this.draw();
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

  private draw(): void {
    const map = this.lmap;
    const canvas = this.canvas;
    if (!map || !canvas) return;
    const size = map.getSize();
    const dpr = window.devicePixelRatio || 1;
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
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);

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
    this.drawTrails(ctx, view, project);
    this.drawMarkers(ctx, view, dpr);
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

  private drawTrails(ctx: CanvasRenderingContext2D, { visible, buckets, xs, ys }: View, project: (lat: number, lon: number) => [number, number]): void {
    const all = visible.length <= TRAIL_DRAW_LIMIT;
    const paths = new Map<Bucket, Path2D>();
    visible.forEach((e, i) => {
      if (e.trail.length === 0 || (!all && e.drone.id !== this.selected)) return;
      const bucket = buckets[i]!;
      let p = paths.get(bucket);
      if (!p) paths.set(bucket, (p = new Path2D()));
      let first = true;
      e.trail.forEach((lat, lon) => {
        const [x, y] = project(lat, lon);
        if (first) p.moveTo(x, y);
        else p.lineTo(x, y);
        first = false;
      });
      p.lineTo(xs[i]!, ys[i]!); // on to where the drone is now
    });
    ctx.lineWidth = 1.5;
    ctx.globalAlpha = 0.45;
    for (const bucket of DRAW_ORDER) {
      const p = paths.get(bucket);
      if (!p) continue;
      ctx.strokeStyle = this.colorOf(bucket);
      ctx.stroke(p);
    }
    ctx.globalAlpha = 1;
  }

  private drawMarkers(ctx: CanvasRenderingContext2D, { visible, buckets, xs, ys }: View, dpr: number): void {
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
      this.drawSquares(ctx, byBucket, low, xs, ys);
      return;
    }
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

  /** The dense view: 4 px squares by colour (fillRect is the cheapest thing a canvas draws), low battery rimmed. */
  private drawSquares(ctx: CanvasRenderingContext2D, byBucket: ReadonlyMap<Bucket, number[]>, low: readonly number[], xs: Float32Array, ys: Float32Array): void {
    ctx.fillStyle = LOW_BATTERY_COLOR;
    for (const i of low) ctx.fillRect(Math.round(xs[i]!) - 3, Math.round(ys[i]!) - 3, 6, 6);
    for (const bucket of DRAW_ORDER) {
      ctx.fillStyle = this.colorOf(bucket);
      for (const i of byBucket.get(bucket)!) ctx.fillRect(Math.round(xs[i]!) - 2, Math.round(ys[i]!) - 2, 4, 4);
    }
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
