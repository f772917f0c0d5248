// Alarms: the list (live from `alarm` frames, plus what GET /api/v1/alarms returned) with acknowledge and clear for
// those who may command the drone, and the alarms page with its history filter. The drone detail shows the same list
// for one drone's open alarms.
import { type AlarmFilter, type AlarmStateFilter } from './alarmModel';
import type { AppContext } from './context';
import { button, h, input, labelled, select, setOptions, setText } from './dom';
import { describeError, SessionEndedError } from './errors';
import * as fmt from './format';
import { canCommand } from './permissions';
import { href, type Page } from './router';
import type { Alarm } from './types';

const OPEN_PAGE = 1000;

/** Open alarms read at login and after each reconnect (frames missed while disconnected). */
export async function loadOpenAlarms(ctx: Pick<AppContext, 'api' | 'alarms'>): Promise<void> {
  const page = await ctx.api.alarms({ state: 'open', limit: OPEN_PAGE });
  // Only a complete list says which open alarms are gone; a longer one (a page of it) only adds.
  if (page.next_cursor === null) ctx.alarms.replaceOpen(page.alarms ?? []);
  else ctx.alarms.applyAll(page.alarms ?? []);
}

const SHOWN_AT_MOST = 500;

export class AlarmList {
  readonly root = h('ol', { class: 'alarm-list', testid: 'alarm-list' });
  private versionSeen = -1;
  private filterSeen = '';
  private readonly errors = new Map<string, string>(); // alarm id → the failure of its last action

  constructor(
    private readonly ctx: AppContext,
    private filter: AlarmFilter,
    private readonly empty: string,
  ) {}

  setFilter(f: AlarmFilter): void {
    this.filter = f;
  }

  /** Once per animation frame. */
  render(): void {
    const key = JSON.stringify(this.filter);
    if (this.ctx.alarms.version === this.versionSeen && key === this.filterSeen) return;
    this.versionSeen = this.ctx.alarms.version;
    this.filterSeen = key;
    const list = this.ctx.alarms.list(this.filter).slice(0, SHOWN_AT_MOST);
    this.root.replaceChildren(...(list.length ? list.map((a) => this.entry(a)) : [h('li', { class: 'muted', text: this.empty })]));
  }

  private entry(a: Alarm): HTMLElement {
    const may = canCommand(this.ctx.session.user, a.group) && a.state !== 'cleared';
    const who =
      a.state === 'acknowledged'
        ? ` · acknowledged by ${a.acknowledged_by ?? '?'} ${fmt.clock(a.acknowledged_at)}`
        : a.state === 'cleared'
          ? ` · cleared by ${a.cleared_by ?? '?'} ${fmt.clock(a.cleared_at)}`
          : '';
    const error = this.errors.get(a.id);
    return h('li', { class: `alarm ${a.severity} ${a.state}`, testid: 'alarm-entry', data: { id: a.id, state: a.state, severity: a.severity } }, [
      h('div', { class: 'alarm-head' }, [
        h('span', { class: `sev ${a.severity}`, text: a.severity }),
        h('b', { text: a.kind.replace(/_/g, ' ') }),
        h('a', { text: a.drone_id, attrs: { href: href('drone', a.drone_id) } }),
        h('time', { class: 'muted', text: fmt.dateTime(a.raised_at) }),
      ]),
      h('div', { class: 'alarm-message', text: `${a.message ?? ''}${(a.count ?? 1) > 1 ? ` (×${a.count})` : ''}` }),
      h('div', { class: 'muted small', text: `${a.state}${who}` }),
      may
        ? h('div', { class: 'button-row' }, [
            a.state === 'active' ? button('Acknowledge', { class: 'btn small', testid: 'alarm-ack' }, () => this.act(a.id, 'ack')) : null,
            button('Clear', { class: 'btn small', testid: 'alarm-clear' }, () => this.act(a.id, 'clear')),
          ])
        : null,
      error ? h('p', { class: 'error', text: error, testid: 'alarm-error' }) : null,
    ]);
  }

  private async act(id: string, what: 'ack' | 'clear'): Promise<void> {
    this.errors.delete(id);
    try {
      const a = what === 'ack' ? await this.ctx.api.acknowledgeAlarm(id) : await this.ctx.api.clearAlarm(id);
      this.ctx.alarms.apply(a);
    } catch (e) {
      if (e instanceof SessionEndedError) return;
      this.errors.set(id, describeError(e));
      this.versionSeen = -1;
      this.ctx.frames.request();
    }
  }
}

const STATES: readonly (readonly [AlarmStateFilter, string])[] = [
  ['open', 'open (active + acknowledged)'],
  ['active', 'active'],
  ['acknowledged', 'acknowledged'],
  ['cleared', 'cleared'],
  ['all', 'all'],
];

/** #/alarms: the open alarms live, and the history by state, severity, kind and drone. */
export class AlarmsPage implements Page {
  readonly layout = 'full';
  private readonly state = select(STATES, { testid: 'alarm-filter-state' });
  private readonly severity = select(
    [
      ['', 'any'],
      ['critical', 'critical'],
      ['warning', 'warning'],
    ],
    { testid: 'alarm-filter-severity' },
  );
  private readonly kind = select([['', 'any']], { testid: 'alarm-filter-kind' });
  private readonly drone = input('search', { testid: 'alarm-filter-drone', attrs: { placeholder: 'drone id…' } });
  private readonly status = h('p', { class: 'muted', testid: 'alarm-status' });
  private readonly more = button('Load older', { testid: 'alarm-more' }, () => void this.query(true));
  private readonly list: AlarmList;
  private cursor: string | null = null;
  private querySeq = 0;
  private debounce = 0;
  private stopFrame: (() => void) | null = null;
  private kindsSeen = -1;

  constructor(private readonly ctx: AppContext) {
    this.list = new AlarmList(ctx, this.filter(), 'No alarms match.');
  }

  mount(panel: HTMLElement): void {
    this.more.hidden = true;
    const changed = (): void => {
      this.list.setFilter(this.filter());
      clearTimeout(this.debounce);
      this.debounce = window.setTimeout(() => void this.query(false), 300);
      this.ctx.frames.request();
    };
    for (const s of [this.state, this.severity, this.kind]) s.addEventListener('change', changed);
    this.drone.addEventListener('input', changed);
    panel.append(
      h('section', { class: 'page alarms-page', testid: 'alarms-page' }, [
        h('h2', { text: 'Alarms' }),
        h('div', { class: 'toolbar' }, [
          labelled('state', this.state, 'inline'),
          labelled('severity', this.severity, 'inline'),
          labelled('kind', this.kind, 'inline'),
          labelled('drone', this.drone, 'inline'),
        ]),
        this.status,
        this.list.root,
        this.more,
      ]),
    );
    this.stopFrame = this.ctx.frames.add(() => {
      if (this.ctx.alarms.version !== this.kindsSeen) {
        this.kindsSeen = this.ctx.alarms.version;
        setOptions(this.kind, [['', 'any'], ...this.ctx.alarms.kinds().map((k) => [k, k.replace(/_/g, ' ')] as const)]);
      }
      this.list.render();
    });
    void this.query(false);
  }

  unmount(): void {
    clearTimeout(this.debounce);
    this.querySeq++;
    this.stopFrame?.();
  }

  private filter(): AlarmFilter {
    return {
      state: this.state.value as AlarmStateFilter,
      severity: this.severity.value as AlarmFilter['severity'],
      kind: this.kind.value,
      drone: this.drone.value.trim(),
    };
  }

  /** Asks the node for the alarms of the filter (the newest page, or the next older one); the list shows them. */
  private async query(older: boolean): Promise<void> {
    const f = this.filter();
    const seq = ++this.querySeq;
    setText(this.status, 'Loading…');
    try {
      // The node filters by state, kind and an exact drone id; severity and partial ids are filtered here.
      const page = await this.ctx.api.alarms({
        state: f.state === 'all' ? undefined : f.state,
        kind: f.kind || undefined,
        drone: this.ctx.store.get(f.drone) ? f.drone : undefined,
        limit: 200,
        before: older ? (this.cursor ?? undefined) : undefined,
      });
      if (seq !== this.querySeq) return;
      this.ctx.alarms.applyAll(page.alarms ?? []);
      this.cursor = page.next_cursor;
      this.more.hidden = page.next_cursor === null;
      setText(this.status, '');
    } catch (e) {
      if (seq === this.querySeq && !(e instanceof SessionEndedError)) setText(this.status, describeError(e));
    }
  }
}
