// The cluster as the dashboard shows it (pure): GET /api/v1/cluster's members (admins; docs/cluster.md), and who
// owns each drone of the session's live store (the drone object's `node`, docs/protocol.md). Counting the owners
// of the live drones is what makes a failover visible: a member that leaves drops out of the membership, and its
// drones' `node` moves to the members that serve them now.
import { DASH, isNum } from './format';
import type { ClusterMember, ClusterStatus } from './types';

/** The owners of the drones of the live store. */
export interface OwnerCounts {
  /** Drones counted. */
  total: number;
  /** Drones per owning member id. */
  byNode: Map<string, number>;
  /** Drones whose object names no owner (a single node; a cluster before the owner's claim is recorded). */
  noOwner: number;
}

/** One row of the cluster page: a live member, or an owner the drones still name that is not (or no longer) a member. */
export interface MemberRow {
  id: string;
  /** false: only drones name it (a member that left, before its drones re-home). */
  member: boolean;
  http: string;
  cluster: string;
  roles: string;
  epoch: number | null;
  self: boolean;
  heardMsAgo: number | null;
  /** The drone actors the member says it runs; null when unknown. */
  actors: number | null;
  /** Drones of the live store it owns. */
  drones: number;
}

/** The owner id a drone object names, or null. */
export function ownerOf(d: { node?: unknown }): string | null {
  return typeof d.node === 'string' && d.node !== '' ? d.node : null;
}

/** Counts the owners of `drones` (the store's drones). */
export function countOwners(drones: Iterable<{ node?: unknown }>): OwnerCounts {
  const byNode = new Map<string, number>();
  let total = 0;
  let noOwner = 0;
  for (const d of drones) {
    total++;
    const id = ownerOf(d);
    if (id === null) noOwner++;
    else byNode.set(id, (byNode.get(id) ?? 0) + 1);
  }
  return { total, byNode, noOwner };
}

/** Whether two countings differ (the page redraws only then). */
export function sameCounts(a: OwnerCounts | null, b: OwnerCounts): boolean {
  if (!a || a.total !== b.total || a.noOwner !== b.noOwner || a.byNode.size !== b.byNode.size) return false;
  for (const [id, n] of b.byNode) if (a.byNode.get(id) !== n) return false;
  return true;
}

/** GET /api/v1/cluster's answer checked: only members with an id are kept (the answer is data from the network). */
export function parseCluster(raw: unknown): ClusterStatus {
  const o = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const members = Array.isArray(o.members)
    ? (o.members as unknown[]).filter((m): m is ClusterMember => !!m && typeof m === 'object' && typeof (m as ClusterMember).id === 'string')
    : [];
  return {
    enabled: o.enabled === true,
    self: typeof o.self === 'string' ? o.self : undefined,
    version: isNum(o.version) ? o.version : undefined,
    members,
    heartbeat_ms: isNum(o.heartbeat_ms) ? o.heartbeat_ms : undefined,
    timeout_ms: isNum(o.timeout_ms) ? o.timeout_ms : undefined,
    board: typeof o.board === 'string' ? o.board : undefined,
  };
}

/** The member of that id, if the membership has it. */
export function findMember(status: ClusterStatus | null, id: string | null): ClusterMember | undefined {
  if (!status || id === null) return undefined;
  return status.members.find((m) => m.id === id);
}

/** Whether the member is the node answering (the one this page is connected to). */
function isSelf(status: ClusterStatus, m: ClusterMember): boolean {
  return m.self === true || (status.self !== undefined && m.id === status.self);
}

/**
 * The cluster page's rows: the members in the node's order with the drones each owns, then the owners the drones
 * name that are not members (by id). A single node has none.
 */
export function memberRows(status: ClusterStatus | null, counts: OwnerCounts): MemberRow[] {
  const rows: MemberRow[] = [];
  const seen = new Set<string>();
  for (const m of status?.members ?? []) {
    seen.add(m.id);
    rows.push({
      id: m.id,
      member: true,
      http: typeof m.http === 'string' ? m.http : '',
      cluster: typeof m.cluster === 'string' ? m.cluster : '',
      roles: Array.isArray(m.roles) ? m.roles.join(', ') : '',
      epoch: isNum(m.epoch) ? m.epoch : null,
      self: isSelf(status!, m),
      heardMsAgo: isNum(m.heard_ms_ago) ? m.heard_ms_ago : null,
      actors: isNum(m.drones) ? m.drones : null,
      drones: counts.byNode.get(m.id) ?? 0,
    });
  }
  const others = [...counts.byNode.keys()].filter((id) => !seen.has(id)).sort();
  for (const id of others) {
    rows.push({ id, member: false, http: '', cluster: '', roles: '', epoch: null, self: false, heardMsAgo: null, actors: null, drones: counts.byNode.get(id)! });
  }
  return rows;
}

/** Whether the drones name an owner the membership lacks (a member that joined since it was read): read it again. */
export function lacksOwner(status: ClusterStatus | null, counts: OwnerCounts): boolean {
  if (!status) return false;
  for (const id of counts.byNode.keys()) if (!findMember(status, id)) return true;
  return false;
}

/** The line under the cluster page's title. */
export function clusterSummary(status: ClusterStatus | null): string {
  if (!status) return 'Reading the membership…';
  if (!status.enabled) return 'single node (not clustered)';
  const n = status.members.length;
  const parts = [`${n} member${n === 1 ? '' : 's'}`];
  if (status.version !== undefined) parts.push(`view ${status.version}`);
  if (status.board) parts.push(`membership board ${status.board}`);
  return parts.join(' · ');
}

/** How the session's live drones are spread: "5 drones in this session's live view: 3 owned by members, …". */
export function dronesSummary(status: ClusterStatus | null, counts: OwnerCounts): string {
  const byMembers = [...counts.byNode].reduce((sum, [id, n]) => sum + (findMember(status, id) ? n : 0), 0);
  const elsewhere = counts.total - counts.noOwner - byMembers;
  const parts = [`${counts.total} drone${counts.total === 1 ? '' : 's'} in this session's live view`];
  if (status?.enabled) {
    parts.push(`${byMembers} owned by members`);
    if (elsewhere) parts.push(`${elsewhere} by nodes that are not members now`);
    if (counts.noOwner) parts.push(`${counts.noOwner} without an owner yet`);
  }
  return parts.join(' · ');
}

/**
 * The detail's "node" line: the owner's HTTP address when the membership (admins) knows it, else its id; on a
 * single node (a membership that says so), "single node (not clustered)". `title` names the id beside an address.
 */
export function ownerText(node: unknown, status: ClusterStatus | null): { text: string; title: string } {
  const id = ownerOf({ node });
  if (id === null) return { text: status && !status.enabled ? 'single node (not clustered)' : DASH, title: '' };
  const m = findMember(status, id);
  if (!m || typeof m.http !== 'string' || !m.http) {
    return { text: id, title: status?.enabled ? 'not among the members the node knows now' : '' };
  }
  return { text: `${m.http}${isSelf(status!, m) ? ' (this page’s node)' : ''}`, title: `node ${id}` };
}
