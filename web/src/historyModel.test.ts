import { describe, expect, it } from 'vitest';
import { csvFileName, nearestIndex, parseTrack, pickBucket, rangeProblem } from './historyModel';
import type { TrackCollection } from './types';

const MIN = 60_000;

describe('pickBucket', () => {
  it('asks for raw rows up to 16 minutes (10 Hz × 16 min fits the 10,000 rows of one answer)', () => {
    expect(pickBucket(16 * MIN)).toBeUndefined();
    expect(pickBucket(16 * MIN + 1)).toBe('1s');
  });

  it('picks the finest bucket that keeps a range to about 3000 rows', () => {
    expect(pickBucket(60 * MIN)).toBe('10s'); // 360 rows; 1s would be 3600
    expect(pickBucket(6 * 60 * MIN)).toBe('10s'); // 2160
    expect(pickBucket(24 * 60 * MIN)).toBe('30s'); // 2880
    expect(pickBucket(31 * 24 * 60 * MIN)).toBe('30m'); // 1488
  });
});

describe('rangeProblem', () => {
  it('takes a proper range and names what is wrong with others', () => {
    expect(rangeProblem(0, MIN)).toBeNull();
    expect(rangeProblem(MIN, MIN)).toMatch(/before/);
    expect(rangeProblem(NaN, MIN)).toMatch(/start/);
    expect(rangeProblem(0, 32 * 24 * 60 * MIN)).toMatch(/31 days/);
  });
});

describe('parseTrack', () => {
  const fc = (geometry: TrackCollection['features'][0]['geometry'], times: number[]): TrackCollection => ({
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry, properties: { drone_id: 'd', points: times.length, samples: 5, sampled: true, times } }],
  });

  it('turns [lon, lat, alt] into [lat, lon] with times', () => {
    const t = parseTrack(fc({ type: 'LineString', coordinates: [[8.5, 47.1, 400], [8.6, 47.2, 410]] }, [1000, 2000]));
    expect(t.points).toEqual([
      [47.1, 8.5],
      [47.2, 8.6],
    ]);
    expect(t.times).toEqual([1000, 2000]);
    expect(t.sampled).toBe(true);
  });

  it('takes a single Point and an empty (null) geometry', () => {
    expect(parseTrack(fc({ type: 'Point', coordinates: [8.5, 47.1, 400] }, [5])).points).toEqual([[47.1, 8.5]]);
    expect(parseTrack(fc(null, [])).points).toEqual([]);
    expect(parseTrack({ type: 'FeatureCollection', features: [] }).points).toEqual([]);
  });
});

describe('nearestIndex', () => {
  it('finds the nearest time, the earlier one on a tie', () => {
    const ts = [10, 20, 30, 40];
    expect(nearestIndex(ts, 0)).toBe(0);
    expect(nearestIndex(ts, 24)).toBe(1);
    expect(nearestIndex(ts, 25)).toBe(1);
    expect(nearestIndex(ts, 26)).toBe(2);
    expect(nearestIndex(ts, 99)).toBe(3);
    expect(nearestIndex([], 5)).toBe(-1);
  });
});

describe('csvFileName', () => {
  it('makes a safe file name', () => {
    expect(csvFileName('a/b c', new Date(2026, 10, 30, 14, 5).getTime(), new Date(2026, 10, 30, 15, 0).getTime())).toBe(
      'a_b_c_20261130-1405_20261130-1500.csv',
    );
  });
});
