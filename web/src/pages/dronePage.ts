// #/drone/<id>: the map beside the drone's detail — live fields and registry, live charts, control lease and
// commands (for those who may command it), open alarms, and history replay.
import { AlarmList } from '../alarms';
import { LiveCharts } from '../charts';
import { CommandPanel } from '../commands';
import type { AppContext } from '../context';
import { LeasePanel } from '../control';
import { DroneFields } from '../detail';
import { h } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import { isNum } from '../format';
import { HistoryReplay } from '../history';
import { href, type Page } from '../router';

/** Stored history the charts start with, so they are not empty when the page opens. */
const SEED_MS = 2 * 60 * 1000;

export class DronePage implements Page {
  readonly layout = 'map-side';
  private readonly stops: (() => void)[] = [];
  private closed = false;
  private centered = false; // the map was moved to the drone (once: then the user moves it)

  constructor(
    private readonly ctx: AppContext,
    private readonly id: string,
  ) {}

  mount(panel: HTMLElement): void {
    const { ctx, id } = this;
    const fields = new DroneFields(ctx, id);
    const recording = ctx.recorder.watch(id);
    const charts = new LiveCharts(recording);
    const lease = new LeasePanel(ctx, id);
    const commands = new CommandPanel(ctx, id);
    const alarms = new AlarmList(ctx, { state: 'open', severity: '', kind: '', drone: id }, 'No open alarms.');
    const history = new HistoryReplay(ctx, id);
    const section = (title: string, testid: string, ...body: HTMLElement[]): HTMLElement =>
      h('section', { class: 'card', testid }, [h('h3', { text: title }), ...body]);

    panel.append(
      h('article', { class: 'page detail', testid: 'detail-panel', data: { id } }, [
        h('nav', { class: 'crumbs' }, [h('a', { text: '← Fleet', attrs: { href: href('fleet') } }), h('h2', { text: id, testid: 'detail-id' })]),
        fields.root,
        section('Live', 'detail-live', charts.root),
        section('Control', 'detail-control', lease.root, commands.root),
        section('Open alarms', 'detail-alarms', alarms.root),
        section('History', 'detail-history', history.root),
      ]),
    );

    ctx.map.select(id);

    let ticked = false;
    this.stops.push(
      ctx.frames.add((now) => {
        if (!this.centered) {
          const d = ctx.store.get(id)?.drone;
          if (d && isNum(d.lat) && isNum(d.lon)) this.center(d.lat, d.lon);
        }
        fields.render(now, ticked);
        lease.render(now);
        ticked = false;
        charts.render();
        commands.render();
        alarms.render();
      }),
      ctx.tick.on(() => {
        ticked = true;
      }),
      ctx.map.droneClicked.on((other) => ctx.router.go(href('drone', other))),
      ctx.reconnected.on(() => {
        lease.reload();
        commands.reload();
      }),
      () => charts.destroy(),
      () => commands.destroy(),
      () => history.destroy(),
      () => ctx.map.select(null),
    );
    void this.loadRest(fields);
    void this.seedCharts();
  }

  unmount(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
  }

  private async loadRest(fields: DroneFields): Promise<void> {
    try {
      const d = await this.ctx.api.drone(this.id);
      fields.setRest(d);
      // A drone without a live position is shown where it was last, or at its home.
      const at = isNum(d.lat) && isNum(d.lon) ? d : d.registry?.home;
      if (!this.closed && !this.centered && at && isNum(at.lat) && isNum(at.lon)) this.center(at.lat, at.lon);
    } catch (e) {
      if (!(e instanceof SessionEndedError)) fields.setRegistryError(`Cannot read the registry: ${describeError(e)}`);
    }
  }

  private center(lat: number, lon: number): void {
    this.centered = true;
    this.ctx.map.centerOn(lat, lon);
  }

  private async seedCharts(): Promise<void> {
    const to = Date.now();
    try {
      const page = await this.ctx.api.telemetry(this.id, { from: to - SEED_MS, to: to + 1000 }, { limit: 1200 });
      this.ctx.recorder.seed(this.id, page.rows ?? []);
    } catch {
      // The charts fill from the live updates alone (a node without storage answers 503 here).
    }
  }
}
