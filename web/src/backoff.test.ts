import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('starts at 0.5 s and doubles', () => {
    expect(backoffDelay(0, 0.999999)).toBe(BACKOFF_MIN_MS);
    expect(backoffDelay(1, 0.999999)).toBe(1000);
    expect(backoffDelay(2, 0.999999)).toBe(2000);
    expect(backoffDelay(4, 0.999999)).toBe(8000);
  });

  it('is capped at 15 s, however many attempts', () => {
    expect(backoffDelay(5, 0.999999)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelay(1000, 0.999999)).toBe(BACKOFF_MAX_MS);
  });

  it('jitters between half and all of the base', () => {
    expect(backoffDelay(3, 0)).toBe(2000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, Math.random());
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});
