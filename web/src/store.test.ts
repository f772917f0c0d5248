import { describe, expect, it } from 'vitest';
import { DroneStore } from './store';

const NOW = 1_800_000_000_000;

function storeWithCounter(): { store: DroneStore; changes: () => number } {
  const store = new DroneStore();
  let n = 0;
  store.changed.on(() => n++);
  return { store, changes: () => n };
}

describe('DroneStore', () => {
  it('replaces everything with a snapshot', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a', status: 'online', group: 'g1' }, { id: 'b', status: 'lost', group: 'g2' }], NOW);
    store.snapshot([{ id: 'c', status: 'online', group: 'g1' }], NOW);
    expect([...store.entries.keys()]).toEqual(['c']);
    expect(store.groups()).toEqual(['g1']);
  });

  it('replaces a drone’s whole state with each update entry and measures its latency', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a', status: 'online', lat: 1, lon: 2, mode: 'AUTO', ts: NOW - 100 }], NOW);
    const latencies: number[] = [];
    store.update([{ id: 'a', status: 'online', lat: 1.5, lon: 2, ts: NOW - 40 }], NOW, latencies);
    const e = store.get('a')!;
    expect(e.drone.lat).toBe(1.5);
    expect(e.drone.mode).toBeUndefined(); // not merged with the old state
    expect(e.latency).toBe(40);
    expect(latencies).toEqual([40]);
  });

  it('ignores entries that are not drones', () => {
    const { store } = storeWithCounter();
    store.update([null, 5, { name: 'x' }, { id: 7 }], NOW);
    expect(store.entries.size).toBe(0);
  });

  it('only counts changes: rendering is left to the frame loop', () => {
    const { store, changes } = storeWithCounter();
    store.snapshot([], NOW);
    const before = store.version;
    for (let i = 0; i < 100; i++) store.update([{ id: `d${i % 10}`, status: 'online' }], NOW);
    expect(store.version).toBe(before + 100);
    expect(changes()).toBe(101);
    expect(store.entries.size).toBe(10);
  });

  it('bumps membership only when ids come or go', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a' }], NOW);
    const m = store.membership;
    store.update([{ id: 'a', status: 'online' }], NOW);
    expect(store.membership).toBe(m);
    store.update([{ id: 'b', status: 'online' }], NOW);
    expect(store.membership).toBe(m + 1);
    store.remove(['a']);
    expect(store.membership).toBe(m + 2);
    expect(store.get('a')).toBeUndefined();
  });

  it('applies status events to known drones and learns unknown ones', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a', status: 'online', lat: 3 }], NOW);
    store.status([{ drone_id: 'a', status: 'stale' }, { drone_id: 'z', status: 'lost' }, { drone_id: 5 }]);
    expect(store.get('a')!.drone).toMatchObject({ status: 'stale', lat: 3 });
    expect(store.get('z')!.drone.status).toBe('lost');
    expect(store.counts()).toEqual({ total: 2, online: 0, stale: 1, lost: 1 });
  });

  it('counts statuses again only when one changed or drones came or went', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a', status: 'online' }, { id: 'b', status: 'online' }], NOW);
    const first = store.counts();
    expect(first).toEqual({ total: 2, online: 2, stale: 0, lost: 0 });
    store.update([{ id: 'a', status: 'online', lat: 1 }], NOW);
    expect(store.counts()).toBe(first); // telemetry only: the same counts, not counted again
    store.update([{ id: 'a', status: 'stale', lat: 2 }], NOW);
    expect(store.counts()).toEqual({ total: 2, online: 1, stale: 1, lost: 0 });
    store.status([{ drone_id: 'b', status: 'lost' }]);
    expect(store.counts()).toEqual({ total: 2, online: 0, stale: 1, lost: 1 });
    store.update([{ id: 'c', status: 'online' }], NOW);
    store.remove(['a']);
    expect(store.counts()).toEqual({ total: 2, online: 1, stale: 0, lost: 1 });
  });

  it('keeps group counts right when a drone moves', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'a', group: 'east' }], NOW);
    const v = store.groupsVersion;
    store.update([{ id: 'a', group: 'west' }], NOW);
    expect(store.groups()).toEqual(['west']);
    expect(store.groupsVersion).toBeGreaterThan(v);
  });

  it('adds registered drones the node does not serve, until a frame speaks of them', () => {
    const { store } = storeWithCounter();
    store.snapshot([{ id: 'live', status: 'online' }], NOW);
    store.setRestList([
      { id: 'live', status: 'online', registry: { id: 'live', name: 'Alpha' } },
      { id: 'parked', status: 'lost', connected: false, last_seen: null, registry: { id: 'parked', name: 'Bravo', last_seen: null } },
    ]);
    expect(store.registry.get('live')?.name).toBe('Alpha');
    expect(store.get('parked')).toMatchObject({ restOnly: true });
    expect(store.get('live')?.restOnly).toBe(false);
    // A new snapshot keeps the parked drone (the node does not know it) …
    store.snapshot([{ id: 'live', status: 'online' }], NOW);
    expect(store.get('parked')?.restOnly).toBe(true);
    // … until it connects.
    store.update([{ id: 'parked', status: 'online' }], NOW);
    expect(store.get('parked')?.restOnly).toBe(false);
    // A newer list without a drone forgets it.
    store.setRestList([]);
    expect(store.get('parked')?.restOnly).toBe(false);
    expect(store.registry.size).toBe(0);
  });

  it('keeps a trail of positions per drone', () => {
    const { store } = storeWithCounter();
    for (let i = 0; i < 5; i++) store.update([{ id: 'a', lat: i, lon: 0, ts: NOW + i * 1000 }], NOW + i * 1000);
    expect(store.get('a')!.trail.length).toBe(5);
    // trailVersion moves with the trails' points only (the map draws trails again when it moved).
    const v = store.trailVersion;
    store.update([{ id: 'a', lat: 9, lon: 0, ts: NOW + 4500 }], NOW + 4500);
    expect(store.trailVersion).toBe(v);
    store.update([{ id: 'a', lat: 9, lon: 0, ts: NOW + 5000 }], NOW + 5000);
    expect(store.trailVersion).toBe(v + 1);
  });

  it('learns the node clock from server_time', () => {
    const { store } = storeWithCounter();
    store.noteServerTime(NOW + 2000, NOW);
    expect(store.nodeNow(NOW + 10)).toBe(NOW + 2010);
    store.noteServerTime('later', NOW);
    expect(store.clockOffset).toBe(2000);
  });
});
