// The detail page's live charts (uPlot): altitude, speed, battery and link latency of one drone from its recording
// (recorder.ts), redrawn in the frame loop only when a sample arrived.
import uPlot from 'uplot';
import { h, setText } from './dom';
import { clock, fixed } from './format';
import type { ChartKey, Recording } from './recorder';

interface ChartDef {
  key: Exclude<ChartKey, 't'>;
  title: string;
  unit: string;
  digits: number;
  color: string;
  range?: [number, number];
}

const CHARTS: readonly ChartDef[] = [
  { key: 'alt', title: 'Altitude', unit: 'm', digits: 1, color: '#58a6ff' },
  { key: 'speed', title: 'Speed', unit: 'm/s', digits: 1, color: '#3fb950' },
  { key: 'battery', title: 'Battery', unit: '%', digits: 1, color: '#d29922', range: [0, 100] },
  { key: 'latency', title: 'Link latency, drone → node', unit: 'ms', digits: 0, color: '#a371f7' },
];

const HEIGHT = 110;

/**
 * The data's own range with a margin: uPlot's default reaches down to zero, which flattens an altitude of 400–410 m
 * into a line at the top. A constant value gets ±1 around it.
 */
function padded(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [0, 1];
  const pad = max > min ? (max - min) * 0.1 : 1;
  return [min - pad, max + pad];
}
const AXIS = { stroke: '#8b949e', grid: { stroke: '#21262d' }, ticks: { stroke: '#30363d' } };

export class LiveCharts {
  readonly root = h('div', { class: 'charts', testid: 'detail-charts' });
  private readonly plots: { def: ChartDef; plot: uPlot; value: HTMLElement; box: HTMLElement }[] = [];
  private versionSeen = -1;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly recording: Recording) {
    for (const def of CHARTS) {
      const value = h('b', { class: 'chart-value' });
      const box = h('div', { class: 'chart', testid: `chart-${def.key}` }, [h('div', { class: 'chart-title' }, [`${def.title} `, value])]);
      this.root.append(box);
      const plot = new uPlot(
        {
          width: 300,
          height: HEIGHT,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: def.range ?? padded } },
          // One row of local clock times (uPlot's default adds a second row of dates, which leaves no room for values).
          axes: [
            { ...AXIS, size: 24, values: (_u, splits) => splits.map((s) => clock(s * 1000)) },
            { ...AXIS, size: 48, space: 20 },
          ],
          series: [{}, { label: def.unit, stroke: def.color, width: 1.5, points: { show: false } }],
        },
        [[], []],
        box,
      );
      this.plots.push({ def, plot, value, box });
    }
    this.resize.observe(this.root);
  }

  /** Once per animation frame. */
  render(): void {
    if (this.recording.version === this.versionSeen) return;
    this.versionSeen = this.recording.version;
    const ring = this.recording.ring;
    const t = ring.column('t') as number[];
    for (const { def, plot, value, box } of this.plots) {
      plot.setData([t, ring.column(def.key)]);
      setText(value, fixed(ring.last(def.key), def.digits, def.unit));
      box.dataset.points = String(t.length); // test hook: the samples drawn
    }
  }

  destroy(): void {
    this.resize.disconnect();
    for (const { plot } of this.plots) plot.destroy();
  }

  private fit(): void {
    const width = Math.max(200, Math.floor(this.root.clientWidth));
    for (const { plot } of this.plots) if (plot.width !== width) plot.setSize({ width, height: HEIGHT });
  }
}
