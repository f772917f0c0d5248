// #/admin/cluster (the admin page's Cluster tab): the cluster's members as the node this page is connected to sees
// them (GET /api/v1/cluster: id, HTTP address, roles, start epoch, which one answers), read every few seconds, and
// the drones each owns among the session's live drones (their `node`), counted again whenever the drones change. A
// member that leaves drops out; its drones move to the members that serve them now: a node failover seen live. A
// single node says so. Pure logic: clusterModel.ts.
import {
  clusterSummary,
  countOwners,
  dronesSummary,
  lacksOwner,
  memberRows,
  parseCluster,
  sameCounts,
  type MemberRow,
  type OwnerCounts,
} from '../clusterModel';
import type { AppContext } from '../context';
import { h, setText } from '../dom';
import { describeError, SessionEndedError } from '../errors';
import * as fmt from '../format';
import type { ClusterStatus } from '../types';

/** The membership is read this often (seconds). */
const REFRESH_S = 3;
/** The live drones are counted at most this often (ms): a large fleet changes at every frame. */
const COUNT_MS = 250;
/** A drone naming an owner the membership lacks (a member that just joined) reads it again, at most this often (ms). */
const UNKNOWN_OWNER_MS = 1000;

export class ClusterView {
  readonly root: HTMLElement;
  private readonly status = h('p', { class: 'cluster-status', testid: 'cluster-status' });
  private readonly drones = h('p', { class: 'muted', testid: 'cluster-drones' });
  private readonly updated = h('span', { class: 'muted small', testid: 'cluster-updated' });
  private readonly error = h('p', { class: 'error', testid: 'cluster-error', hidden: true });
  private readonly tbody = h('tbody', { testid: 'cluster-list' });
  private readonly table: HTMLElement;
  private readonly stops: (() => void)[] = [];
  private cluster: ClusterStatus | null = null;
  private counts: OwnerCounts = countOwners([]);
  private countedVersion = -1;
  private countedAt = -Infinity;
  private loadedAt = -Infinity;
  private loading = false;
  private dirty = true;
  private closed = false;

  constructor(private readonly ctx: AppContext) {
    this.table = h('div', { class: 'table-box', hidden: true }, [
      h('table', { class: 'admin cluster' }, [
        h('thead', {}, [
          h(
            'tr',
            {},
            ['node', 'HTTP address', 'cluster address', 'roles', 'started (epoch)', 'last heard', 'drone actors', 'drones (live view)'].map((t) =>
              h('th', { text: t }),
            ),
          ),
        ]),
        this.tbody,
      ]),
    ]);
    this.root = h('section', { class: 'card', testid: 'cluster-page' }, [
      h('h3', {}, ['Cluster ', this.updated]),
      this.status,
      this.drones,
      this.error,
      this.table,
      h('p', {
        class: 'muted small',
        text:
          'The members as the node this page is connected to sees them, read every few seconds. "drone actors" is what each member reports; ' +
          '"drones (live view)" counts the drones this session sees by the node that serves them now: when a member leaves, its drones move to the others.',
      }),
    ]);
    let seconds = 0;
    this.stops.push(
      ctx.frames.add((now) => this.render(now)),
      ctx.tick.on(() => ++seconds % REFRESH_S === 0 && void this.load()),
      ctx.reconnected.on(() => void this.load()),
    );
    void this.load();
  }

  destroy(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
  }

  private async load(): Promise<void> {
    if (this.loading || this.closed) return;
    this.loading = true;
    this.loadedAt = Date.now();
    try {
      const answer = parseCluster(await this.ctx.api.cluster());
      if (this.closed) return;
      this.cluster = answer;
      this.error.hidden = true;
      setText(this.updated, `read ${fmt.clock(Date.now())}`);
    } catch (e) {
      if (this.closed || e instanceof SessionEndedError) return;
      // The last membership stays shown, with the reason it could not be read again.
      this.error.textContent = `Cannot read the cluster's membership: ${describeError(e)}`;
      this.error.hidden = false;
    } finally {
      this.loading = false;
    }
    this.dirty = true;
    this.ctx.frames.request();
  }

  private render(now: number): void {
    const store = this.ctx.store;
    if (store.version !== this.countedVersion && now - this.countedAt >= COUNT_MS) {
      this.countedVersion = store.version;
      this.countedAt = now;
      const counts = countOwners(droneObjects(store.entries.values()));
      if (!sameCounts(this.counts, counts)) {
        this.counts = counts;
        this.dirty = true;
      }
    }
    if (lacksOwner(this.cluster, this.counts) && now - this.loadedAt >= UNKNOWN_OWNER_MS) void this.load();
    if (!this.dirty) return;
    this.dirty = false;
    this.draw();
  }

  private draw(): void {
    const c = this.cluster;
    setText(this.status, clusterSummary(c));
    this.status.dataset.enabled = c === null ? '' : String(c.enabled);
    setText(this.drones, dronesSummary(c, this.counts));
    const rows = memberRows(c, this.counts);
    this.table.hidden = !c?.enabled;
    this.tbody.replaceChildren(...rows.map((r) => memberRow(r)));
  }
}

function* droneObjects(entries: Iterable<{ drone: { node?: unknown } }>): Iterable<{ node?: unknown }> {
  for (const e of entries) yield e.drone;
}

function memberRow(r: MemberRow): HTMLElement {
  const heard = r.self ? 'this node' : r.heardMsAgo === null ? fmt.DASH : `${Math.round(r.heardMsAgo)} ms ago`;
  return h('tr', { testid: 'cluster-member', class: r.member ? '' : 'muted', data: { id: r.id, self: String(r.self), member: String(r.member), drones: String(r.drones), http: r.http } }, [
    h('td', {}, [
      h('code', { text: r.id }),
      ' ',
      r.self ? h('span', { class: 'badge online', text: 'this page’s node', testid: 'cluster-self' }) : null,
      r.member ? null : h('span', { class: 'badge lost', text: 'not a member', title: 'drones still name this node as their owner; they move to the members as they re-home' }),
    ]),
    h('td', { text: r.http || fmt.DASH }),
    h('td', { class: 'muted', text: r.cluster || fmt.DASH }),
    h('td', { text: r.roles || fmt.DASH }),
    h('td', { class: 'muted small', text: r.epoch === null ? fmt.DASH : fmt.dateTime(r.epoch), title: r.epoch === null ? '' : String(r.epoch) }),
    h('td', { class: 'muted small', text: r.member ? heard : fmt.DASH }),
    h('td', { text: r.actors === null ? fmt.DASH : String(r.actors) }),
    h('td', { testid: 'cluster-member-drones', text: String(r.drones) }),
  ]);
}
