// The drone detail's fields: the live state (from the store, every frame) and the registry (GET /api/v1/drones/{id},
// read when the page opens). A registered drone not connected now shows the registry's model and firmware; a
// registry last_seen of null is "never", not 1970. Also the node that serves the drone (its `node`: for admins the
// member's HTTP address from GET /api/v1/cluster, read again when the drone moves to a member not known yet) and the
// command kinds its hello listed.
import { findMember, ownerText, parseCluster } from './clusterModel';
import { commandKindsText } from './commandModel';
import type { AppContext } from './context';
import { h, setClass, setText } from './dom';
import * as fmt from './format';
import { isNum } from './format';
import type { ClusterStatus, Drone, RegistryEntry, RestDrone } from './types';

/** The membership is read again at most this often (a drone re-homed to a member that joined since). */
const CLUSTER_REREAD_MS = 5000;

type Field = [label: string, text: (d: Drone, latency: number | undefined, nodeNow: number) => string];

/** Parts joined with " · ", or a single dash when every value is missing (a drone that never sent telemetry). */
function parts(values: readonly unknown[], text: string): string {
  return values.some(isNum) ? text : fmt.DASH;
}

const LIVE_FIELDS: readonly Field[] = [
  ['mode', (d) => d.mode ?? fmt.DASH],
  ['armed', (d) => (typeof d.armed === 'boolean' ? (d.armed ? 'yes' : 'no') : fmt.DASH)],
  ['battery', (d) => `${fmt.fixed(d.battery, 1, '%')}${isNum(d.voltage) ? ` · ${fmt.fixed(d.voltage, 2, 'V')}` : ''}`],
  ['altitude', (d) => fmt.fixed(d.alt, 1, 'm AMSL')],
  ['speed', (d) => parts([d.speed, d.vspeed], `${fmt.fixed(d.speed, 1, 'm/s')} · vertical ${fmt.fixed(d.vspeed, 1, 'm/s')}`)],
  ['heading', (d) => fmt.fixed(d.heading, 0, '°')],
  ['position', (d) => parts([d.lat, d.lon], `${fmt.coord(d.lat)}, ${fmt.coord(d.lon)}`)],
  ['attitude', (d) => parts([d.roll, d.pitch, d.yaw], `roll ${fmt.fixed(d.roll, 1)}° · pitch ${fmt.fixed(d.pitch, 1)}° · yaw ${fmt.fixed(d.yaw, 1)}°`)],
  ['GNSS', (d) => parts([d.sats, d.fix], `${isNum(d.sats) ? `${d.sats} sats` : fmt.DASH} · fix ${isNum(d.fix) ? d.fix : fmt.DASH}`)],
  ['link', (d) => (typeof d.connected === 'boolean' ? (d.connected ? 'connected' : 'not connected') : fmt.DASH)],
  ['last seen', (d, _latency, now) => (d.last_seen === undefined ? fmt.DASH : fmt.ago(d.last_seen, now))],
  [
    'latency',
    (d, latency) =>
      parts(
        [d.recv, latency],
        `drone → node ${isNum(d.recv) && isNum(d.ts) ? fmt.latency(d.recv - d.ts) : fmt.DASH} · drone → page ${fmt.latency(latency)}`,
      ),
  ],
  ['seq', (d) => (isNum(d.seq) ? String(d.seq) : fmt.DASH)],
];

export class DroneFields {
  readonly root: HTMLElement;
  private readonly badge = h('span', { class: 'badge unknown', testid: 'detail-status' });
  private readonly name = h('span', { class: 'drone-name', testid: 'detail-name' });
  private readonly group = h('span', { class: 'muted' });
  private readonly mission = h('div', { class: 'mission-line', hidden: true, testid: 'detail-mission' });
  private readonly liveValues: HTMLElement[] = [];
  private readonly nodeValue = h('dd', { testid: 'detail-node', data: { field: 'node' } });
  private readonly kindsValue = h('dd', { testid: 'detail-commands', data: { field: 'commands' } });
  /** GET /api/v1/cluster's answer (admins only; others see the owner's id). */
  private cluster: ClusterStatus | null = null;
  private clusterAskedAt = -Infinity;
  private clusterLoading = false;
  private readonly registryBox = h('div', { class: 'registry', testid: 'detail-registry' });
  private readonly missing = h('p', { class: 'muted', hidden: true, text: 'This drone is not in the live view (not connected to the node, or not in your groups).' });
  private registry: RegistryEntry | null = null;
  private restDrone: RestDrone | null = null;
  private versionSeen = -1;
  private missionSeen = -1;

  constructor(
    private readonly ctx: AppContext,
    private readonly id: string,
  ) {
    const dl = h('dl', { class: 'fields' });
    for (const [label] of LIVE_FIELDS) {
      const dd = h('dd', { data: { field: label } });
      this.liveValues.push(dd);
      dl.append(h('dt', { text: label }), dd);
    }
    dl.append(h('dt', { text: 'node' }), this.nodeValue, h('dt', { text: 'commands' }), this.kindsValue);
    this.root = h('div', { class: 'drone-fields' }, [
      h('div', { class: 'title-line' }, [this.badge, this.name, this.group]),
      this.mission,
      this.missing,
      dl,
      h('h3', { text: 'Registry' }),
      this.registryBox,
    ]);
    this.registry = ctx.store.registry.get(id) ?? null;
    this.renderRegistry();
  }

  /** The REST view of the drone (registry, and the state when it is not live). */
  setRest(d: RestDrone): void {
    this.restDrone = d;
    this.registry = d.registry ?? null;
    this.versionSeen = -1;
    this.renderRegistry();
  }

  setRegistryError(text: string): void {
    this.registryBox.replaceChildren(h('p', { class: 'error', text }));
  }

  /** Once per animation frame (and each second: "last seen" ages). */
  render(now: number, force: boolean): void {
    const store = this.ctx.store;
    if (store.version !== this.versionSeen || force) {
      this.versionSeen = store.version;
      const live = store.get(this.id);
      const drone = live?.drone ?? this.restDrone ?? undefined;
      this.missing.hidden = !!live;
      const status = drone?.status;
      setText(this.badge, status ?? 'unknown');
      setClass(this.badge, `badge ${status === 'online' || status === 'stale' || status === 'lost' ? status : 'unknown'}`);
      setText(this.name, this.registry?.name ?? '');
      setText(this.group, drone?.group ? `group ${drone.group}` : '');
      const nodeNow = store.nodeNow(now);
      LIVE_FIELDS.forEach(([, text], i) => setText(this.liveValues[i]!, drone ? text(drone, live?.latency, nodeNow) : fmt.DASH));
      this.renderOwner(drone, now);
      setText(this.kindsValue, commandKindsText(drone?.commands));
    }
    const missions = this.ctx.missions;
    if (missions.version !== this.missionSeen) {
      this.missionSeen = missions.version;
      const m = missions.get(this.id);
      this.mission.hidden = !m;
      if (m) {
        const at = m.drone.current_seq !== null && isNum(m.drone.current_seq) ? ` · item ${m.drone.current_seq + 1} of ${m.items ?? '?'}` : '';
        setText(this.mission, `Mission ${m.name ?? m.mission_id}: ${m.drone.state}${at}${m.drone.reason ? ` · ${m.drone.reason}` : ''}`);
      }
    }
  }

  /** The owning node: the member's address when the membership is known (admins), else its id. */
  private renderOwner(drone: Drone | undefined, now: number): void {
    const { text, title } = ownerText(drone?.node, this.cluster);
    setText(this.nodeValue, text);
    this.nodeValue.title = title;
    this.nodeValue.dataset.node = typeof drone?.node === 'string' ? drone.node : '';
    if (this.ctx.session.user?.role !== 'admin' || this.clusterLoading || now - this.clusterAskedAt < CLUSTER_REREAD_MS) return;
    const owner = typeof drone?.node === 'string' && drone.node ? drone.node : null;
    if (this.cluster === null || (owner !== null && !findMember(this.cluster, owner))) void this.loadCluster(now);
  }

  private async loadCluster(now: number): Promise<void> {
    this.clusterAskedAt = now;
    this.clusterLoading = true;
    try {
      this.cluster = parseCluster(await this.ctx.api.cluster());
      this.versionSeen = -1; // drawn again at the next frame
      this.ctx.frames.request();
    } catch {
      // The owner's id stays shown (an older node without the route, a refusal): read again after CLUSTER_REREAD_MS.
    } finally {
      this.clusterLoading = false;
    }
  }

  private renderRegistry(): void {
    const r = this.registry;
    if (!r) {
      this.registryBox.replaceChildren(h('p', { class: 'muted', text: 'Not registered (or not read yet).' }));
      return;
    }
    const live = this.ctx.store.get(this.id)?.drone;
    const home = r.home ? `${fmt.coord(r.home.lat)}, ${fmt.coord(r.home.lon)}${isNum(r.home.alt) ? ` · ${fmt.fixed(r.home.alt, 1, 'm')}` : ''}` : 'none';
    const rows: [string, string][] = [
      ['name', r.name || fmt.DASH],
      ['group', r.group ?? fmt.DASH],
      // The live hello's model and firmware win; a drone not connected now shows the registry's.
      ['model', live?.model || r.model || fmt.DASH],
      ['firmware', live?.fw || r.firmware || fmt.DASH],
      ['credential', r.credential ?? fmt.DASH],
      ['home', home],
      ['registered', fmt.isoDateTime(r.created_at)],
      ['last seen (registry)', fmt.isoDateTime(r.last_seen)],
    ];
    const meta = r.metadata && typeof r.metadata === 'object' ? Object.entries(r.metadata) : [];
    const dl = h('dl', { class: 'fields' });
    for (const [k, v] of rows) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    if (meta.length === 0) dl.append(h('dt', { text: 'metadata' }), h('dd', { text: 'none' }));
    for (const [k, v] of meta) dl.append(h('dt', { text: k, class: 'meta' }), h('dd', { text: fmt.anyValue(v) }));
    this.registryBox.replaceChildren(dl);
  }
}
