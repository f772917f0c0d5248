import { describe, expect, it } from 'vitest';
import { DroneStore } from './store';
import {
  COLUMN_BY_KEY,
  parseColumns,
  rowMatches,
  serializeColumns,
  standardColumns,
  topIndices,
  topRows,
  type RowContext,
} from './tableModel';
import type { Drone } from './types';

const NOW = 1_800_000_000_000;

function fleet(drones: Drone[]): { store: DroneStore; ids: string[]; ctx: RowContext } {
  const store = new DroneStore();
  store.snapshot(drones, NOW);
  store.registry.set('d2', { id: 'd2', name: 'Falcon' });
  const ids = drones.map((d) => d.id); // the tests give them in natural order
  return { store, ids, ctx: { nodeNow: NOW, registry: store.registry } };
}

const col = (key: string) => COLUMN_BY_KEY.get(key)!;

describe('topIndices', () => {
  it('gives the smallest keys in order, missing (NaN) last, ties by index', () => {
    const keys = Float64Array.from([5, NaN, 1, 3, 1, NaN, 2]);
    expect(topIndices(keys, 3)).toEqual([2, 4, 6]);
    expect(topIndices(keys, 7)).toEqual([2, 4, 6, 3, 0, 1, 5]);
    expect(topIndices(keys, 0)).toEqual([]);
  });

  it('is right when the cut falls among equal keys', () => {
    const keys = Float64Array.from([1, 1, 1, 1, 0]);
    expect(topIndices(keys, 2)).toEqual([4, 0]);
  });
});

describe('topRows', () => {
  const { store, ids, ctx } = fleet([
    { id: 'd1', status: 'lost', battery: 80, group: 'b' },
    { id: 'd2', status: 'online', battery: 20, group: 'a' },
    { id: 'd3', status: 'stale', group: 'a' },
    { id: 'd10', status: 'online', battery: 55, last_seen: NOW - 5000 },
  ]);
  const get = (id: string) => store.get(id);

  it('sorts numbers both ways with missing values last', () => {
    expect(topRows(ids, col('battery'), 1, 10, get, ctx)).toEqual(['d2', 'd10', 'd1', 'd3']);
    expect(topRows(ids, col('battery'), -1, 10, get, ctx)).toEqual(['d1', 'd10', 'd2', 'd3']);
  });

  it('sorts status by rank and keeps id order among equals', () => {
    expect(topRows(ids, col('status'), 1, 10, get, ctx)).toEqual(['d2', 'd10', 'd3', 'd1']);
  });

  it('sorts text with missing last, and ids by the given natural order', () => {
    expect(topRows(ids, col('group'), 1, 10, get, ctx)).toEqual(['d2', 'd3', 'd1', 'd10']);
    expect(topRows(ids, col('name'), 1, 10, get, ctx)).toEqual(['d2', 'd1', 'd3', 'd10']);
    expect(topRows(ids, col('id'), -1, 2, get, ctx)).toEqual(['d10', 'd3']);
  });

  it('puts only the first N rows out', () => {
    expect(topRows(ids, col('battery'), 1, 2, get, ctx)).toEqual(['d2', 'd10']);
  });

  it('shows last seen against the node clock, and a never-seen drone as never', () => {
    expect(col('last_seen').text(store.get('d10')!, ctx)).toBe('5 s ago');
    const { store: s2, ctx: c2 } = fleet([{ id: 'x', last_seen: null }]);
    expect(col('last_seen').text(s2.get('x')!, c2)).toBe('never');
  });
});

describe('rowMatches', () => {
  const { store } = fleet([
    { id: 'alpha-1', group: 'east', status: 'online' },
    { id: 'd2', group: 'west', status: 'lost' },
  ]);
  const m = (id: string, text: string, group = '', status = '') => rowMatches(store.get(id)!, { text, group, status }, store.registry);

  it('matches the id, the registry name and the group, ignoring case', () => {
    expect(m('alpha-1', 'alpha')).toBe(true);
    expect(m('d2', 'falc')).toBe(true); // registry name Falcon, lower-cased by the caller
    expect(m('d2', 'wes')).toBe(true);
    expect(m('d2', 'alpha')).toBe(false);
  });

  it('filters by exact group and by status', () => {
    expect(m('alpha-1', '', 'east')).toBe(true);
    expect(m('alpha-1', '', 'eas')).toBe(false);
    expect(m('d2', '', '', 'lost')).toBe(true);
    expect(m('d2', '', '', 'online')).toBe(false);
  });
});

describe('column preferences', () => {
  it('falls back to the standard columns for anything unreadable', () => {
    for (const raw of [null, '', '{', '"id"', '{"a":1}']) expect(parseColumns(raw)).toEqual(standardColumns());
  });

  it('keeps known columns in table order and always the id', () => {
    expect(parseColumns(JSON.stringify(['battery', 'nope', 'group', 7]))).toEqual(['id', 'group', 'battery']);
  });

  it('round-trips', () => {
    const keys = ['id', 'status', 'voltage'];
    expect(parseColumns(serializeColumns(keys))).toEqual(keys);
  });
});
