// The command panel of the drone detail: arm, disarm, takeoff (altitude), land, RTL, hold, resume, and goto by
// clicking the map (altitude, speed) — only the kinds the drone's hello listed (its object's `commands`; every kind
// when it listed none); and the drone's commands with their live state from `command` frames (queued → sent →
// accepted → in progress → final, with the reason). Errors are shown under the buttons: 409 (another holder, a
// command in flight), 403, 400 naming the field.
import { offersCommand, type TrackedCommand } from './commandModel';
import type { AppContext } from './context';
import { button, h, input, labelled, setText } from './dom';
import { describeError, SessionEndedError } from './errors';
import * as fmt from './format';
import { isNum } from './format';
import { canCommand } from './permissions';
import type { CommandKind } from './types';

const LIST_LENGTH = 15;
const FINAL_OK = 'succeeded';

const SIMPLE: readonly [kind: CommandKind, label: string, title: string][] = [
  ['arm', 'Arm', 'arm the motors'],
  ['disarm', 'Disarm', 'disarm the motors'],
  ['land', 'Land', 'land where it is (always taken: cancels movement commands in flight)'],
  ['rtl', 'RTL', 'return to launch and land (always taken: cancels movement commands in flight)'],
  ['hold', 'Hold', 'pause where it is'],
  ['resume', 'Resume', 'go on with what was paused'],
];

/** A command's parameters as short text: "alt 30", "47.397700, 8.545600 · alt 440 · 8 m/s". */
function paramsText(kind: string, params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  if (kind === 'goto') {
    const speed = isNum(params.speed) ? ` · ${params.speed} m/s` : '';
    return `${fmt.coord(params.lat)}, ${fmt.coord(params.lon)} · alt ${fmt.fixed(params.alt, 0, 'm')}${speed}`;
  }
  return Object.entries(params)
    .map(([k, v]) => `${k} ${fmt.anyValue(v)}`)
    .join(' · ');
}

export class CommandPanel {
  readonly root: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly error = h('p', { class: 'error', testid: 'command-error', hidden: true, attrs: { role: 'alert' } });
  private readonly list = h('ol', { class: 'command-list', testid: 'command-list' });
  private readonly takeoffAlt = input('number', { value: '30', min: '1', step: '1', testid: 'cmd-takeoff-alt', attrs: { max: '10000' } });
  private readonly gotoAlt = input('number', { step: '1', testid: 'cmd-goto-alt' });
  private readonly gotoSpeed = input('number', { step: '0.1', min: '0.1', testid: 'cmd-goto-speed', attrs: { placeholder: 'drone default' } });
  private readonly gotoTarget = h('span', { class: 'muted', testid: 'cmd-goto-target', text: 'no target' });
  private readonly gotoSend: HTMLButtonElement;
  private target: { lat: number; lon: number } | null = null;
  private versionSeen = -1;
  /** The buttons and rows of each kind, hidden when the drone does not list it. */
  private readonly byKind: [CommandKind, HTMLElement[]][] = [];
  private readonly none = h('p', { class: 'muted', testid: 'command-none', hidden: true, text: 'This drone executes none of the commands offered here.' });
  private kindsSeen: string | undefined;
  private busy = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly id: string,
  ) {
    const simple = SIMPLE.map(([kind, label, title]) => {
      const b = button(label, { testid: `cmd-${kind}`, title, class: `btn cmd-${kind}` }, () => this.issue(kind));
      this.byKind.push([kind, [b]]);
      return b;
    });
    const takeoff = button('Take off', { testid: 'cmd-takeoff', title: 'take off to the altitude above the take-off point' }, () => {
      const alt = this.takeoffAlt.valueAsNumber;
      if (!isNum(alt)) return this.showError('Enter the take-off altitude (m above the take-off point).');
      this.issue('takeoff', { alt });
    });
    const pick = button('Pick target on map', { testid: 'cmd-goto-pick', title: 'then click the map where the drone should go' }, () => this.pickTarget());
    this.gotoSend = button('Go to', { testid: 'cmd-goto', class: 'btn primary' }, () => this.sendGoto());
    this.gotoSend.disabled = true;
    const takeoffRow = h('div', { class: 'form-row' }, [labelled('altitude m', this.takeoffAlt, 'inline'), takeoff]);
    const gotoRows = [
      h('div', { class: 'form-row' }, [pick, this.gotoTarget]),
      h('div', { class: 'form-row' }, [labelled('alt m AMSL', this.gotoAlt, 'inline'), labelled('speed m/s', this.gotoSpeed, 'inline'), this.gotoSend]),
    ];
    this.byKind.push(['takeoff', [takeoffRow]], ['goto', gotoRows]);
    this.controls = h('div', { class: 'command-controls', testid: 'command-panel' }, [
      h('div', { class: 'button-row' }, simple),
      takeoffRow,
      ...gotoRows,
      this.none,
      this.error,
    ]);
    this.root = h('div', { class: 'commands' }, [this.controls, h('h3', { text: 'Commands' }), this.list]);
    this.reload();
  }

  /** Reads the drone's latest commands (at the start, and after a reconnect: `command` frames may have been missed). */
  reload(): void {
    void this.loadHistory();
  }

  /** Once per animation frame. */
  render(): void {
    const drone = this.ctx.store.get(this.id)?.drone;
    // Hidden, not disabled, for those who may not command this drone (viewers, operators of other groups).
    this.controls.hidden = !canCommand(this.ctx.session.user, drone?.group ?? this.ctx.store.registry.get(this.id)?.group);
    this.showKinds(drone?.commands);
    if (this.ctx.commands.version === this.versionSeen) return;
    this.versionSeen = this.ctx.commands.version;
    const items = this.ctx.commands.forDrone(this.id, LIST_LENGTH);
    this.list.replaceChildren(...(items.length ? items.map((t) => this.entry(t)) : [h('li', { class: 'muted', text: 'No commands yet.' })]));
  }

  destroy(): void {
    this.ctx.map.cancelPick();
    this.ctx.map.showTarget(null, null);
  }

  /** Only the kinds the drone lists (all of them when it lists none): when the list changed (a new hello). */
  private showKinds(commands: unknown): void {
    const key = Array.isArray(commands) ? commands.join(',') : String(commands);
    if (key === this.kindsSeen) return;
    this.kindsSeen = key;
    let offered = 0;
    for (const [kind, els] of this.byKind) {
      const on = offersCommand(commands, kind);
      if (on) offered++;
      for (const el of els) el.hidden = !on;
    }
    this.none.hidden = offered > 0;
    if (!offersCommand(commands, 'goto')) {
      // A target picked before the drone stopped listing goto is dropped with its row.
      this.ctx.map.cancelPick();
      this.ctx.map.showTarget(null, null);
      this.target = null;
      this.gotoSend.disabled = true;
      setText(this.gotoTarget, 'no target');
    }
  }

  private async loadHistory(): Promise<void> {
    try {
      const page = await this.ctx.api.commands(this.id, LIST_LENGTH);
      for (const c of page.commands ?? []) this.ctx.commands.apply(c);
    } catch (e) {
      if (!(e instanceof SessionEndedError)) setText(this.list, `Cannot read the commands: ${describeError(e)}`);
    }
  }

  private async issue(kind: CommandKind, params?: Record<string, number>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.showError('');
    try {
      const c = await this.ctx.api.issueCommand(this.id, kind, params);
      this.ctx.commands.apply(c);
    } catch (e) {
      if (!(e instanceof SessionEndedError)) this.showError(describeError(e));
    } finally {
      this.busy = false;
    }
  }

  private pickTarget(): void {
    this.showError('');
    setText(this.gotoTarget, 'click the map (Esc cancels)…');
    const showTarget = (): void => setText(this.gotoTarget, this.target ? `${fmt.coord(this.target.lat)}, ${fmt.coord(this.target.lon)}` : 'no target');
    this.ctx.map.pickPoint((lat, lon) => {
      this.target = { lat, lon };
      this.ctx.map.showTarget(lat, lon);
      showTarget();
      if (this.gotoAlt.value === '') {
        const alt = this.ctx.store.get(this.id)?.drone.alt;
        if (isNum(alt)) this.gotoAlt.value = String(Math.round(alt));
      }
      this.gotoSend.disabled = false;
    }, showTarget);
  }

  private sendGoto(): void {
    if (!this.target) return this.showError('Pick the target on the map first.');
    const alt = this.gotoAlt.valueAsNumber;
    if (!isNum(alt)) return this.showError('Enter the goto altitude (m above mean sea level, as telemetry).');
    const params: Record<string, number> = { lat: this.target.lat, lon: this.target.lon, alt };
    const speed = this.gotoSpeed.valueAsNumber;
    if (isNum(speed)) params.speed = speed;
    void this.issue('goto', params);
  }

  private showError(text: string): void {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  private entry(t: TrackedCommand): HTMLElement {
    const c = t.command;
    const outcome = !c.final ? 'open' : c.state === FINAL_OK ? 'ok' : 'bad';
    const progress = isNum(c.progress) && !c.final ? ` ${Math.round(c.progress)} %` : '';
    const li = h('li', { class: `command ${outcome}`, testid: 'command-entry', data: { id: c.id, state: c.state, kind: c.kind } }, [
      h('div', { class: 'command-head' }, [
        h('b', { text: c.kind }),
        h('span', { class: 'muted', text: paramsText(c.kind, c.params) }),
        h('time', { class: 'muted', text: fmt.clock(c.created_at), title: fmt.dateTime(c.created_at) }),
      ]),
      h('div', { class: 'command-states', testid: 'command-states' }, [
        t.states.map((s) => s.replace('_', ' ')).join(' → ') + progress,
        c.attempt && c.attempt > 1 ? ` (attempt ${c.attempt})` : '',
      ]),
      c.reason ? h('div', { class: 'command-reason', text: c.reason, testid: 'command-reason' }) : null,
      h('div', { class: 'muted small', text: `by ${c.issued_by ?? '?'}` }),
    ]);
    if (!c.final && canCommand(this.ctx.session.user, c.group)) {
      li.append(
        button('Cancel', { class: 'btn small', testid: 'command-cancel' }, () => {
          this.ctx.api.cancelCommand(c.id).then(
            (done) => this.ctx.commands.apply(done),
            (e: unknown) => {
              if (!(e instanceof SessionEndedError)) this.showError(describeError(e));
            },
          );
        }),
      );
    }
    return li;
  }
}
