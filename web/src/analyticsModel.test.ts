import { describe, expect, it } from 'vitest';
import {
  addDays,
  analyticsQuery,
  computedNote,
  count,
  csvFileName,
  dayCount,
  dayList,
  daySeries,
  DEFAULT_SORT,
  defaultRange,
  dispositionFileName,
  droneRows,
  hours,
  km,
  MAX_DAYS,
  nextSort,
  oldestComputed,
  parseDay,
  pct,
  perDrone,
  presetRange,
  sortDrones,
  sumTotals,
  totalsFromDaily,
  utcDay,
} from './analyticsModel';
import type { AnalyticsDailyRow, AnalyticsFleetDay, AnalyticsGroupFigures } from './types';

const figures = { flight_s: 0, armed_s: 0, distance_m: 0, max_alt_m: null, battery_used_pct: 0, flights: 0, alarms: 0 };
const row = (day: string, drone_id: string, more: Partial<AnalyticsDailyRow> = {}): AnalyticsDailyRow => ({
  ...figures,
  day,
  drone_id,
  group: 'default',
  samples: 10,
  ...more,
});

describe('days', () => {
  it('reads real UTC days only', () => {
    expect(parseDay('2026-11-30')).toBe(Date.UTC(2026, 10, 30));
    expect(parseDay(' 2024-02-29 ')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2026-02-29', '2026-13-01', '2026-1-5', '2026-11-31', '30.11.2026', '', '2026-11-30T00:00']) expect(parseDay(bad)).toBeNull();
  });
  it('counts days with both ends included, across months and years', () => {
    expect(addDays('2026-12-30', 3)).toBe('2027-01-02');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(dayCount('2026-11-24', '2026-11-30')).toBe(7);
    expect(dayCount('2026-11-30', '2026-11-30')).toBe(1);
    expect(dayCount('2026-11-30', '2026-11-29')).toBe(0);
    expect(dayList('2026-12-30', '2027-01-01')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01']);
  });
  it('takes today in UTC, whatever the local zone', () => {
    const lateOn30th = Date.UTC(2026, 10, 30, 23, 59, 59);
    expect(utcDay(lateOn30th)).toBe('2026-11-30');
    expect(utcDay(lateOn30th + 1000)).toBe('2026-12-01');
  });
  it('defaults to the last 7 days, today included; presets likewise', () => {
    const now = Date.UTC(2026, 10, 30, 12);
    expect(defaultRange(now)).toEqual({ from: '2026-11-24', to: '2026-11-30' });
    expect(presetRange(30, now)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(presetRange(1, now)).toEqual({ from: '2026-11-30', to: '2026-11-30' });
  });
});

describe('form → query', () => {
  const f = { from: '2026-11-24', to: '2026-11-30', group: '', drone: '' };
  it('leaves out group and drone when empty', () => {
    expect(analyticsQuery(f)).toEqual({ ok: true, query: { from: '2026-11-24', to: '2026-11-30' } });
    expect(analyticsQuery({ ...f, group: ' east ', drone: ' sim-0001 ' })).toEqual({
      ok: true,
      query: { from: '2026-11-24', to: '2026-11-30', group: 'east', drone: 'sim-0001' },
    });
  });
  it('refuses malformed days, from after to, and more than 366 days', () => {
    expect(analyticsQuery({ ...f, from: '2026-11-31' })).toMatchObject({ ok: false, field: 'from' });
    expect(analyticsQuery({ ...f, to: '' })).toMatchObject({ ok: false, field: 'to' });
    expect(analyticsQuery({ ...f, from: '2026-12-01' })).toMatchObject({ ok: false, field: 'from', message: /after/ });
    expect(analyticsQuery({ ...f, from: addDays('2026-11-30', -(MAX_DAYS - 1)) }).ok).toBe(true);
    expect(analyticsQuery({ ...f, from: addDays('2026-11-30', -MAX_DAYS) })).toMatchObject({ ok: false, field: 'from', message: /366/ });
    expect(analyticsQuery({ ...f, from: '2026-11-30' }).ok).toBe(true);
  });
  it('refuses a drone id the node could not have', () => {
    expect(analyticsQuery({ ...f, drone: 'a b' })).toMatchObject({ ok: false, field: 'drone' });
    expect(analyticsQuery({ ...f, drone: 'x'.repeat(65) })).toMatchObject({ ok: false, field: 'drone' });
  });
});

describe('text', () => {
  it('hours', () => {
    expect(hours(0)).toBe('0 h');
    expect(hours(10)).toBe('< 0.01 h');
    expect(hours(900)).toBe('0.25 h');
    expect(hours(45_000)).toBe('12.5 h');
    expect(hours(3600 * 1234.4)).toBe('1,234 h');
    expect(hours(null)).toBe('–');
    expect(hours(NaN)).toBe('–');
  });
  it('kilometres, percent, counts', () => {
    expect(km(0)).toBe('0 km');
    expect(km(2)).toBe('< 0.01 km');
    expect(km(2345.6)).toBe('2.35 km');
    expect(km(12_345)).toBe('12.3 km');
    expect(km(1_234_567)).toBe('1,235 km');
    expect(km(undefined)).toBe('–');
    expect(pct(12.5)).toBe('12.5 %');
    expect(pct(340.4)).toBe('340 %');
    expect(pct(null)).toBe('–');
    expect(count(12345)).toBe('12,345');
    expect(count('3')).toBe('–');
  });
  it('says how far the figures reach, in UTC', () => {
    const now = Date.UTC(2026, 10, 30, 15);
    expect(computedNote(Date.UTC(2026, 10, 30, 14, 5, 9, 500), now)).toBe('figures up to 14:05:09 UTC');
    expect(computedNote(Date.UTC(2026, 10, 29, 23, 0, 0), now)).toBe('figures up to 2026-11-29 23:00:00 UTC');
    expect(computedNote(null, now)).toBe('not computed yet');
    expect(computedNote(undefined, now)).toBe('not computed yet');
  });
  it('takes the oldest of the answers read together; null wins; unasked ones do not count', () => {
    expect(oldestComputed([2000, 1000])).toBe(1000);
    expect(oldestComputed([2000, undefined])).toBe(2000);
    expect(oldestComputed([2000, null])).toBeNull();
    expect(oldestComputed([undefined])).toBeNull();
  });
});

describe('sums', () => {
  const totals: AnalyticsGroupFigures[] = [
    { ...figures, group: 'east', drones: 3, flight_s: 3600, armed_s: 4000, distance_m: 1000, max_alt_m: 120, battery_used_pct: 20, flights: 2, alarms: 1 },
    { ...figures, group: 'west', drones: 2, flight_s: 1800, armed_s: 2000, distance_m: 500, max_alt_m: 150.5, battery_used_pct: 5.5, flights: 1, alarms: 0 },
    { ...figures, group: 'idle', drones: 1, max_alt_m: null },
  ];
  it('sums the groups, keeps the highest altitude', () => {
    expect(sumTotals(totals)).toEqual({
      drones: 6,
      flight_s: 5400,
      armed_s: 6000,
      distance_m: 1500,
      max_alt_m: 150.5,
      battery_used_pct: 25.5,
      flights: 3,
      alarms: 1,
    });
  });
  it('is zero (altitude null) for no groups, and survives malformed numbers', () => {
    expect(sumTotals([])).toMatchObject({ drones: 0, flight_s: 0, max_alt_m: null });
    expect(sumTotals([{ ...totals[0]!, flight_s: 'x' as unknown as number, max_alt_m: null }])).toMatchObject({ flight_s: 0, max_alt_m: null, distance_m: 1000 });
  });
  it('counts distinct drones of daily rows', () => {
    const t = totalsFromDaily([row('2026-11-29', 'a', { flight_s: 10 }), row('2026-11-30', 'a', { flight_s: 5 }), row('2026-11-30', 'b')]);
    expect(t.drones).toBe(2);
    expect(t.flight_s).toBe(15);
  });
});

describe('day series', () => {
  const day = (d: string, group: string, more: Partial<AnalyticsFleetDay> = {}): AnalyticsFleetDay => ({ ...figures, day: d, group, drones: 1, ...more });
  it('sums the groups of each day and fills days without rows with zero', () => {
    const s = daySeries(
      [
        day('2026-11-28', 'east', { flight_s: 7200, distance_m: 3000, flights: 2, alarms: 1 }),
        day('2026-11-28', 'west', { flight_s: 1800, distance_m: 500, flights: 1 }),
        day('2026-11-30', 'east', { flight_s: 3600, alarms: 4 }),
        day('2026-12-05', 'east', { flight_s: 99999 }), // outside the range
      ],
      '2026-11-27',
      '2026-11-30',
    );
    expect(s.days).toEqual(['2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']);
    expect(s.flightHours).toEqual([0, 2.5, 0, 1]);
    expect(s.distanceKm).toEqual([0, 3.5, 0, 0]);
    expect(s.flights).toEqual([0, 3, 0, 0]);
    expect(s.alarms).toEqual([0, 1, 0, 4]);
  });
  it('takes daily rows as well (one drone)', () => {
    const s = daySeries([row('2026-11-30', 'a', { flight_s: 1800 })], '2026-11-30', '2026-11-30');
    expect(s.flightHours).toEqual([0.5]);
  });
});

describe('per drone', () => {
  const rows = [
    row('2026-11-28', 'b', { flight_s: 100, distance_m: 1000, max_alt_m: 400, flights: 1, group: 'east' }),
    row('2026-11-28', 'c', { flight_s: 0, max_alt_m: null, alarms: 2 }),
    row('2026-11-29', 'a', { flight_s: 50, max_alt_m: 410 }),
    row('2026-11-30', 'b', { flight_s: 200, distance_m: 500, max_alt_m: 390, flights: 2, battery_used_pct: 10, group: 'west' }),
    row('2026-11-29', 'b', { samples: 0, alarms: 1, group: 'east' }),
  ];
  it('sums each drone over its days (days with samples, as /drones counts them), highest altitude, newest group', () => {
    const list = perDrone(rows);
    expect(list.map((d) => d.drone_id)).toEqual(['b', 'c', 'a']);
    expect(list[0]).toEqual({
      drone_id: 'b',
      group: 'west',
      days: 2,
      samples: 20,
      flight_s: 300,
      armed_s: 0,
      distance_m: 1500,
      max_alt_m: 400,
      battery_used_pct: 10,
      flights: 3,
      alarms: 1,
    });
    expect(list[1]!.max_alt_m).toBeNull();
  });
  it("takes /drones' rows as they are, dropping rows without an id and figures that are no numbers", () => {
    const good = { drone_id: 'a', group: 'east', days: 3, flight_s: 10, armed_s: 12, distance_m: 100, max_alt_m: 120, battery_used_pct: 4, flights: 1, alarms: 2, samples: 50 };
    expect(droneRows({ drones: [] })).toEqual([]);
    expect(droneRows(null)).toEqual([]);
    const list = droneRows([good, { group: 'x' }, null, { drone_id: 'b', group: null, flight_s: 'x', max_alt_m: null }]);
    expect(list).toEqual([
      good,
      { drone_id: 'b', group: '', days: 0, flight_s: 0, armed_s: 0, distance_m: 0, max_alt_m: null, battery_used_pct: 0, flights: 0, alarms: 0, samples: 0 },
    ]);
    expect(sortDrones(list, DEFAULT_SORT).map((d) => d.drone_id)).toEqual(['a', 'b']);
    expect(sortDrones(list, { key: 'max_alt_m', desc: false }).map((d) => d.drone_id)).toEqual(['a', 'b']);
  });
  it('sorts by a column, missing values last both ways, ties by id', () => {
    const list = perDrone(rows);
    expect(sortDrones(list, DEFAULT_SORT).map((d) => d.drone_id)).toEqual(['b', 'a', 'c']);
    expect(sortDrones(list, { key: 'flight_s', desc: false }).map((d) => d.drone_id)).toEqual(['c', 'a', 'b']);
    expect(sortDrones(list, { key: 'max_alt_m', desc: true }).map((d) => d.drone_id)).toEqual(['a', 'b', 'c']);
    expect(sortDrones(list, { key: 'max_alt_m', desc: false }).map((d) => d.drone_id)).toEqual(['b', 'a', 'c']);
    expect(sortDrones(list, { key: 'drone_id', desc: false }).map((d) => d.drone_id)).toEqual(['a', 'b', 'c']);
    expect(sortDrones(list, { key: 'group', desc: false }).map((d) => d.drone_id)).toEqual(['a', 'c', 'b']);
    expect(sortDrones(list, { key: 'samples', desc: true }).map((d) => d.drone_id)).toEqual(['b', 'a', 'c']);
    expect(list.map((d) => d.drone_id)).toEqual(['b', 'c', 'a']); // not changed in place
  });
  it('turns the order round on the same column; numbers start high, text A→Z', () => {
    expect(nextSort(DEFAULT_SORT, 'flight_s')).toEqual({ key: 'flight_s', desc: false });
    expect(nextSort(DEFAULT_SORT, 'alarms')).toEqual({ key: 'alarms', desc: true });
    expect(nextSort(DEFAULT_SORT, 'drone_id')).toEqual({ key: 'drone_id', desc: false });
  });
});

describe('CSV file name', () => {
  const q = { from: '2026-11-24', to: '2026-11-30' };
  it("takes the node's name, without a path", () => {
    expect(dispositionFileName('attachment; filename="analytics-daily.csv"')).toBe('analytics-daily.csv');
    expect(dispositionFileName('attachment; filename=fleet.csv')).toBe('fleet.csv');
    expect(dispositionFileName("attachment; filename=\"x.csv\"; filename*=UTF-8''d%C3%A9j%C3%A0.csv")).toBe('déjà.csv');
    expect(dispositionFileName('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(dispositionFileName('attachment')).toBeNull();
    expect(dispositionFileName(null)).toBeNull();
  });
  it('else makes one from the query', () => {
    expect(csvFileName('daily', q, null)).toBe('dccs-analytics-daily-2026-11-24-2026-11-30.csv');
    expect(csvFileName('daily', { ...q, group: 'east', drone: 'sim-1' }, null)).toBe('dccs-analytics-daily-2026-11-24-2026-11-30-east-sim-1.csv');
    expect(csvFileName('fleet', { ...q, drone: 'sim-1' }, 'inline')).toBe('dccs-analytics-fleet-2026-11-24-2026-11-30.csv');
    expect(csvFileName('drones', { ...q, group: 'east', drone: 'sim-1' }, null)).toBe('dccs-analytics-drones-2026-11-24-2026-11-30-east.csv');
    expect(csvFileName('fleet', q, 'attachment; filename="f.csv"')).toBe('f.csv');
  });
});
