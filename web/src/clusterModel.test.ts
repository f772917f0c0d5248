import { describe, expect, it } from 'vitest';
import {
  clusterSummary,
  countOwners,
  dronesSummary,
  findMember,
  lacksOwner,
  memberRows,
  ownerText,
  parseCluster,
  sameCounts,
} from './clusterModel';
import { DASH } from './format';
import type { ClusterStatus } from './types';

const cluster = (ids: string[], self = ids[0]): ClusterStatus =>
  parseCluster({
    enabled: true,
    self,
    version: 4,
    board: 'ok',
    members: ids.map((id, i) => ({
      id,
      http: `127.0.0.1:80${80 + i}`,
      cluster: `127.0.0.1:74${i}0`,
      roles: ['all'],
      epoch: 1_700_000_000_000 + i,
      self: id === self,
      drones: 10 + i,
      ...(id === self ? {} : { heard_ms_ago: 120 }),
    })),
  });

const SINGLE = parseCluster({ enabled: false, members: [] });

describe('countOwners', () => {
  it('counts the drones of each owner and those naming none', () => {
    const c = countOwners([{ node: 'a' }, { node: 'b' }, { node: 'a' }, {}, { node: '' }, { node: 7 }]);
    expect(c.total).toBe(6);
    expect([...c.byNode].sort()).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(c.noOwner).toBe(3);
  });

  it('tells equal countings apart from changed ones', () => {
    const a = countOwners([{ node: 'a' }, { node: 'b' }]);
    expect(sameCounts(a, countOwners([{ node: 'b' }, { node: 'a' }]))).toBe(true);
    expect(sameCounts(a, countOwners([{ node: 'a' }, { node: 'a' }]))).toBe(false); // re-homed
    expect(sameCounts(a, countOwners([{ node: 'a' }, { node: 'b' }, {}]))).toBe(false);
    expect(sameCounts(null, a)).toBe(false);
  });
});

describe('parseCluster', () => {
  it('keeps members with an id, and a single node as not enabled', () => {
    const s = parseCluster({ enabled: true, self: 'x', members: [{ id: 'x', http: 'h:1' }, null, { http: 'h:2' }, 'y'] });
    expect(s.members.map((m) => m.id)).toEqual(['x']);
    expect(SINGLE.enabled).toBe(false);
    expect(parseCluster(null)).toEqual({ enabled: false, members: [], self: undefined, version: undefined, heartbeat_ms: undefined, timeout_ms: undefined, board: undefined });
  });
});

describe('memberRows', () => {
  it('lists the members with the live drones each owns and which is this page’s node', () => {
    const s = cluster(['a', 'b', 'c'], 'b');
    const rows = memberRows(s, countOwners([{ node: 'a' }, { node: 'a' }, { node: 'c' }, {}]));
    expect(rows.map((r) => [r.id, r.member, r.self, r.drones, r.http])).toEqual([
      ['a', true, false, 2, '127.0.0.1:8080'],
      ['b', true, true, 0, '127.0.0.1:8081'],
      ['c', true, false, 1, '127.0.0.1:8082'],
    ]);
    expect(rows[0]!.roles).toBe('all');
    expect(rows[0]!.actors).toBe(10);
    expect(rows[0]!.heardMsAgo).toBe(120);
    expect(rows[1]!.heardMsAgo).toBeNull();
    expect(rows[2]!.epoch).toBe(1_700_000_000_002);
  });

  it('drops a member that left, and shows the owner its drones still name until they re-home', () => {
    const before = cluster(['a', 'b', 'c']);
    const drones = [{ node: 'a' }, { node: 'b' }, { node: 'b' }, { node: 'c' }];
    expect(memberRows(before, countOwners(drones)).map((r) => [r.id, r.drones])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 1],
    ]);
    // b is gone from the membership; its drones still name it for a moment.
    const after = cluster(['a', 'c']);
    expect(memberRows(after, countOwners(drones)).map((r) => [r.id, r.member, r.drones])).toEqual([
      ['a', true, 1],
      ['c', true, 1],
      ['b', false, 2],
    ]);
    expect(lacksOwner(after, countOwners(drones))).toBe(true);
    // …then they are served by a and c.
    const rehomed = [{ node: 'a' }, { node: 'a' }, { node: 'c' }, { node: 'c' }];
    expect(memberRows(after, countOwners(rehomed)).map((r) => [r.id, r.member, r.drones])).toEqual([
      ['a', true, 2],
      ['c', true, 2],
    ]);
    expect(lacksOwner(after, countOwners(rehomed))).toBe(false);
  });

  it('has no rows on a single node', () => {
    expect(memberRows(SINGLE, countOwners([{}, {}]))).toEqual([]);
    expect(memberRows(null, countOwners([]))).toEqual([]);
  });
});

describe('summaries', () => {
  it('says single node when not clustered', () => {
    expect(clusterSummary(SINGLE)).toBe('single node (not clustered)');
    expect(dronesSummary(SINGLE, countOwners([{}, {}]))).toBe("2 drones in this session's live view");
  });

  it('counts the members and where the drones are', () => {
    const s = cluster(['a', 'b']);
    expect(clusterSummary(s)).toBe('2 members · view 4 · membership board ok');
    expect(dronesSummary(s, countOwners([{ node: 'a' }, { node: 'x' }, {}]))).toBe(
      "3 drones in this session's live view · 1 owned by members · 1 by nodes that are not members now · 1 without an owner yet",
    );
    expect(clusterSummary(null)).toBe('Reading the membership…');
  });
});

describe('ownerText', () => {
  it('names the owner by its HTTP address when the membership knows it', () => {
    const s = cluster(['a', 'b'], 'b');
    expect(ownerText('a', s)).toEqual({ text: '127.0.0.1:8080', title: 'node a' });
    expect(ownerText('b', s)).toEqual({ text: '127.0.0.1:8081 (this page’s node)', title: 'node b' });
    expect(findMember(s, 'b')?.http).toBe('127.0.0.1:8081');
  });

  it('falls back to the id (no membership: not an admin; or an unknown member)', () => {
    expect(ownerText('a', null)).toEqual({ text: 'a', title: '' });
    expect(ownerText('z', cluster(['a']))).toEqual({ text: 'z', title: 'not among the members the node knows now' });
  });

  it('says single node, or a dash when nothing is known', () => {
    expect(ownerText(undefined, SINGLE).text).toBe('single node (not clustered)');
    expect(ownerText(undefined, null).text).toBe(DASH);
    expect(ownerText(undefined, cluster(['a'])).text).toBe(DASH); // a cluster, the claim not recorded yet
  });
});
