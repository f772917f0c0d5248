import { describe, expect, it } from 'vitest';
import { AlarmBook, isNewerAlarm, matches, type AlarmFilter } from './alarmModel';
import type { Alarm } from './types';

const alarm = (over: Partial<Alarm>): Alarm => ({
  id: 'a1',
  drone_id: 'sim-00001',
  kind: 'low_battery',
  severity: 'warning',
  state: 'active',
  raised_at: 1000,
  updated_at: 1000,
  count: 1,
  ...over,
});
const all: AlarmFilter = { state: 'all', severity: '', kind: '', drone: '' };

describe('alarm filter', () => {
  it('"open" means active or acknowledged', () => {
    const f = { ...all, state: 'open' as const };
    expect(matches(alarm({ state: 'active' }), f)).toBe(true);
    expect(matches(alarm({ state: 'acknowledged' }), f)).toBe(true);
    expect(matches(alarm({ state: 'cleared' }), f)).toBe(false);
  });

  it('filters by severity, kind and part of the drone id', () => {
    expect(matches(alarm({}), { ...all, severity: 'critical' })).toBe(false);
    expect(matches(alarm({}), { ...all, kind: 'link_lost' })).toBe(false);
    expect(matches(alarm({}), { ...all, drone: 'SIM-0000' })).toBe(true);
    expect(matches(alarm({}), { ...all, drone: 'other' })).toBe(false);
  });
});

describe('AlarmBook', () => {
  it('keeps the newest state of each alarm', () => {
    expect(isNewerAlarm(alarm({ updated_at: 5 }), alarm({ updated_at: 4, state: 'cleared' }))).toBe(false);
    const book = new AlarmBook();
    book.apply(alarm({}));
    book.apply(alarm({ state: 'acknowledged', updated_at: 2000, acknowledged_by: 'alice' }));
    book.apply(alarm({ state: 'active', updated_at: 1500 })); // late frame
    expect(book.list(all)).toHaveLength(1);
    expect(book.list(all)[0]!.state).toBe('acknowledged');
  });

  it('drops the frame’s type field', () => {
    const book = new AlarmBook();
    book.apply({ ...alarm({}), type: 'alarm' } as Alarm);
    expect(book.list(all)[0]).not.toHaveProperty('type');
  });

  it('counts active alarms for the header, critical apart', () => {
    const book = new AlarmBook();
    book.applyAll([
      alarm({ id: '1' }),
      alarm({ id: '2', severity: 'critical' }),
      alarm({ id: '3', state: 'acknowledged' }),
      alarm({ id: '4', state: 'cleared' }),
    ]);
    expect(book.activeCounts()).toEqual({ active: 2, critical: 1 });
  });

  it('forgets open alarms the node no longer lists as open, keeps cleared ones', () => {
    const book = new AlarmBook();
    book.applyAll([alarm({ id: 'gone' }), alarm({ id: 'kept' }), alarm({ id: 'old', state: 'cleared' })]);
    book.replaceOpen([alarm({ id: 'kept', state: 'acknowledged', updated_at: 2000 }), alarm({ id: 'new' })]);
    expect(book.list(all).map((a) => `${a.id}:${a.state}`).sort()).toEqual(['kept:acknowledged', 'new:active', 'old:cleared']);
  });

  it('lists newest raised first', () => {
    const book = new AlarmBook();
    book.applyAll([alarm({ id: 'old', raised_at: 1 }), alarm({ id: 'new', raised_at: 9 })]);
    expect(book.list(all).map((a) => a.id)).toEqual(['new', 'old']);
  });
});
