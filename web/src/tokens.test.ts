import { describe, expect, it } from 'vitest';
import { parseGrant, renewalDueAt } from './tokens';

describe('parseGrant', () => {
  it('takes a login answer', () => {
    expect(parseGrant({ access_token: 'a', refresh_token: 'r', expires_in: 900, refresh_expires_at: 1800000000 })).toEqual({
      access_token: 'a',
      refresh_token: 'r',
      expires_in: 900,
      refresh_expires_at: 1800000000,
    });
  });

  it('refuses an answer without tokens', () => {
    expect(parseGrant(null)).toBeNull();
    expect(parseGrant({ access_token: 'a' })).toBeNull();
    expect(parseGrant({ access_token: '', refresh_token: 'r' })).toBeNull();
  });

  it('assumes a short lifetime when the node gives none', () => {
    expect(parseGrant({ access_token: 'a', refresh_token: 'r' })?.expires_in).toBe(60);
    expect(parseGrant({ access_token: 'a', refresh_token: 'r', expires_in: -5 })?.expires_in).toBe(60);
  });
});

describe('renewalDueAt', () => {
  it('renews a 15-minute token 2 minutes early (the cap)', () => {
    expect(renewalDueAt(1000, 900)).toBe(1000 + 900_000 - 120_000);
  });

  it('renews a short token a quarter of its life early', () => {
    expect(renewalDueAt(0, 60)).toBe(45_000);
    expect(renewalDueAt(0, 4)).toBe(3_000);
  });

  it('never makes a fresh token due', () => {
    for (const life of [1, 10, 60, 900, 86400]) expect(renewalDueAt(5000, life)).toBeGreaterThan(5000);
  });
});
