// #/analytics: what the fleet flew (docs/protocol.md, GET /api/v1/analytics/drones, /fleet and /daily) — a range of
// UTC days (presets: 7 and 30 days), a group ("all": every group the user reaches) and optionally one drone; summary
// tiles, charts per day (from /fleet, summed over the groups; from the drone's /daily rows when one is chosen), the
// drones' figures over the range (from /drones, a row per drone summed by the node whatever the fleet's size;
// sortable; a drone's id opens its detail) and, for one chosen drone, its /daily rows per day (which also give its
// row in the table); the three routes as the node's CSV. For admins, operators and analytics users (pages.ts). Pure
// logic: analyticsModel.ts.
import uPlot from 'uplot';
import {
  altitude,
  analyticsQuery,
  computedNote,
  count,
  csvFileName,
  daySeries,
  DEFAULT_SORT,
  defaultRange,
  droneRows,
  hours,
  km,
  MAX_DAYS,
  nextSort,
  oldestComputed,
  pct,
  perDrone,
  presetRange,
  PRESETS,
  sortDrones,
  sumTotals,
  totalsFromDaily,
  type AnalyticsForm,
  type DaySeries,
  type DroneKey,
  type DroneTotals,
  type SortState,
  type Totals,
} from '../analyticsModel';
import type { AnalyticsQuery, AnalyticsRoute } from '../api';
import type { AppContext } from '../context';
import { button, downloadText, h, input, labelled, select, setOptions, setText } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import { href, type Page } from '../router';
import type { AnalyticsDailyRow } from '../types';

/** Rows of the drone table drawn at once (the CSV has them all). */
const MAX_TABLE_ROWS = 500;
const DRONE_SUGGESTIONS = 50;

interface Column<T> {
  key: string;
  label: string;
  num?: boolean;
  text: (r: T) => string;
}

const DRONE_COLUMNS: readonly (Column<DroneTotals> & { key: DroneKey })[] = [
  { key: 'drone_id', label: 'drone', text: (d) => d.drone_id },
  { key: 'group', label: 'group', text: (d) => d.group },
  { key: 'days', label: 'days', num: true, text: (d) => count(d.days) },
  { key: 'flight_s', label: 'flight', num: true, text: (d) => hours(d.flight_s) },
  { key: 'armed_s', label: 'armed', num: true, text: (d) => hours(d.armed_s) },
  { key: 'distance_m', label: 'distance', num: true, text: (d) => km(d.distance_m) },
  { key: 'max_alt_m', label: 'max alt', num: true, text: (d) => altitude(d.max_alt_m) },
  { key: 'battery_used_pct', label: 'battery used', num: true, text: (d) => pct(d.battery_used_pct) },
  { key: 'flights', label: 'flights', num: true, text: (d) => count(d.flights) },
  { key: 'alarms', label: 'alarms', num: true, text: (d) => count(d.alarms) },
  { key: 'samples', label: 'samples', num: true, text: (d) => count(d.samples) },
];

const DAY_COLUMNS: readonly Column<AnalyticsDailyRow>[] = [
  { key: 'day', label: 'day (UTC)', text: (r) => r.day },
  { key: 'group', label: 'group', text: (r) => r.group },
  { key: 'flight_s', label: 'flight', num: true, text: (r) => hours(r.flight_s) },
  { key: 'armed_s', label: 'armed', num: true, text: (r) => hours(r.armed_s) },
  { key: 'distance_m', label: 'distance', num: true, text: (r) => km(r.distance_m) },
  { key: 'max_alt_m', label: 'max alt', num: true, text: (r) => altitude(r.max_alt_m) },
  { key: 'battery_used_pct', label: 'battery used', num: true, text: (r) => pct(r.battery_used_pct) },
  { key: 'flights', label: 'flights', num: true, text: (r) => count(r.flights) },
  { key: 'alarms', label: 'alarms', num: true, text: (r) => count(r.alarms) },
  { key: 'samples', label: 'samples', num: true, text: (r) => count(r.samples) },
];

const TILES: readonly { key: string; label: string; value: (t: Totals) => number; text: (t: Totals) => string }[] = [
  { key: 'flight', label: 'Flight hours', value: (t) => t.flight_s, text: (t) => hours(t.flight_s) },
  { key: 'distance', label: 'Distance', value: (t) => t.distance_m, text: (t) => km(t.distance_m) },
  { key: 'flights', label: 'Flights', value: (t) => t.flights, text: (t) => count(t.flights) },
  { key: 'battery', label: 'Battery used', value: (t) => t.battery_used_pct, text: (t) => pct(t.battery_used_pct) },
  { key: 'alarms', label: 'Alarms', value: (t) => t.alarms, text: (t) => count(t.alarms) },
  { key: 'drones', label: 'Drones', value: (t) => t.drones, text: (t) => count(t.drones) },
];

/** What one Apply showed: the drones' rows (/drones, or the chosen drone's /daily rows summed) and its days. */
interface Shown {
  query: AnalyticsQuery;
  /** The chosen drone's /daily rows (empty without a drone). */
  rows: AnalyticsDailyRow[];
  drones: DroneTotals[];
}

export class AnalyticsPage implements Page {
  readonly layout = 'full';
  private readonly stops: (() => void)[] = [];
  private closed = false;
  private loadSeq = 0;
  private shown: Shown | null = null;
  private sort: SortState = DEFAULT_SORT;
  private groupsSeen: string | null = null;

  private readonly from = input('date', { testid: 'analytics-from' });
  private readonly to = input('date', { testid: 'analytics-to' });
  private readonly group = select([], { testid: 'analytics-group' });
  private readonly droneList = h('datalist', { attrs: { id: 'analytics-drone-ids' } });
  private readonly drone = input('search', { testid: 'analytics-drone', attrs: { list: 'analytics-drone-ids', placeholder: 'all drones', maxlength: '64', autocomplete: 'off', 'aria-label': 'drone id' } });
  private readonly applyBtn = button('Apply', { class: 'btn primary', testid: 'analytics-apply' }, () => void this.load());
  private readonly csvDrones = button('CSV per drone', { testid: 'analytics-csv-drones', title: 'GET /analytics/drones as the node exports it (every drone, the range summed)' }, () => void this.exportCsv('drones', this.csvDrones));
  private readonly csvDaily = button('CSV per drone and day', { testid: 'analytics-csv-daily', title: 'GET /analytics/daily as the node exports it' }, () => void this.exportCsv('daily', this.csvDaily));
  private readonly csvFleet = button('CSV per group and day', { testid: 'analytics-csv-fleet', title: 'GET /analytics/fleet as the node exports it' }, () => void this.exportCsv('fleet', this.csvFleet));
  private readonly error = h('p', { class: 'error', testid: 'analytics-error', hidden: true, attrs: { role: 'alert' } });
  private readonly status = h('span', { testid: 'analytics-status' });
  private readonly computed = h('span', { class: 'computed', testid: 'analytics-computed' });
  private readonly tiles = h('section', { class: 'tiles', testid: 'analytics-tiles' });
  private readonly tileEls = new Map<string, { box: HTMLElement; value: HTMLElement }>();
  private readonly charts = new DayCharts();
  private readonly empty = h('p', { class: 'muted empty', testid: 'analytics-empty', text: 'No flights in this range.', hidden: true });
  private readonly droneShown = h('p', { class: 'muted small', testid: 'analytics-shown' });
  private readonly droneHead = h('tr');
  private readonly droneBody = h('tbody');
  private readonly dayCard = h('section', { class: 'card', testid: 'analytics-days', hidden: true });
  private readonly dayTitle = h('h3');
  private readonly dayBody = h('tbody');

  constructor(private readonly ctx: AppContext) {}

  mount(panel: HTMLElement): void {
    const range = defaultRange(this.ctx.store.nodeNow());
    this.from.value = range.from;
    this.to.value = range.to;
    this.updateGroups();
    for (const t of TILES) {
      const value = h('b', { class: 'tile-value', text: '–' });
      const box = h('div', { class: 'tile', testid: `tile-${t.key}` }, [h('span', { class: 'tile-label', text: t.label }), value]);
      this.tileEls.set(t.key, { box, value });
      this.tiles.append(box);
    }
    this.droneHead.append(
      ...DRONE_COLUMNS.map((c) =>
        h('th', { class: `sortable${c.num ? ' num' : ''}`, text: c.label, data: { key: c.key }, attrs: { tabindex: '0', 'aria-sort': 'none' } }),
      ),
    );
    this.droneHead.addEventListener('click', (ev) => this.sortBy(ev.target));
    this.droneHead.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      this.sortBy(ev.target);
    });
    this.markSort();
    this.dayCard.append(
      this.dayTitle,
      h('div', { class: 'table-box' }, [
        h('table', { class: 'analytics', testid: 'analytics-day-table' }, [
          h('thead', {}, [h('tr', {}, DAY_COLUMNS.map((c) => h('th', { class: c.num ? 'num' : '', text: c.label })))]),
          this.dayBody,
        ]),
      ]),
    );
    for (const el of [this.from, this.to, this.drone]) el.addEventListener('keydown', (ev) => ev.key === 'Enter' && void this.load());
    this.drone.addEventListener('input', () => this.suggest());
    this.group.addEventListener('change', () => void this.load());

    panel.append(
      h('article', { class: 'page analytics-page', testid: 'analytics-page' }, [
        h('h2', { text: 'Analytics' }),
        h('section', { class: 'card', testid: 'analytics-form' }, [
          h('div', { class: 'form-row' }, [
            labelled('From', this.from, 'inline'),
            labelled('To', this.to, 'inline'),
            ...PRESETS.map((days) => button(`${days} days`, { class: 'btn small', testid: `analytics-preset-${days}` }, () => this.preset(days))),
            h('span', { class: 'muted small', text: `UTC days, both included; at most ${MAX_DAYS}` }),
          ]),
          h('div', { class: 'form-row' }, [labelled('Group', this.group, 'inline'), labelled('Drone', this.drone, 'inline'), this.droneList, this.applyBtn]),
          h('div', { class: 'form-row' }, [this.csvDrones, this.csvDaily, this.csvFleet]),
          this.error,
          h('p', { class: 'muted' }, [this.status, ' ', this.computed]),
        ]),
        this.tiles,
        this.charts.root,
        h('section', { class: 'card', testid: 'analytics-drones' }, [
          h('h3', { text: 'Drones over the range' }),
          this.empty,
          this.droneShown,
          h('div', { class: 'table-box' }, [h('table', { class: 'analytics', testid: 'analytics-table' }, [h('thead', {}, [this.droneHead]), this.droneBody])]),
        ]),
        this.dayCard,
      ]),
    );
    this.charts.attach();
    let seconds = 0;
    this.stops.push(this.ctx.tick.on(() => ++seconds % 5 === 0 && this.updateGroups()));
    this.group.addEventListener('focus', () => this.updateGroups());
    void this.load();
  }

  unmount(): void {
    this.closed = true;
    this.loadSeq++;
    for (const s of this.stops) s();
    this.charts.destroy();
  }

  // ---- the form

  private preset(days: number): void {
    const r = presetRange(days, this.ctx.store.nodeNow());
    this.from.value = r.from;
    this.to.value = r.to;
    void this.load();
  }

  /** The user's groups; for admins (who reach every group) also those of the drones the session knows. */
  private updateGroups(): void {
    const u = this.ctx.session.user;
    const groups = new Set<string>(u?.groups ?? []);
    if (u?.role === 'admin') {
      for (const g of this.ctx.store.groups()) groups.add(g);
      for (const r of this.ctx.store.registry.values()) if (r.group) groups.add(r.group);
    }
    const list = [...groups].filter((g) => typeof g === 'string' && g !== '').sort();
    const key = list.join('\u0000');
    if (key === this.groupsSeen) return;
    this.groupsSeen = key;
    setOptions(this.group, [['', 'all groups'], ...list.map((g) => [g, g] as const)]);
  }

  /** Up to 50 known drone ids starting with what was typed (a datalist of 10,000 would be no help). */
  private suggest(): void {
    const typed = this.drone.value.trim().toLowerCase();
    const ids: string[] = [];
    if (typed) {
      for (const id of this.ctx.store.entries.keys()) {
        if (id.toLowerCase().startsWith(typed)) ids.push(id);
        if (ids.length >= DRONE_SUGGESTIONS) break;
      }
    }
    this.droneList.replaceChildren(...ids.sort().map((id) => h('option', { attrs: { value: id } })));
  }

  private form(): AnalyticsForm {
    return { from: this.from.value, to: this.to.value, group: this.group.value, drone: this.drone.value };
  }

  /** The form's query, or null after saying what is wrong with it. */
  private query(): AnalyticsQuery | null {
    const r = analyticsQuery(this.form());
    if (!r.ok) {
      this.showError(new Error(r.message));
      ({ from: this.from, to: this.to, drone: this.drone, group: this.group } as const)[r.field].focus();
      return null;
    }
    return r.query;
  }

  // ---- loading

  private async load(): Promise<void> {
    const q = this.query();
    if (!q) return;
    const seq = ++this.loadSeq;
    this.error.hidden = true;
    setText(this.status, 'Loading…');
    this.applyBtn.disabled = true;
    // Every drone: /drones for the table (a row per drone, summed by the node), /fleet for the tiles and charts. One
    // drone: its /daily rows give its days, its row, the tiles and the charts (/drones and /fleet take no drone).
    // Each answer is shown on its own: one refused still leaves the other's figures.
    const one = q.drone !== undefined;
    const [daily, drones, fleet] = await Promise.allSettled([
      one ? this.ctx.api.analyticsDaily(q) : Promise.resolve(null),
      one ? Promise.resolve(null) : this.ctx.api.analyticsDrones(q),
      one ? Promise.resolve(null) : this.ctx.api.analyticsFleet(q),
    ]);
    if (seq !== this.loadSeq || this.closed) return;
    this.applyBtn.disabled = false;
    const failed = [daily, drones, fleet].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failed.some((e) => e instanceof SessionEndedError)) return;

    const dailyAnswer = daily.status === 'fulfilled' ? daily.value : null;
    const dronesAnswer = drones.status === 'fulfilled' ? drones.value : null;
    const fleetAnswer = fleet.status === 'fulfilled' ? fleet.value : null;
    const rows = dailyAnswer && Array.isArray(dailyAnswer.rows) ? dailyAnswer.rows : null;
    if (one) this.shown = rows ? { query: q, rows, drones: perDrone(rows) } : null;
    else this.shown = dronesAnswer ? { query: q, rows: [], drones: droneRows(dronesAnswer.drones) } : null;
    this.renderDrones();
    this.renderDays();
    if (one ? rows : fleetAnswer) {
      const totals = fleetAnswer ? sumTotals(Array.isArray(fleetAnswer.totals) ? fleetAnswer.totals : []) : totalsFromDaily(rows!);
      this.showTiles(totals);
      this.charts.show(daySeries(fleetAnswer ? (Array.isArray(fleetAnswer.days) ? fleetAnswer.days : []) : rows!, q.from, q.to));
    } else {
      this.showTiles(null);
      this.charts.show(daySeries([], q.from, q.to));
    }

    const nothing = one ? rows === null : dronesAnswer === null && fleetAnswer === null;
    const scope = [q.group ? `group ${q.group}` : 'all groups', q.drone ? `drone ${q.drone}` : ''].filter(Boolean).join(', ');
    setText(this.status, nothing ? '' : `${q.from} – ${q.to} (UTC), ${scope} ·`);
    const through = oldestComputed([dailyAnswer?.computed_through, dronesAnswer?.computed_through, fleetAnswer?.computed_through]);
    setText(this.computed, nothing ? '' : computedNote(through, this.ctx.store.nodeNow()));
    this.computed.dataset.computedThrough = through === null ? '' : String(through);
    if (failed.length) {
      const texts = [...new Set(failed.map((e) => describeError(e)))];
      this.showError(new Error(texts.join(' ')));
    }
  }

  private showError(e: unknown): void {
    if (e instanceof SessionEndedError) return;
    setText(this.error, describeError(e));
    this.error.hidden = false;
  }

  private async exportCsv(route: AnalyticsRoute, btn: HTMLButtonElement): Promise<void> {
    const q = this.query();
    if (!q) return;
    this.error.hidden = true;
    btn.disabled = true;
    try {
      const file = await this.ctx.api.analyticsCsv(route, q);
      if (!this.closed) downloadText(csvFileName(route, q, file.disposition), file.text);
    } catch (e) {
      if (!this.closed && !(e instanceof SessionEndedError)) this.showError(new Error(`Export failed: ${describeError(e)}`));
    } finally {
      btn.disabled = false;
    }
  }

  // ---- drawing

  /** The range's totals, or dashes (null: not known). */
  private showTiles(t: Totals | null): void {
    for (const def of TILES) {
      const el = this.tileEls.get(def.key)!;
      setText(el.value, t ? def.text(t) : '–');
      el.box.dataset.value = t ? String(def.value(t)) : '';
    }
  }

  private sortBy(target: EventTarget | null): void {
    const th = target instanceof Element ? target.closest('th') : null;
    const key = th?.dataset.key as DroneKey | undefined;
    if (!key) return;
    this.sort = nextSort(this.sort, key);
    this.markSort();
    this.renderDrones();
  }

  private markSort(): void {
    for (const th of this.droneHead.children) {
      if (!(th instanceof HTMLElement)) continue;
      const on = th.dataset.key === this.sort.key;
      th.classList.toggle('sorted', on);
      th.classList.toggle('desc', on && this.sort.desc);
      th.setAttribute('aria-sort', on ? (this.sort.desc ? 'descending' : 'ascending') : 'none');
    }
  }

  private renderDrones(): void {
    const drones = this.shown?.drones ?? [];
    const sorted = sortDrones(drones, this.sort).slice(0, MAX_TABLE_ROWS);
    this.empty.hidden = !this.shown || drones.length > 0;
    setText(
      this.droneShown,
      drones.length === 0 ? '' : drones.length > sorted.length ? `the first ${sorted.length} of ${count(drones.length)} drones (the CSV has all)` : `${count(drones.length)} drone${drones.length === 1 ? '' : 's'}`,
    );
    this.droneBody.replaceChildren(
      ...sorted.map((d) =>
        h(
          'tr',
          { testid: 'analytics-row', data: { id: d.drone_id, flightS: String(d.flight_s), flights: String(d.flights), distanceM: String(d.distance_m) } },
          DRONE_COLUMNS.map((c) =>
            c.key === 'drone_id'
              ? h('td', {}, [h('a', { text: d.drone_id, attrs: { href: href('drone', d.drone_id) } })])
              : h('td', { class: c.num ? 'num' : '', text: c.text(d) }),
          ),
        ),
      ),
    );
  }

  /** One drone chosen: its rows per day. */
  private renderDays(): void {
    const s = this.shown;
    this.dayCard.hidden = !s?.query.drone;
    if (!s?.query.drone) {
      this.dayBody.replaceChildren();
      return;
    }
    setText(this.dayTitle, `${s.query.drone} per day`);
    this.dayBody.replaceChildren(
      ...(s.rows.length === 0
        ? [h('tr', {}, [h('td', { class: 'muted', text: 'No flights in this range.', attrs: { colspan: String(DAY_COLUMNS.length) } })])]
        : s.rows.map((r) =>
            h(
              'tr',
              { testid: 'analytics-day-row', data: { day: String(r.day) } },
              DAY_COLUMNS.map((c) => h('td', { class: c.num ? 'num' : '', text: c.text(r) })),
            ),
          )),
    );
  }
}

// ---- charts: bars per UTC day (uPlot), x = the day's index in the range

interface ChartDef {
  key: string;
  title: string;
  digits: number;
  /** The range's sum of each series, as the title shows it. */
  total: (sums: number[]) => string;
  series: { label: string; values: keyof Omit<DaySeries, 'days'>; color: string; align: -1 | 0 | 1 }[];
}

const CHARTS: readonly ChartDef[] = [
  { key: 'flight-hours', title: 'Flight hours per day', digits: 2, total: ([h]) => `${hours(h! * 3600)} in all`, series: [{ label: 'flight h', values: 'flightHours', color: '#58a6ff', align: 0 }] },
  { key: 'distance', title: 'Distance per day', digits: 2, total: ([k]) => `${km(k! * 1000)} in all`, series: [{ label: 'km', values: 'distanceKm', color: '#3fb950', align: 0 }] },
  {
    key: 'flights-alarms',
    title: 'Flights and alarms per day',
    digits: 0,
    total: ([f, a]) => `${count(f)} flight${f === 1 ? '' : 's'}, ${count(a)} alarm${a === 1 ? '' : 's'}`,
    series: [
      { label: 'flights', values: 'flights', color: '#d29922', align: -1 },
      { label: 'alarms', values: 'alarms', color: '#f85149', align: 1 },
    ],
  },
];

const HEIGHT = 150;
const AXIS = { stroke: '#8b949e', grid: { stroke: '#21262d' }, ticks: { stroke: '#30363d' } };
/** Day steps of the x axis's labels (whole days only). */
const DAY_STEPS = [1, 2, 3, 7, 14, 28, 61, 91, 183, 366];

class DayCharts {
  readonly root = h('section', { class: 'analytics-charts', testid: 'analytics-charts' });
  private readonly plots: { def: ChartDef; plot: uPlot | null; box: HTMLElement; total: HTMLElement }[] = [];
  private days: string[] = [];
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor() {
    for (const def of CHARTS) {
      const total = h('b', { class: 'chart-value' });
      const box = h('div', { class: 'chart card', testid: `chart-${def.key}`, data: { points: '0' } }, [h('div', { class: 'chart-title' }, [`${def.title} `, total])]);
      this.root.append(box);
      this.plots.push({ def, plot: null, box, total });
    }
  }

  /** Builds the plots once the boxes are in the document (uPlot measures its container). */
  attach(): void {
    for (const p of this.plots) p.plot = new uPlot(this.options(p.def, this.width(p.box)), emptyData(p.def), p.box);
    this.resize.observe(this.root);
  }

  show(series: DaySeries): void {
    this.days = series.days;
    const x = series.days.map((_, i) => i);
    for (const p of this.plots) {
      const data: uPlot.AlignedData = [x, ...p.def.series.map((s) => series[s.values])];
      p.plot?.setData(data);
      p.box.dataset.points = String(x.length); // test hook: the days drawn
      const sums = p.def.series.map((s) => series[s.values].reduce((a, b) => a + b, 0));
      setText(p.total, `· ${p.def.total(sums)}`);
    }
  }

  destroy(): void {
    this.resize.disconnect();
    for (const p of this.plots) p.plot?.destroy();
  }

  private width(box: HTMLElement): number {
    return Math.max(200, Math.floor(box.clientWidth) - 2);
  }

  private fit(): void {
    for (const p of this.plots) {
      const width = this.width(p.box);
      if (p.plot && Math.abs(p.plot.width - width) > 1) p.plot.setSize({ width, height: HEIGHT });
    }
  }

  private options(def: ChartDef, width: number): uPlot.Options {
    const dayOf = (v: number | null | undefined): string => (typeof v === 'number' ? (this.days[Math.round(v)] ?? '') : '');
    return {
      width,
      height: HEIGHT,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: (_u, min, max) => (min === null || max === null ? [-0.5, 0.5] : [min - 0.5, max + 0.5]) },
        y: { range: (_u, _min, max) => [0, max !== null && max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        {
          ...AXIS,
          size: 28,
          space: 44,
          incrs: DAY_STEPS,
          values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? dayOf(s).slice(5) : '')),
        },
        { ...AXIS, size: 44, space: 24, values: (_u, splits) => splits.map((s) => (Math.abs(s) >= 1000 ? `${Math.round(s / 1000)}k` : String(+s.toFixed(2)))) },
      ],
      series: [
        { label: 'day', value: (_u, v) => dayOf(v) || '–' },
        ...def.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            fill: `${s.color}99`,
            width: 1,
            paths: uPlot.paths.bars!({ size: [def.series.length > 1 ? 0.4 : 0.7, 48], align: s.align }),
            points: { show: false },
            value: (_u, v) => (typeof v === 'number' ? v.toFixed(def.digits) : '–'),
          }),
        ),
      ],
    };
  }
}

function emptyData(def: ChartDef): uPlot.AlignedData {
  return [[], ...def.series.map(() => [])];
}
