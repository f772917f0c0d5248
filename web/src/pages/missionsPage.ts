// #/missions: the mission planner (docs/protocol.md, "Missions"). The list of missions; a mission's form (name,
// group, cruise speed, final action) and its waypoints — added by clicking the map (or typed in), dragged on the map,
// edited, reordered and deleted in the list —; save, validate (the node's problems shown at their waypoint in the
// list and on the map); its drones (assign); upload, start, pause, resume, abort, with each drone's state and
// progress live from `mission` frames. Viewers see all of it read-only. Pure logic: missionPlan.ts.
import * as L from 'leaflet';
import type { AppContext } from '../context';
import { button, h, input, labelled, select, setOptions, setText } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import * as fmt from '../format';
import { ApiError } from '../http';
import {
  addWaypoint,
  allowedActions,
  FINAL_ACTIONS,
  fromItems,
  legLengths,
  liveProgress,
  missionBody,
  moveWaypoint,
  newWaypoint,
  parseOptional,
  problemsByIndex,
  progressText,
  relocateWaypoint,
  removeWaypoint,
  updateWaypoint,
  WAYPOINT_ACTIONS,
  type Waypoint,
} from '../missionPlan';
import { canCommand, canPlan } from '../permissions';
import { href, type Page } from '../router';
import type { Mission, MissionDrone, MissionProblem, WaypointAction } from '../types';

const DEFAULT_ALT = 100;

type Action = 'validate' | 'upload' | 'start' | 'pause' | 'resume' | 'abort';

export class MissionsPage implements Page {
  readonly layout = 'map-side';
  private readonly stops: (() => void)[] = [];
  private closed = false;

  private missions: Mission[] = [];
  /** The mission shown (null: a new one being planned, not saved yet). */
  private mission: Mission | null = null;
  private readAt = 0;
  private editing = false; // the editor is open (a mission selected or a new one)
  private waypoints: Waypoint[] = [];
  private dirty = false;
  private busy = false;
  private missionSeen = -1;
  private frameSeen = 0;
  private reloadTimer = 0;

  private readonly listEl = h('ul', { class: 'mission-list', testid: 'mission-list' });
  private readonly listStatus = h('p', { class: 'muted', testid: 'mission-list-status' });
  private readonly editor = h('section', { class: 'card', testid: 'mission-editor', hidden: true });
  private readonly title = h('h3');
  private readonly name = input('text', { testid: 'mission-name', attrs: { maxlength: '128', placeholder: 'survey north field' } });
  private readonly group = select([], { testid: 'mission-group' });
  private readonly cruise = input('number', { testid: 'mission-cruise', value: '10', step: '0.5', min: '0.5' });
  private readonly finalAction = select(
    FINAL_ACTIONS.map((a) => [a, a] as const),
    { testid: 'mission-final' },
  );
  private readonly addLat = input('number', { testid: 'wp-add-lat', step: 'any', attrs: { placeholder: 'lat' } });
  private readonly addLon = input('number', { testid: 'wp-add-lon', step: 'any', attrs: { placeholder: 'lon' } });
  private readonly addAlt = input('number', { testid: 'wp-add-alt', value: String(DEFAULT_ALT), step: '1' });
  private readonly addRow: HTMLElement;
  private readonly hint = h('p', { class: 'muted small' });
  private readonly wpBody = h('tbody');
  private readonly wpSummary = h('p', { class: 'muted small', testid: 'waypoint-summary' });
  private readonly missionProblems = h('ul', { class: 'problems', testid: 'mission-problems' });
  private readonly editButtons = h('div', { class: 'button-row' });
  private readonly editError = h('p', { class: 'error', testid: 'mission-error', hidden: true });
  private readonly saveBtn = button('Save', { class: 'btn primary', testid: 'mission-save' }, () => void this.save());
  private readonly validateBtn = button('Validate', { testid: 'mission-validate' }, () => void this.validate());
  private readonly deleteBtn = button('Delete', { class: 'btn danger', testid: 'mission-delete' }, () => void this.remove());

  private readonly dronesCard = h('section', { class: 'card', testid: 'mission-drones', hidden: true });
  private readonly droneChoices = h('div', { class: 'drone-choices' });
  private readonly assignBtn = button('Assign', { testid: 'mission-assign' }, () => void this.assign());
  private readonly assignError = h('p', { class: 'error', testid: 'mission-assign-error', hidden: true });
  private droneChoicesKey = '';

  private readonly flightCard = h('section', { class: 'card', testid: 'mission-flight', hidden: true });
  private readonly stateEl = h('span', { class: 'mission-state', testid: 'mission-state' });
  private readonly reasonEl = h('span', { class: 'muted', testid: 'mission-reason' });
  private readonly flightButtons: Record<Exclude<Action, 'validate'>, HTMLButtonElement>;
  private readonly flightError = h('p', { class: 'error', testid: 'mission-flight-error', hidden: true });
  private readonly progressBody = h('tbody');

  private readonly layer = L.layerGroup();
  private route: L.Polyline | null = null;
  private markers: L.Marker[] = [];
  private mapKey = '';

  constructor(private readonly ctx: AppContext) {
    this.addRow = h('div', { class: 'form-row' }, [
      h('span', { class: 'muted', text: 'Add at' }),
      this.addLat,
      this.addLon,
      labelled('alt (m AMSL)', this.addAlt, 'inline'),
      button('Add waypoint', { testid: 'wp-add' }, () => this.addTyped()),
    ]);
    const act = (a: Exclude<Action, 'validate'>, text: string, cls = 'btn'): HTMLButtonElement =>
      button(text, { class: cls, testid: `mission-${a}` }, () => void this.act(a));
    this.flightButtons = {
      upload: act('upload', 'Upload'),
      start: act('start', 'Start', 'btn primary'),
      pause: act('pause', 'Pause'),
      resume: act('resume', 'Resume'),
      abort: act('abort', 'Abort', 'btn danger'),
    };
  }

  private get user() {
    return this.ctx.session.user;
  }

  /** Whether the user may plan in some group (a new mission). */
  private get mayPlan(): boolean {
    return canPlan(this.user);
  }

  /** Whether the user may change the shown mission (or the new one). */
  private get mayEdit(): boolean {
    if (!this.mission) return this.mayPlan;
    return canCommand(this.user, this.mission.group);
  }

  mount(panel: HTMLElement): void {
    const newBtn = button('New mission', { class: 'btn primary', testid: 'mission-new', hidden: !this.mayPlan }, () => this.open(null));
    const refresh = button('Reload', { testid: 'mission-reload' }, () => void this.loadList());
    this.buildEditor();
    this.buildDrones();
    this.buildFlight();
    panel.append(
      h('article', { class: 'page missions-page', testid: 'missions-page' }, [
        h('section', { class: 'card' }, [
          h('div', { class: 'toolbar' }, [h('h2', { text: 'Missions' }), newBtn, refresh]),
          this.listStatus,
          this.listEl,
        ]),
        this.editor,
        this.dronesCard,
        this.flightCard,
      ]),
    );
    this.layer.addTo(this.ctx.map.map);
    this.stops.push(
      this.ctx.frames.add(() => this.render()),
      this.ctx.reconnected.on(() => void this.reloadShown()),
      this.ctx.tick.on(() => this.tick()),
    );
    void this.loadList();
  }

  unmount(): void {
    this.closed = true;
    clearTimeout(this.reloadTimer);
    for (const s of this.stops) s();
    this.ctx.map.setClickHandler(null);
    this.layer.remove();
  }

  // ---- the list

  private async loadList(): Promise<void> {
    setText(this.listStatus, 'Loading…');
    try {
      const page = await this.ctx.api.missions({ limit: 200 });
      if (this.closed) return;
      this.missions = page.missions ?? [];
      this.renderList();
    } catch (e) {
      if (e instanceof SessionEndedError || this.closed) return;
      setText(this.listStatus, `Cannot read the missions: ${describeError(e)}`);
    }
  }

  private renderList(): void {
    const shown = this.mission?.id;
    const n = this.missions.length;
    setText(this.listStatus, n ? `${n} mission${n === 1 ? '' : 's'}` : 'No missions yet.');
    this.listEl.replaceChildren(
      ...this.missions.map((m) =>
        h('li', { class: `mission-entry${m.id === shown ? ' selected' : ''}`, testid: 'mission-entry', data: { id: m.id, state: m.state } }, [
          button(m.name, { class: 'btn link', testid: 'mission-open' }, () => this.open(m)),
          h('span', { class: `mstate ${m.state}`, text: m.state }),
          h('span', { class: 'muted small', text: `${m.group} · ${m.items?.length ?? 0} waypoints · ${m.drones?.length ?? 0} drones` }),
        ]),
      ),
    );
  }

  /** Shows a mission (or a new one: null). */
  private open(m: Mission | null): void {
    this.mission = m;
    this.readAt = Date.now();
    this.editing = true;
    this.waypoints = fromItems(m?.items);
    this.dirty = false;
    this.droneChoicesKey = '';
    this.missionSeen = -1;
    for (const e of [this.editError, this.assignError, this.flightError]) e.hidden = true;
    this.fillForm();
    this.renderList();
    this.renderAll();
    this.fitRoute();
  }

  private fitRoute(): void {
    if (!this.waypoints.length) return;
    const b = L.latLngBounds(this.waypoints.map((w) => [w.lat, w.lon] as L.LatLngTuple));
    this.ctx.map.map.fitBounds(b.pad(0.3), { maxZoom: 17, animate: false });
  }

  private async reloadShown(): Promise<void> {
    const id = this.mission?.id;
    if (!id) return;
    try {
      const m = await this.ctx.api.mission(id);
      if (this.closed || this.mission?.id !== id) return;
      this.replaceMission(m, !this.dirty);
    } catch (e) {
      if (!(e instanceof SessionEndedError)) this.showError(this.flightError, e);
    }
  }

  /** Takes the node's answer as the shown mission; `takePlan` also replaces the waypoints being edited. */
  private replaceMission(m: Mission, takePlan: boolean): void {
    this.mission = m;
    this.readAt = Date.now();
    this.missionSeen = -1;
    const i = this.missions.findIndex((x) => x.id === m.id);
    if (i >= 0) this.missions[i] = m;
    else this.missions.unshift(m);
    if (takePlan) {
      this.waypoints = fromItems(m.items);
      this.dirty = false;
      this.fillForm();
    }
    this.renderList();
    this.renderAll();
  }

  // ---- the editor

  private buildEditor(): void {
    const table = h('table', { class: 'waypoints', testid: 'waypoint-list' }, [
      h('thead', {}, [
        h('tr', {}, [
          h('th', { text: '#' }),
          h('th', { text: 'position' }),
          h('th', { text: 'alt AMSL', title: 'metres above mean sea level' }),
          h('th', { text: 'm/s', title: 'speed towards it; empty: the cruise speed' }),
          h('th', { text: 'hold s', title: 'seconds held there' }),
          h('th', { text: 'action' }),
          h('th', { text: '' }),
        ]),
      ]),
      this.wpBody,
    ]);
    for (const el of [this.name, this.cruise]) el.addEventListener('input', () => this.markDirty());
    for (const el of [this.group, this.finalAction]) el.addEventListener('change', () => this.markDirty());
    this.group.addEventListener('change', () => (this.droneChoicesKey = ''));
    this.editButtons.append(this.saveBtn, this.validateBtn, this.deleteBtn);
    this.editor.append(
      this.title,
      h('div', { class: 'form-row' }, [
        labelled('Name', this.name, 'inline'),
        labelled('Group', this.group, 'inline'),
        labelled('Cruise m/s', this.cruise, 'inline'),
        labelled('After the last', this.finalAction, 'inline'),
      ]),
      this.hint,
      this.addRow,
      h('div', { class: 'table-box' }, [table]),
      this.wpSummary,
      this.missionProblems,
      this.editButtons,
      this.editError,
    );
  }

  private fillForm(): void {
    const m = this.mission;
    const u = this.user;
    const groups = new Set<string>(u?.role === 'admin' ? this.ctx.store.groups() : (u?.groups ?? []));
    if (u?.role === 'admin') for (const g of [...u.groups, 'default']) groups.add(g); // admins: any group; the node's default one too
    if (m) groups.add(m.group);
    if (groups.size === 0) groups.add('default');
    setOptions(this.group, [...groups].sort().map((g) => [g, g] as const));
    this.name.value = m?.name ?? '';
    this.group.value = m?.group ?? (groups.has('default') ? 'default' : [...groups].sort()[0]!);
    this.cruise.value = String(m?.cruise_speed ?? 10);
    this.finalAction.value = m?.final_action ?? 'rtl';
  }

  private markDirty(): void {
    const was = this.dirty;
    this.dirty = true;
    if (!was) this.renderProblems();
    this.renderButtons();
  }

  private setWaypoints(list: Waypoint[], rebuild = true): void {
    this.waypoints = list;
    this.markDirty();
    if (rebuild) this.renderWaypoints();
    this.renderMap();
  }

  private addAt(lat: number, lon: number): void {
    if (!this.editing || !this.editable()) return;
    const alt = Number(this.addAlt.value);
    this.setWaypoints(addWaypoint(this.waypoints, newWaypoint(this.waypoints, lat, lon, Number.isFinite(alt) ? alt : DEFAULT_ALT)));
  }

  private addTyped(): void {
    const lat = Number(this.addLat.value);
    const lon = Number(this.addLon.value);
    if (this.addLat.value.trim() === '' || this.addLon.value.trim() === '' || !Number.isFinite(lat) || !Number.isFinite(lon)) {
      this.showError(this.editError, new Error('Type a latitude and a longitude in degrees, or click the map.'));
      return;
    }
    this.editError.hidden = true;
    if (!this.ctx.map.map.getBounds().contains([lat, lon])) this.ctx.map.centerOn(lat, lon, 15);
    const alt = Number(this.addAlt.value);
    this.setWaypoints(addWaypoint(this.waypoints, { ...newWaypoint(this.waypoints, lat, lon, DEFAULT_ALT), alt: Number.isFinite(alt) ? alt : DEFAULT_ALT }));
  }

  /** The plan may be changed: the user may, and no drone flies it. */
  private editable(): boolean {
    if (!this.mayEdit) return false;
    return !this.mission || allowedActions(this.liveState(), this.mission.drones.length).edit;
  }

  private liveState(): string {
    if (!this.mission) return 'new';
    return liveProgress(this.mission, (id) => this.ctx.missions.get(id), this.readAt).state;
  }

  private renderAll(): void {
    this.editor.hidden = !this.editing;
    const editable = this.editable();
    setText(this.title, this.mission ? `Mission ${this.mission.name}` : 'New mission');
    for (const el of [this.name, this.group, this.cruise, this.finalAction]) el.disabled = !editable;
    this.addRow.hidden = !editable;
    setText(
      this.hint,
      editable
        ? 'Click the map to add a waypoint; drag a numbered marker to move it. Altitudes are metres above mean sea level.'
        : this.mayEdit
          ? 'Drones fly this mission: the plan cannot change until it ends or is aborted.'
          : 'Read-only: your role may not change this mission.',
    );
    this.ctx.map.setClickHandler(this.editing && editable ? (lat, lon) => this.addAt(lat, lon) : null);
    this.renderWaypoints();
    this.renderButtons();
    this.renderProblems();
    this.dronesCard.hidden = !this.mission;
    this.flightCard.hidden = !this.mission;
    this.renderDrones();
    this.renderFlight();
    this.renderMap();
  }

  private renderButtons(): void {
    const editable = this.editable();
    this.editButtons.hidden = !this.mayEdit;
    this.saveBtn.hidden = !editable;
    this.saveBtn.disabled = this.busy || (!this.dirty && !!this.mission);
    setText(this.saveBtn, this.mission ? (this.dirty ? 'Save changes' : 'Saved') : 'Create');
    this.validateBtn.hidden = !editable || !this.mission;
    this.validateBtn.disabled = this.busy;
    this.deleteBtn.hidden = !editable || !this.mission;
    this.deleteBtn.disabled = this.busy;
  }

  private problemMap(): Map<number, MissionProblem[]> {
    return problemsByIndex(this.dirty ? [] : this.mission?.problems);
  }

  private renderWaypoints(): void {
    const editable = this.editable();
    const problems = this.problemMap();
    const legs = legLengths(this.waypoints);
    const rows: HTMLElement[] = [];
    this.waypoints.forEach((wp, i) => {
      const num = (value: number | null, key: 'alt' | 'speed' | 'hold_s', testid: string, step: string): HTMLInputElement => {
        const el = input('number', { testid, value: value === null ? '' : String(value), step, attrs: { 'aria-label': `${key} of waypoint ${i + 1}` } });
        el.disabled = !editable;
        el.addEventListener('input', () => {
          const v = parseOptional(el.value);
          const change: Partial<Waypoint> = key === 'speed' ? { speed: v } : { [key]: v ?? (key === 'hold_s' ? 0 : NaN) };
          this.setWaypoints(updateWaypoint(this.waypoints, i, change), false);
        });
        return el;
      };
      const action = select(
        WAYPOINT_ACTIONS.map((a) => [a, a] as const),
        { testid: 'wp-action', attrs: { 'aria-label': `action of waypoint ${i + 1}` } },
      );
      action.value = wp.action;
      action.disabled = !editable;
      action.addEventListener('change', () => this.setWaypoints(updateWaypoint(this.waypoints, i, { action: action.value as WaypointAction }), false));
      const probs = problems.get(i);
      const tools = editable
        ? h('td', { class: 'wp-tools' }, [
            button('↑', { class: 'btn small', testid: 'wp-up', title: 'earlier' }, () => this.setWaypoints(moveWaypoint(this.waypoints, i, -1))),
            button('↓', { class: 'btn small', testid: 'wp-down', title: 'later' }, () => this.setWaypoints(moveWaypoint(this.waypoints, i, 1))),
            button('✕', { class: 'btn small danger', testid: 'wp-delete', title: 'delete' }, () => this.setWaypoints(removeWaypoint(this.waypoints, i))),
          ])
        : h('td');
      rows.push(
        h('tr', { class: probs ? 'has-problem' : '', testid: 'waypoint-row', data: { index: String(i) } }, [
          h('td', { class: 'wp-num', text: String(i + 1) }),
          h('td', { class: 'wp-pos', text: `${fmt.coord(wp.lat)} ${fmt.coord(wp.lon)}`, title: i > 0 ? `leg ${Math.round(legs[i]!)} m` : 'first waypoint' }),
          h('td', {}, [num(wp.alt, 'alt', 'wp-alt', '1')]),
          h('td', {}, [num(wp.speed, 'speed', 'wp-speed', '0.5')]),
          h('td', {}, [num(wp.hold_s, 'hold_s', 'wp-hold', '1')]),
          h('td', {}, [action]),
          tools,
        ]),
      );
      if (probs)
        rows.push(
          h('tr', { class: 'problem-row' }, [
            h('td', {}),
            h('td', { attrs: { colspan: '6' }, testid: 'waypoint-problem', data: { index: String(i) } }, [
              probs.map((p) => `${p.field}: ${p.reason}`).join(' · '),
            ]),
          ]),
        );
    });
    if (!rows.length) rows.push(h('tr', {}, [h('td', { attrs: { colspan: '7' }, class: 'muted', text: editable ? 'No waypoints: click the map.' : 'No waypoints.' })]));
    this.wpBody.replaceChildren(...rows);
    const total = legs.reduce((a, b) => a + b, 0);
    setText(this.wpSummary, this.waypoints.length ? `${this.waypoints.length} waypoints · route ${(total / 1000).toFixed(2)} km` : '');
  }

  private renderProblems(): void {
    const m = this.mission;
    const whole = this.problemMap().get(-1) ?? [];
    const items: HTMLElement[] = [];
    if (m && !this.dirty) {
      const n = m.problems?.length ?? 0;
      items.push(
        h('li', {
          class: m.state === 'draft' ? 'error' : 'muted',
          text: m.state === 'draft' ? `Does not validate: ${n} problem${n === 1 ? '' : 's'}${n ? ' (at their waypoints)' : ''}.` : `State ${m.state}.`,
        }),
      );
    } else if (this.dirty && m) items.push(h('li', { class: 'muted', text: 'Changed: save to validate again.' }));
    for (const p of whole) items.push(h('li', { class: 'error', testid: 'mission-problem', text: `${p.field}: ${p.reason}` }));
    this.missionProblems.replaceChildren(...items);
  }

  private async save(): Promise<boolean> {
    const r = missionBody({ name: this.name.value, group: this.group.value, cruiseSpeed: this.cruise.value, finalAction: this.finalAction.value }, this.waypoints);
    if (!r.ok) {
      this.showError(this.editError, new Error(r.message));
      return false;
    }
    const created = !this.mission;
    return this.run(this.editError, async () => {
      const m = this.mission ? await this.ctx.api.updateMission(this.mission.id, r.body) : await this.ctx.api.createMission(r.body);
      this.replaceMission(m, true);
      if (created) this.fitRoute();
    });
  }

  private async validate(): Promise<void> {
    if (this.dirty) {
      await this.save(); // a PATCH validates the merged plan
      return;
    }
    const id = this.mission?.id;
    if (!id) return;
    await this.run(this.editError, async () => this.replaceMission(await this.ctx.api.missionAction(id, 'validate'), true));
  }

  private async remove(): Promise<void> {
    const m = this.mission;
    if (!m || !confirm(`Delete the mission "${m.name}"?`)) return;
    await this.run(this.editError, async () => {
      await this.ctx.api.deleteMission(m.id);
      this.missions = this.missions.filter((x) => x.id !== m.id);
      this.mission = null;
      this.editing = false;
      this.waypoints = [];
      this.renderList();
      this.renderAll();
    });
  }

  // ---- drones

  private buildDrones(): void {
    this.dronesCard.append(
      h('h3', { text: 'Drones' }),
      h('p', { class: 'muted small', text: 'Drones of the mission’s group that you see.' }),
      this.droneChoices,
      h('div', { class: 'button-row' }, [this.assignBtn]),
      this.assignError,
    );
  }

  private renderDrones(): void {
    const m = this.mission;
    if (!m) return;
    const mayAssign = this.mayEdit && allowedActions(this.liveState(), m.drones.length).edit;
    this.assignBtn.hidden = !mayAssign;
    const assigned = new Set(m.drones.map((d) => d.drone_id));
    const ids = new Set<string>(assigned);
    for (const [id, e] of this.ctx.store.entries) if (e.drone.group === m.group) ids.add(id);
    const sorted = [...ids].sort();
    const key = `${m.id}|${m.updated_at}|${mayAssign}|${sorted.join(',')}`;
    if (key === this.droneChoicesKey) return;
    this.droneChoicesKey = key;
    if (!sorted.length) {
      this.droneChoices.replaceChildren(h('p', { class: 'muted', text: `No drone of group ${m.group} is in your fleet.` }));
      return;
    }
    this.droneChoices.replaceChildren(
      ...sorted.map((id) => {
        const box = input('checkbox', { testid: 'mission-drone-option', data: { id } });
        box.checked = assigned.has(id);
        box.disabled = !mayAssign;
        const status = this.ctx.store.get(id)?.drone.status ?? 'not live';
        return h('label', { class: 'check' }, [box, h('span', { text: id }), h('span', { class: `muted small`, text: status })]);
      }),
    );
  }

  private async assign(): Promise<void> {
    const m = this.mission;
    if (!m) return;
    const ids = [...this.droneChoices.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')].filter((b) => b.checked).map((b) => b.dataset.id!);
    await this.run(this.assignError, async () => this.replaceMission(await this.ctx.api.assignMission(m.id, ids), !this.dirty));
  }

  // ---- flying and progress

  private buildFlight(): void {
    const b = this.flightButtons;
    this.flightCard.append(
      h('h3', { text: 'Flight' }),
      h('div', { class: 'form-row' }, [h('span', { class: 'muted', text: 'State' }), this.stateEl, this.reasonEl]),
      h('div', { class: 'button-row' }, [b.upload, b.start, b.pause, b.resume, b.abort]),
      this.flightError,
      h('div', { class: 'table-box' }, [
        h('table', { class: 'progress', testid: 'mission-progress' }, [
          h('thead', {}, [h('tr', {}, [h('th', { text: 'drone' }), h('th', { text: 'state' }), h('th', { text: 'progress' }), h('th', { text: 'reason' })])]),
          this.progressBody,
        ]),
      ]),
    );
  }

  private renderFlight(): void {
    const m = this.mission;
    if (!m) return;
    const live = liveProgress(m, (id) => this.ctx.missions.get(id), this.readAt);
    setText(this.stateEl, live.state);
    this.stateEl.dataset.state = live.state;
    this.stateEl.className = `mission-state mstate ${live.state}`;
    setText(this.reasonEl, m.reason ?? '');
    const allowed = allowedActions(live.state, m.drones.length);
    const may = this.mayEdit;
    for (const a of ['upload', 'start', 'pause', 'resume', 'abort'] as const) {
      this.flightButtons[a].hidden = !may || !allowed[a];
      this.flightButtons[a].disabled = this.busy || (a === 'upload' && this.dirty);
    }
    const items = m.items?.length ?? 0;
    this.progressBody.replaceChildren(
      ...(live.drones.length
        ? live.drones.map((d) => this.progressRow(d, items))
        : [h('tr', {}, [h('td', { attrs: { colspan: '4' }, class: 'muted', text: 'No drones assigned.' })])]),
    );
  }

  private progressRow(d: MissionDrone, items: number): HTMLElement {
    return h('tr', { testid: 'mission-drone-progress', data: { id: d.drone_id, state: d.state, current: String(d.current_seq ?? ''), reached: String(d.reached?.length ?? 0) } }, [
      h('td', {}, [h('a', { text: d.drone_id, attrs: { href: href('drone', d.drone_id) } })]),
      h('td', { class: `mstate ${d.state}`, text: d.state }),
      h('td', { text: progressText(d, items) }),
      h('td', { class: 'muted', text: d.reason ?? '' }),
    ]);
  }

  private async act(a: Exclude<Action, 'validate'>): Promise<void> {
    const m = this.mission;
    if (!m) return;
    await this.run(this.flightError, async () => {
      const answer = await this.ctx.api.missionAction(m.id, a);
      this.replaceMission(answer, !this.dirty);
      const refused = (answer.commands ?? []).filter((c) => c.error);
      if (refused.length) {
        this.showError(this.flightError, new Error(refused.map((c) => `${c.drone_id}: ${c.error!.message || c.error!.code}`).join('; ')));
      }
    });
  }

  private render(): void {
    if (!this.mission) return;
    if (this.ctx.missions.version === this.missionSeen) return;
    this.missionSeen = this.ctx.missions.version;
    // A frame about this mission: read it again soon (the stored mission is the truth; a frame that came before the
    // answer of an action, or a state the frames do not carry, would otherwise be missed).
    const m = this.mission;
    const newest = Math.max(0, ...m.drones.map((d) => {
      const f = this.ctx.missions.get(d.drone_id);
      return f && f.mission_id === m.id ? (f.received ?? 0) : 0;
    }));
    if (newest > this.frameSeen) {
      this.frameSeen = newest;
      this.scheduleReload(400);
    }
    this.renderFlight();
    this.renderMap();
    // The plan became (un)changeable with the state: the editor follows.
    const editable = this.editable();
    if (this.addRow.hidden === editable) this.renderAll();
  }

  private tick(): void {
    if (!this.mission) return;
    this.renderDrones(); // drones that came or went
    // While an upload is under way, read the mission every 2 s as well (acknowledgements may bring no frame here).
    if (this.liveState() === 'uploading' && Date.now() - this.readAt > 2000) this.scheduleReload(0);
  }

  private scheduleReload(ms: number): void {
    if (this.reloadTimer) return;
    this.reloadTimer = window.setTimeout(() => {
      this.reloadTimer = 0;
      if (!this.closed) void this.reloadShown();
    }, ms);
  }

  // ---- the map

  private renderMap(): void {
    const m = this.mission;
    const problems = this.problemMap();
    const live = m ? liveProgress(m, (id) => this.ctx.missions.get(id), this.readAt) : null;
    const reached = new Set<number>();
    const current = new Set<number>();
    for (const d of live?.drones ?? []) {
      for (const r of d.reached ?? []) reached.add(r.seq);
      if (typeof d.current_seq === 'number' && (d.state === 'active' || d.state === 'paused')) current.add(d.current_seq);
    }
    const editable = this.editing && this.editable();
    const key = JSON.stringify([this.waypoints, [...problems.keys()], [...reached], [...current], editable]);
    if (key === this.mapKey) return;
    this.mapKey = key;
    this.layer.clearLayers();
    this.markers = [];
    if (!this.editing) return;
    const pts = this.waypoints.map((w) => [w.lat, w.lon] as L.LatLngTuple);
    this.route = L.polyline(pts, { color: '#58a6ff', weight: 3, opacity: 0.9, dashArray: '8 6', interactive: false }).addTo(this.layer);
    const done = [...reached].filter((s) => s < pts.length).sort((a, b) => a - b);
    if (done.length) {
      const upTo = Math.max(...done);
      L.polyline(pts.slice(0, upTo + 1), { color: '#3fb950', weight: 4, opacity: 0.9, interactive: false }).addTo(this.layer);
    }
    this.waypoints.forEach((w, i) => {
      const cls = problems.has(i) ? 'problem' : reached.has(i) ? 'reached' : current.has(i) ? 'current' : '';
      const el = h('span', { class: `wp-marker ${cls}`, text: String(i + 1), data: { index: String(i) } });
      el.dataset.testid = 'wp-marker';
      const marker = L.marker([w.lat, w.lon], {
        icon: L.divIcon({ html: el, className: 'wp-icon', iconSize: [22, 22], iconAnchor: [11, 11] }),
        draggable: editable,
        keyboard: false,
        title: problems.has(i) ? problems.get(i)!.map((p) => p.reason).join('; ') : `waypoint ${i + 1}`,
      }).addTo(this.layer);
      marker.on('drag', () => {
        const ll = marker.getLatLng();
        pts[i] = [ll.lat, ll.lng];
        this.route?.setLatLngs(pts);
      });
      marker.on('dragend', () => {
        const ll = marker.getLatLng();
        this.setWaypoints(relocateWaypoint(this.waypoints, i, ll.lat, ll.lng));
      });
      this.markers.push(marker);
    });
  }

  // ---- helpers

  private async run(errorEl: HTMLElement, fn: () => Promise<void>): Promise<boolean> {
    errorEl.hidden = true;
    this.busy = true;
    this.renderButtons();
    this.renderFlight();
    try {
      await fn();
      return true;
    } catch (e) {
      if (!(e instanceof SessionEndedError) && !this.closed) this.showError(errorEl, e);
      if (e instanceof ApiError && e.status === 409 && this.mission) void this.reloadShown(); // the stored state moved on
      return false;
    } finally {
      this.busy = false;
      if (!this.closed) {
        this.renderButtons();
        this.renderFlight();
      }
    }
  }

  private showError(el: HTMLElement, e: unknown): void {
    let text = describeError(e);
    if (e instanceof ApiError) {
      const drone = e.stringExtra('drone_id');
      if (drone && !text.includes(drone)) text += ` (drone ${drone})`;
    }
    el.textContent = text;
    el.hidden = false;
  }
}
