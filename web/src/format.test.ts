import { describe, expect, it } from 'vitest';
import { ago, DASH, dateTime, duration, fixed, isoDateTime, latency, metres, retryAfterSeconds } from './format';

describe('format', () => {
  it('shows a dash for missing or non-finite numbers', () => {
    for (const v of [undefined, null, NaN, Infinity, '12', {}]) expect(fixed(v, 1)).toBe(DASH);
    expect(fixed(12.345, 1, 'm')).toBe('12.3 m');
  });

  it('formats durations in growing units', () => {
    expect(duration(0)).toBe('0 s');
    expect(duration(119.9)).toBe('119 s');
    expect(duration(125)).toBe('2m 05s');
    expect(duration(3600 + 7 * 60)).toBe('1h 07m');
    expect(duration(3 * 86400 + 5)).toBe('3d');
    expect(duration(-5)).toBe('0 s');
  });

  it('formats latency in ms, then seconds', () => {
    expect(latency(42.4)).toBe('42 ms');
    expect(latency(12500)).toBe('12.5 s');
    expect(latency(undefined)).toBe(DASH);
  });

  it('shows a last_seen of null as "never", never as 1970', () => {
    expect(ago(null, 1_800_000_000_000)).toBe('never');
    expect(ago(undefined, 1_800_000_000_000)).toBe(DASH);
    expect(ago(1_800_000_000_000 - 61_000, 1_800_000_000_000)).toBe('61 s ago');
    expect(isoDateTime(null)).toBe('never');
    expect(isoDateTime(undefined)).toBe(DASH);
    expect(isoDateTime('2026-11-26T10:00:00.000Z')).toMatch(/^2026-11-2[67] \d\d:\d\d:00$/);
    expect(isoDateTime('not a time')).toBe('not a time');
    expect(dateTime(NaN)).toBe(DASH);
  });

  it('formats long distances in km', () => {
    expect(metres(950.4)).toBe('950 m');
    expect(metres(12345)).toBe('12.3 km');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    expect(retryAfterSeconds('120', now)).toBe(120);
    expect(retryAfterSeconds('Mon, 30 Nov 2026 10:01:30 GMT', now)).toBe(90);
    expect(retryAfterSeconds(null, now)).toBeNull();
    expect(retryAfterSeconds('soon', now)).toBeNull();
  });
});
