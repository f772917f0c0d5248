// #/admin, #/admin/registry, #/admin/audit, #/admin/cluster: the admin screens (admins only; hidden for other
// roles). Users (list, create with a password, role, groups, disable/enable, change role, groups and password), the
// drone registry (register → the secret shown once in a dialog with a copy button, rotate and revoke the secret, move
// to another group, delete), the audit log with its filters and paging, and the cluster's members with the drones
// each owns (pages/clusterView.ts). Pure logic: adminModel.ts, clusterModel.ts.
import { allPages } from '../api';
import { auditQuery, newUserBody, OUTCOMES, registerBody, ROLES, userChange, type AuditFilter } from '../adminModel';
import type { AppContext } from '../context';
import { button, h, input, labelled, select, setText } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import * as fmt from '../format';
import { href, type Page } from '../router';
import type { AuditEntry, RestDrone, UserRecord } from '../types';
import { ClusterView } from './clusterView';

export type AdminTab = 'users' | 'registry' | 'audit' | 'cluster';

const TABS: readonly (readonly [AdminTab, string, string])[] = [
  ['users', 'Users', 'admin'],
  ['registry', 'Drone registry', 'admin/registry'],
  ['audit', 'Audit log', 'admin/audit'],
  ['cluster', 'Cluster', 'admin/cluster'],
];

function when(v: unknown): string {
  if (typeof v === 'number') return fmt.dateTime(v);
  if (typeof v === 'string' && v) return fmt.isoDateTime(v);
  return fmt.DASH;
}

function showError(el: HTMLElement, e: unknown): void {
  if (e instanceof SessionEndedError) return;
  el.textContent = describeError(e);
  el.hidden = false;
}

export class AdminPage implements Page {
  readonly layout = 'full';
  private closed = false;
  private root: HTMLElement = h('article');
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly tab: AdminTab,
  ) {}

  mount(panel: HTMLElement): void {
    const tabs = h(
      'nav',
      { class: 'tabs' },
      TABS.map(([t, text, path]) =>
        h('a', { class: `btn${t === this.tab ? ' on' : ''}`, text, testid: `admin-tab-${t}`, attrs: { href: href(...path.split('/')) } }),
      ),
    );
    const body = this.tab === 'users' ? this.users() : this.tab === 'registry' ? this.registry() : this.tab === 'audit' ? this.audit() : this.clusterTab();
    this.root = h('article', { class: 'page admin-page', testid: `admin-${this.tab}` }, [h('h2', { text: 'Administration' }), tabs, body]);
    panel.append(this.root);
  }

  unmount(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
  }

  // ---- cluster

  private clusterTab(): HTMLElement {
    const view = new ClusterView(this.ctx);
    this.stops.push(() => view.destroy());
    return view.root;
  }

  // ---- users

  private users(): HTMLElement {
    const name = input('text', { testid: 'user-name', attrs: { autocomplete: 'off', maxlength: '64' } });
    const password = input('password', { testid: 'user-password', attrs: { autocomplete: 'new-password' } });
    const role = select(
      ROLES.map((r) => [r, r] as const),
      { testid: 'user-role' },
    );
    const groups = input('text', { testid: 'user-groups', attrs: { placeholder: 'east, west' } });
    const error = h('p', { class: 'error', testid: 'user-error', hidden: true });
    const status = h('p', { class: 'muted', testid: 'user-status' });
    const tbody = h('tbody', { testid: 'user-list' });
    const load = async (): Promise<void> => {
      try {
        const list = (await this.ctx.api.users()).users ?? [];
        if (this.closed) return;
        setText(status, `${list.length} users`);
        tbody.replaceChildren(...list.map((u) => this.userRow(u, load)));
      } catch (e) {
        showError(error, e);
      }
    };
    const create = button('Create user', { class: 'btn primary', testid: 'user-create' }, async () => {
      error.hidden = true;
      const r = newUserBody({ name: name.value, password: password.value, role: role.value, groups: groups.value });
      if (!r.ok) return showError(error, new Error(r.message));
      create.disabled = true;
      try {
        await this.ctx.api.createUser(r.body);
        name.value = password.value = groups.value = '';
        setText(status, `Created ${r.body.name}.`);
        await load();
      } catch (e) {
        showError(error, e);
      } finally {
        create.disabled = false;
      }
    });
    void load();
    return h('div', {}, [
      h('section', { class: 'card', testid: 'user-form' }, [
        h('h3', { text: 'New user' }),
        h('div', { class: 'form-row' }, [
          labelled('Name', name, 'inline'),
          labelled('Password', password, 'inline'),
          labelled('Role', role, 'inline'),
          labelled('Groups', groups, 'inline'),
          create,
        ]),
        error,
      ]),
      h('section', { class: 'card' }, [
        h('h3', { text: 'Users' }),
        status,
        h('div', { class: 'table-box' }, [
          h('table', { class: 'admin' }, [
            h('thead', {}, [h('tr', {}, ['name', 'role', 'groups', 'state', 'changed', ''].map((t) => h('th', { text: t })))]),
            tbody,
          ]),
        ]),
      ]),
    ]);
  }

  private userRow(u: UserRecord, reload: () => Promise<void>): HTMLElement {
    const role = select(
      ROLES.map((r) => [r, r] as const),
      { testid: 'user-row-role' },
    );
    role.value = u.role;
    const groups = input('text', { testid: 'user-row-groups', value: u.groups.join(', ') });
    const pw = input('password', { testid: 'user-row-password', attrs: { placeholder: 'new password', autocomplete: 'new-password' } });
    const error = h('div', { class: 'error small', testid: 'user-row-error', hidden: true });
    const run = async (fn: () => Promise<unknown>): Promise<void> => {
      error.hidden = true;
      try {
        await fn();
        await reload();
      } catch (e) {
        showError(error, e);
      }
    };
    const save = button('Save', { class: 'btn small', testid: 'user-save' }, () => {
      const r = userChange(u, role.value, groups.value);
      if (r === null) return;
      if (!r.ok) return showError(error, new Error(r.message));
      void run(() => this.ctx.api.updateUser(u.name, r.body));
    });
    const toggle = button(u.enabled ? 'Disable' : 'Enable', { class: `btn small${u.enabled ? ' danger' : ''}`, testid: 'user-toggle' }, () => {
      if (u.enabled && !confirm(`Disable ${u.name}? Their sessions end at once.`)) return;
      void run(() => this.ctx.api.updateUser(u.name, { enabled: !u.enabled }));
    });
    const setPw = button('Set password', { class: 'btn small', testid: 'user-password-set' }, () => {
      if (!pw.value) return showError(error, new Error('Type the new password first.'));
      void run(() => this.ctx.api.updateUser(u.name, { password: pw.value }));
    });
    return h('tr', { testid: 'user-row', data: { name: u.name, role: u.role, enabled: String(u.enabled) } }, [
      h('td', {}, [h('b', { text: u.name })]),
      h('td', {}, [role]),
      h('td', {}, [groups]),
      h('td', { class: u.enabled ? '' : 'error', text: u.enabled ? 'enabled' : 'disabled' }),
      h('td', { class: 'muted small', text: when(u.updated_at) }),
      h('td', {}, [h('div', { class: 'button-row' }, [save, toggle, pw, setPw]), error]),
    ]);
  }

  // ---- drone registry

  private registry(): HTMLElement {
    const id = input('text', { testid: 'reg-id', attrs: { maxlength: '64', autocomplete: 'off', placeholder: 'd-0001' } });
    const name = input('text', { testid: 'reg-name', attrs: { maxlength: '128' } });
    const group = input('text', { testid: 'reg-group', attrs: { placeholder: 'default' } });
    const model = input('text', { testid: 'reg-model', attrs: { maxlength: '64' } });
    const firmware = input('text', { testid: 'reg-firmware', attrs: { maxlength: '64' } });
    const error = h('p', { class: 'error', testid: 'reg-error', hidden: true });
    const status = h('p', { class: 'muted', testid: 'reg-status' });
    const filter = input('search', { testid: 'reg-filter', attrs: { placeholder: 'filter by id, name, group…' } });
    const tbody = h('tbody', { testid: 'reg-list' });
    let list: RestDrone[] = [];
    const draw = (): void => {
      const q = filter.value.trim().toLowerCase();
      const shown = list.filter((d) => !q || [d.id, d.registry?.name, d.registry?.group].some((s) => s?.toLowerCase().includes(q))).slice(0, 500);
      setText(status, `${list.length} registered drones${shown.length < list.length ? ` · ${shown.length} shown` : ''}`);
      tbody.replaceChildren(...shown.map((d) => this.droneRow(d, load)));
    };
    const load = async (): Promise<void> => {
      try {
        const all = await allPages<RestDrone>(async (cursor) => {
          const page = await this.ctx.api.drones(1000, cursor);
          return { items: page.drones ?? [], next: page.next_cursor };
        }, 20_000);
        if (this.closed) return;
        list = all.filter((d) => d.registered);
        draw();
      } catch (e) {
        showError(error, e);
      }
    };
    filter.addEventListener('input', draw);
    const register = button('Register', { class: 'btn primary', testid: 'register-drone' }, async () => {
      error.hidden = true;
      const r = registerBody({ id: id.value, name: name.value, group: group.value, model: model.value, firmware: firmware.value });
      if (!r.ok) return showError(error, new Error(r.message));
      register.disabled = true;
      try {
        const answer = await this.ctx.api.registerDrone(r.body);
        showSecret(this.root, answer.id, answer.secret, 'registered');
        id.value = name.value = model.value = firmware.value = '';
        await load();
      } catch (e) {
        showError(error, e);
      } finally {
        register.disabled = false;
      }
    });
    void load();
    return h('div', {}, [
      h('section', { class: 'card', testid: 'reg-form' }, [
        h('h3', { text: 'Register a drone' }),
        h('div', { class: 'form-row' }, [
          labelled('Id', id, 'inline'),
          labelled('Name', name, 'inline'),
          labelled('Group', group, 'inline'),
          labelled('Model', model, 'inline'),
          labelled('Firmware', firmware, 'inline'),
          register,
        ]),
        h('p', { class: 'muted small', text: 'The drone’s secret is shown once, right after registering (or a new one after Rotate).' }),
        error,
      ]),
      h('section', { class: 'card' }, [
        h('h3', { text: 'Registered drones' }),
        h('div', { class: 'toolbar' }, [filter, status]),
        h('div', { class: 'table-box' }, [
          h('table', { class: 'admin' }, [
            h('thead', {}, [h('tr', {}, ['id', 'name', 'group', 'credential', 'last seen', ''].map((t) => h('th', { text: t })))]),
            tbody,
          ]),
        ]),
      ]),
    ]);
  }

  private droneRow(d: RestDrone, reload: () => Promise<void>): HTMLElement {
    const reg = d.registry ?? { id: d.id };
    const group = input('text', { testid: 'reg-row-group', value: reg.group ?? '', attrs: { 'aria-label': `group of ${d.id}` } });
    group.size = 10;
    const error = h('div', { class: 'error small', testid: 'reg-row-error', hidden: true });
    const run = async (fn: () => Promise<void>): Promise<void> => {
      error.hidden = true;
      try {
        await fn();
        await reload();
      } catch (e) {
        showError(error, e);
      }
    };
    return h('tr', { testid: 'reg-row', data: { id: d.id, credential: reg.credential ?? '' } }, [
      h('td', {}, [h('a', { text: d.id, attrs: { href: href('drone', d.id) } })]),
      h('td', { text: reg.name ?? '' }),
      h('td', {}, [
        group,
        button('Move', { class: 'btn small', testid: 'reg-move' }, () => {
          const g = group.value.trim();
          if (!g || g === reg.group) return;
          void run(async () => void (await this.ctx.api.updateDrone(d.id, { group: g })));
        }),
      ]),
      h('td', { text: reg.credential ?? fmt.DASH }),
      h('td', { class: 'muted small', text: reg.last_seen ? fmt.isoDateTime(reg.last_seen) : 'never' }),
      h('td', {}, [
        h('div', { class: 'button-row' }, [
          button('Rotate secret', { class: 'btn small', testid: 'reg-rotate' }, () => {
            if (!confirm(`Give ${d.id} a new secret? The old one stops working and its connection closes.`)) return;
            void run(async () => {
              const s = await this.ctx.api.rotateSecret(d.id);
              showSecret(this.root, d.id, s.secret, 'rotated');
            });
          }),
          reg.credential === 'active'
            ? button('Revoke', { class: 'btn small danger', testid: 'reg-revoke' }, () => {
                if (!confirm(`Revoke the secret of ${d.id}? It cannot connect until it gets a new one.`)) return;
                void run(() => this.ctx.api.revokeSecret(d.id));
              })
            : null,
          button('Delete', { class: 'btn small danger', testid: 'reg-delete' }, () => {
            if (!confirm(`Delete ${d.id} from the registry? Its stored state goes too.`)) return;
            void run(() => this.ctx.api.deleteDrone(d.id));
          }),
        ]),
        error,
      ]),
    ]);
  }

  // ---- audit log

  private audit(): HTMLElement {
    const actor = input('search', { testid: 'audit-actor', attrs: { placeholder: 'user' } });
    const action = input('search', { testid: 'audit-action', attrs: { placeholder: 'e.g. login' } });
    const drone = input('search', { testid: 'audit-drone', attrs: { placeholder: 'drone id' } });
    const outcome = select([['', 'any'], ...OUTCOMES.map((o) => [o, o] as const)], { testid: 'audit-outcome' });
    const from = input('datetime-local', { testid: 'audit-from' });
    const to = input('datetime-local', { testid: 'audit-to' });
    const limit = select(
      ['50', '100', '200', '500'].map((n) => [n, n] as const),
      { testid: 'audit-limit' },
    );
    limit.value = '100';
    const status = h('p', { class: 'muted', testid: 'audit-status' });
    const error = h('p', { class: 'error', testid: 'audit-error', hidden: true });
    const tbody = h('tbody', { testid: 'audit-list' });
    let next: number | string | null = null;
    let seq = 0;
    let count = 0;
    const more = button('Load older', { testid: 'audit-more', hidden: true }, () => void query(true));
    const filter = (): AuditFilter => ({
      actor: actor.value,
      action: action.value,
      drone: drone.value,
      outcome: outcome.value,
      from: from.value,
      to: to.value,
      limit: Number(limit.value),
    });
    const query = async (older: boolean): Promise<void> => {
      error.hidden = true;
      let q: string;
      try {
        q = auditQuery(filter(), older ? next : null);
      } catch (e) {
        return showError(error, e);
      }
      const mine = ++seq;
      setText(status, 'Loading…');
      try {
        const page = await this.ctx.api.audit(q);
        if (this.closed || mine !== seq) return;
        const rows = (page.entries ?? []).map((e) => this.auditRow(e));
        if (older) tbody.append(...rows);
        else tbody.replaceChildren(...rows);
        count = (older ? count : 0) + rows.length;
        next = page.next_before;
        more.hidden = next === null;
        setText(status, `${count} entries${next === null ? '' : ' (more are older)'}`);
      } catch (e) {
        if (mine === seq) {
          setText(status, '');
          showError(error, e);
        }
      }
    };
    const search = button('Search', { class: 'btn primary', testid: 'audit-search' }, () => void query(false));
    for (const el of [actor, action, drone]) el.addEventListener('keydown', (ev) => ev.key === 'Enter' && void query(false));
    for (const el of [outcome, limit]) el.addEventListener('change', () => void query(false));
    void query(false);
    return h('section', { class: 'card' }, [
      h('div', { class: 'form-row' }, [
        labelled('Actor', actor, 'inline'),
        labelled('Action', action, 'inline'),
        labelled('Drone', drone, 'inline'),
        labelled('Outcome', outcome, 'inline'),
      ]),
      h('div', { class: 'form-row' }, [labelled('From', from, 'inline'), labelled('To', to, 'inline'), labelled('Per page', limit, 'inline'), search]),
      error,
      status,
      h('div', { class: 'table-box' }, [
        h('table', { class: 'admin audit' }, [
          h('thead', {}, [h('tr', {}, ['time', 'actor', 'action', 'drone', 'outcome', 'address', 'detail'].map((t) => h('th', { text: t })))]),
          tbody,
        ]),
      ]),
      more,
    ]);
  }

  private auditRow(e: AuditEntry): HTMLElement {
    const droneId = (e.drone_id ?? e.drone ?? '') as string;
    const detail = e.detail === undefined || e.detail === null ? '' : JSON.stringify(e.detail);
    return h('tr', { testid: 'audit-row', data: { id: String(e.id), action: e.action ?? '', outcome: e.outcome ?? '' } }, [
      h('td', { text: when(e.at ?? e.time) }),
      h('td', { text: e.actor ?? '' }),
      h('td', { text: e.action ?? '' }),
      h('td', {}, [droneId ? h('a', { text: droneId, attrs: { href: href('drone', droneId) } }) : null]),
      h('td', { class: e.outcome === 'ok' ? '' : 'error', text: e.outcome ?? '' }),
      h('td', { class: 'muted', text: e.address ?? '' }),
      h('td', { class: 'muted small audit-detail', text: detail.length > 200 ? `${detail.slice(0, 200)}…` : detail, title: detail.slice(0, 2000) }),
    ]);
  }
}

/** The secret of a drone, shown once: a modal dialog with the text selected, a copy button, and Close. */
function showSecret(container: HTMLElement, id: string, secret: string, what: 'registered' | 'rotated'): void {
  const field = input('text', { testid: 'secret-value', value: secret, attrs: { readonly: '', 'aria-label': `secret of ${id}` } });
  const note = h('p', { class: 'muted small', testid: 'secret-copy-status' });
  const copy = button('Copy', { class: 'btn primary', testid: 'secret-copy' }, async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(secret);
      setText(note, 'Copied to the clipboard.');
    } catch {
      field.focus();
      field.select();
      setText(note, 'The browser did not allow copying: the text is selected, press Ctrl+C (⌘C).');
    }
  });
  const dialog = h('dialog', { testid: 'secret-dialog' }, [
    h('h2', { text: what === 'registered' ? `${id} registered` : `New secret of ${id}` }),
    h('p', { text: 'This secret is shown only now. Configure it on the drone; the node keeps only its hash.' }),
    h('div', { class: 'secret-box' }, [field, copy]),
    note,
    h('div', { class: 'button-row' }, [
      button('Close', { testid: 'secret-close' }, () => {
        field.value = '';
        dialog.close();
        dialog.remove();
      }),
    ]),
  ]);
  dialog.addEventListener('cancel', () => dialog.remove());
  container.append(dialog); // inside the page: leaving it (or logging out) takes the dialog along
  dialog.showModal();
  field.select();
}
