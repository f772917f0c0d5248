// #/geofences: the geofence editor (docs/protocol.md, "Geofences"). The list of fences (drawn on the map by the map
// module, as everywhere); a fence's form (name, group, kind, floor, ceiling, action) and its polygon: click the map to
// add points, click the first point (or Close) to close it, drag points to move them; save (POST or PATCH), delete.
// Viewers, and operators on a fence of a group they do not command, see it read-only. Pure logic: fenceModel.ts.
import * as L from 'leaflet';
import { allPages } from '../api';
import type { AppContext } from '../context';
import { button, h, input, labelled, select, setOptions, setText } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import { ACTIONS, fenceBody, fenceForm, KINDS, MAX_VERTICES, openRing, polygonProblem, type LatLon } from '../fenceModel';
import * as fmt from '../format';
import { canCommand, canPlan } from '../permissions';
import type { Page } from '../router';
import type { Geofence } from '../types';

export class GeofencesPage implements Page {
  readonly layout = 'map-side';
  private closed = false;
  private fences: Geofence[] = [];
  private fence: Geofence | null = null;
  private editing = false;
  private pts: LatLon[] = [];
  /** The ring is closed: clicks no longer add points. */
  private ringClosed = false;
  private busy = false;

  private readonly listEl = h('ul', { class: 'fence-list', testid: 'fence-list' });
  private readonly listStatus = h('p', { class: 'muted', testid: 'fence-list-status' });
  private readonly editor = h('section', { class: 'card', testid: 'fence-editor', hidden: true });
  private readonly title = h('h3');
  private readonly name = input('text', { testid: 'fence-name', attrs: { maxlength: '128', placeholder: 'yard' } });
  private readonly group = select([], { testid: 'fence-group' });
  private readonly kind = select(
    KINDS.map((k) => [k, k] as const),
    { testid: 'fence-kind' },
  );
  private readonly floor = input('number', { testid: 'fence-floor', step: '1', attrs: { placeholder: 'none' } });
  private readonly ceiling = input('number', { testid: 'fence-ceiling', step: '1', attrs: { placeholder: 'none' } });
  private readonly action = select(
    ACTIONS.map((a) => [a, a] as const),
    { testid: 'fence-action' },
  );
  private readonly hint = h('p', { class: 'muted small', testid: 'fence-hint' });
  private readonly addLat = input('number', { testid: 'fence-add-lat', step: 'any', attrs: { placeholder: 'lat' } });
  private readonly addLon = input('number', { testid: 'fence-add-lon', step: 'any', attrs: { placeholder: 'lon' } });
  private readonly drawRow: HTMLElement;
  private readonly vertexInfo = h('p', { class: 'muted small', testid: 'fence-vertex-count' });
  private readonly buttons = h('div', { class: 'button-row' });
  private readonly closeBtn = button('Close polygon', { testid: 'fence-close' }, () => this.closeRing());
  private readonly clearBtn = button('Redraw', { testid: 'fence-clear' }, () => this.setPoints([], false));
  private readonly undoBtn = button('Remove last point', { testid: 'fence-undo' }, () => this.setPoints(this.pts.slice(0, -1), false));
  private readonly saveBtn = button('Save', { class: 'btn primary', testid: 'fence-save' }, () => void this.save());
  private readonly deleteBtn = button('Delete', { class: 'btn danger', testid: 'fence-delete' }, () => void this.remove());
  private readonly error = h('p', { class: 'error', testid: 'fence-error', hidden: true });

  private readonly layer = L.layerGroup();
  private shape: L.Polygon | L.Polyline | null = null;

  constructor(private readonly ctx: AppContext) {
    this.drawRow = h('div', { class: 'form-row' }, [
      h('span', { class: 'muted', text: 'Add point at' }),
      this.addLat,
      this.addLon,
      button('Add point', { testid: 'fence-add' }, () => this.addTyped()),
    ]);
  }

  private get mayCreate(): boolean {
    return canPlan(this.ctx.session.user);
  }

  private get mayEdit(): boolean {
    return this.fence ? canCommand(this.ctx.session.user, this.fence.group) : this.mayCreate;
  }

  mount(panel: HTMLElement): void {
    this.buttons.append(this.closeBtn, this.undoBtn, this.clearBtn, this.saveBtn, this.deleteBtn);
    this.editor.append(
      this.title,
      h('div', { class: 'form-row' }, [labelled('Name', this.name, 'inline'), labelled('Group', this.group, 'inline'), labelled('Kind', this.kind, 'inline')]),
      h('div', { class: 'form-row' }, [
        labelled('Floor m AMSL', this.floor, 'inline'),
        labelled('Ceiling m AMSL', this.ceiling, 'inline'),
        labelled('On breach', this.action, 'inline'),
      ]),
      this.hint,
      this.drawRow,
      this.vertexInfo,
      this.buttons,
      this.error,
    );
    this.kind.addEventListener('change', () => this.drawShape());
    panel.append(
      h('article', { class: 'page fences-page', testid: 'fences-page' }, [
        h('section', { class: 'card' }, [
          h('div', { class: 'toolbar' }, [
            h('h2', { text: 'Geofences' }),
            button('New fence', { class: 'btn primary', testid: 'fence-new', hidden: !this.mayCreate }, () => this.open(null)),
            button('Reload', { testid: 'fence-reload' }, () => void this.load()),
          ]),
          this.listStatus,
          this.listEl,
        ]),
        this.editor,
      ]),
    );
    this.layer.addTo(this.ctx.map.map);
    void this.load();
  }

  unmount(): void {
    this.closed = true;
    this.ctx.map.setClickHandler(null);
    this.layer.remove();
    this.ctx.map.hideGeofence(null); // the one being edited was left out
  }

  private async load(): Promise<void> {
    setText(this.listStatus, 'Loading…');
    try {
      const list = await allPages<Geofence>(async (after) => {
        const page = await this.ctx.api.geofences(1000, after);
        return { items: page.geofences ?? [], next: page.next_cursor };
      }, 10_000);
      if (this.closed) return;
      this.fences = list;
      this.renderList();
      this.showOnMap();
    } catch (e) {
      if (e instanceof SessionEndedError || this.closed) return;
      setText(this.listStatus, `Cannot read the geofences: ${describeError(e)}`);
    }
  }

  /** Every fence on the shared map (for every page) but the one being edited (drawn by this page instead). */
  private showOnMap(): void {
    this.ctx.map.hideGeofence(this.editing ? (this.fence?.id ?? null) : null);
    this.ctx.map.setGeofences(this.fences);
  }

  private renderList(): void {
    const n = this.fences.length;
    setText(this.listStatus, n ? `${n} fence${n === 1 ? '' : 's'}` : 'No geofences yet.');
    this.listEl.replaceChildren(
      ...this.fences.map((f) =>
        h('li', { class: `fence-entry${f.id === this.fence?.id ? ' selected' : ''}`, testid: 'fence-entry', data: { id: f.id, kind: f.kind } }, [
          button(f.name, { class: 'btn link', testid: 'fence-open' }, () => this.open(f)),
          h('span', { class: f.kind === 'exclusion' ? 'mstate failed' : 'mstate ready', text: f.kind }),
          h('span', {
            class: 'muted small',
            text: `${f.group} · ${fmt.isNum(f.floor) ? `${f.floor} m` : 'ground'} … ${fmt.isNum(f.ceiling) ? `${f.ceiling} m` : 'unbounded'} · ${f.action ?? 'alert'}`,
          }),
        ]),
      ),
    );
  }

  private open(f: Geofence | null): void {
    this.fence = f;
    this.editing = true;
    this.pts = openRing(f?.polygon?.coordinates?.[0]);
    this.ringClosed = this.pts.length >= 3;
    this.error.hidden = true;
    const u = this.ctx.session.user;
    const groups = new Set<string>(u?.role === 'admin' ? this.ctx.store.groups() : (u?.groups ?? []));
    if (u?.role === 'admin') for (const g of [...u.groups, 'default']) groups.add(g); // admins: any group; the node's default one too
    if (f) groups.add(f.group);
    if (!groups.size) groups.add('default');
    setOptions(this.group, [...groups].sort().map((g) => [g, g] as const));
    const form = fenceForm(f, groups.has('default') ? 'default' : [...groups].sort()[0]!);
    this.name.value = form.name;
    this.group.value = form.group;
    this.kind.value = form.kind;
    this.floor.value = form.floor;
    this.ceiling.value = form.ceiling;
    this.action.value = form.action;
    this.renderList();
    this.showOnMap();
    this.renderEditor();
    if (this.pts.length) this.ctx.map.map.fitBounds(L.latLngBounds(this.pts).pad(0.3), { maxZoom: 18, animate: false });
  }

  private renderEditor(): void {
    const editable = this.mayEdit;
    this.editor.hidden = !this.editing;
    setText(this.title, this.fence ? `Fence ${this.fence.name}` : 'New fence');
    for (const el of [this.name, this.group, this.kind, this.floor, this.ceiling, this.action]) el.disabled = !editable;
    this.buttons.hidden = !editable;
    this.drawRow.hidden = !editable || this.ringClosed;
    this.closeBtn.hidden = this.ringClosed;
    this.closeBtn.disabled = this.pts.length < 3;
    this.undoBtn.hidden = this.ringClosed || this.pts.length === 0;
    this.deleteBtn.hidden = !this.fence;
    for (const b of [this.saveBtn, this.deleteBtn]) b.disabled = this.busy;
    setText(
      this.hint,
      !editable
        ? 'Read-only: your role may not change this fence.'
        : this.ringClosed
          ? 'Drag a point to move it; Redraw to start the outline again. Altitudes are metres above mean sea level; empty = unbounded.'
          : 'Click the map to add points; click the first point (or Close polygon) to close the outline.',
    );
    const problem = this.pts.length ? polygonProblem(this.pts) : null;
    setText(this.vertexInfo, `${this.pts.length} point${this.pts.length === 1 ? '' : 's'}${this.ringClosed ? ' · closed' : ''}${problem && this.pts.length >= 3 ? ` · ${problem}` : ''}`);
    this.vertexInfo.dataset.count = String(this.pts.length);
    this.vertexInfo.dataset.closed = String(this.ringClosed);
    this.ctx.map.setClickHandler(editable && !this.ringClosed ? (lat, lon) => this.addPoint(lat, lon) : null);
    this.drawShape();
  }

  private setPoints(pts: LatLon[], closed: boolean): void {
    this.pts = pts;
    this.ringClosed = closed && pts.length >= 3;
    this.renderEditor();
  }

  private addPoint(lat: number, lon: number): void {
    if (this.pts.length >= MAX_VERTICES) return;
    this.setPoints([...this.pts, [lat, lon]], false);
  }

  private addTyped(): void {
    const lat = Number(this.addLat.value);
    const lon = Number(this.addLon.value);
    if (this.addLat.value.trim() === '' || this.addLon.value.trim() === '' || !Number.isFinite(lat) || !Number.isFinite(lon)) {
      this.showError(new Error('Type a latitude and a longitude in degrees, or click the map.'));
      return;
    }
    this.error.hidden = true;
    if (!this.ctx.map.map.getBounds().contains([lat, lon])) this.ctx.map.centerOn(lat, lon, 15);
    this.addPoint(lat, lon);
  }

  private closeRing(): void {
    if (this.pts.length >= 3) this.setPoints(this.pts, true);
  }

  private drawShape(): void {
    this.layer.clearLayers();
    this.shape = null;
    if (!this.editing || !this.pts.length) return;
    const exclusion = this.kind.value === 'exclusion';
    const style = { color: exclusion ? '#f85149' : '#58a6ff', weight: 2, fillOpacity: 0.18, interactive: false };
    const pts = this.pts.map((p) => [p[0], p[1]] as L.LatLngTuple);
    this.shape = this.ringClosed ? L.polygon(pts, { ...style, fill: true }).addTo(this.layer) : L.polyline(pts, { ...style, dashArray: '6 4' }).addTo(this.layer);
    const editable = this.mayEdit;
    pts.forEach((p, i) => {
      const el = h('span', { class: `fence-vertex${i === 0 ? ' first' : ''}`, data: { index: String(i) } });
      el.dataset.testid = 'fence-vertex';
      const m = L.marker(p, {
        icon: L.divIcon({ html: el, className: 'wp-icon', iconSize: [14, 14], iconAnchor: [7, 7] }),
        draggable: editable,
        keyboard: false,
        title: i === 0 && !this.ringClosed ? 'point 1: click to close' : `point ${i + 1}`,
      }).addTo(this.layer);
      m.on('drag', () => {
        const ll = m.getLatLng();
        pts[i] = [ll.lat, ll.lng];
        this.shape?.setLatLngs(pts);
      });
      m.on('dragend', () => {
        const ll = m.getLatLng();
        const next = [...this.pts];
        next[i] = [ll.lat, ll.lng];
        this.setPoints(next, this.ringClosed);
      });
      if (i === 0) m.on('click', () => editable && !this.ringClosed && this.closeRing());
    });
  }

  private async save(): Promise<void> {
    const r = fenceBody(
      { name: this.name.value, group: this.group.value, kind: this.kind.value, floor: this.floor.value, ceiling: this.ceiling.value, action: this.action.value },
      this.pts,
    );
    if (!r.ok) {
      this.showError(new Error(r.message));
      return;
    }
    await this.run(async () => {
      const saved = this.fence ? await this.ctx.api.updateGeofence(this.fence.id, r.body) : await this.ctx.api.createGeofence(r.body);
      const i = this.fences.findIndex((f) => f.id === saved.id);
      if (i >= 0) this.fences[i] = saved;
      else this.fences.push(saved);
      this.open(saved);
    });
  }

  private async remove(): Promise<void> {
    const f = this.fence;
    if (!f || !confirm(`Delete the geofence "${f.name}"?`)) return;
    await this.run(async () => {
      await this.ctx.api.deleteGeofence(f.id);
      this.fences = this.fences.filter((x) => x.id !== f.id);
      this.fence = null;
      this.editing = false;
      this.pts = [];
      this.ctx.map.setClickHandler(null);
      this.renderList();
      this.showOnMap();
      this.renderEditor();
    });
  }

  private async run(fn: () => Promise<void>): Promise<void> {
    this.error.hidden = true;
    this.busy = true;
    this.renderEditor();
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof SessionEndedError) && !this.closed) this.showError(e);
    } finally {
      this.busy = false;
      if (!this.closed) for (const b of [this.saveBtn, this.deleteBtn]) b.disabled = false;
    }
  }

  private showError(e: unknown): void {
    this.error.textContent = describeError(e);
    this.error.hidden = false;
  }
}
