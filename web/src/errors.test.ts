import { describe, expect, it } from 'vitest';
import { describeError } from './errors';
import { ApiError, NetworkError } from './http';

const apiError = (status: number, error: Record<string, unknown>, retryAfter: string | null = null) =>
  ApiError.from({ status, ok: false, data: { error }, headers: new Headers(retryAfter ? { 'Retry-After': retryAfter } : {}) });

describe('describeError', () => {
  it('names the holder of a lease', () => {
    expect(describeError(apiError(409, { code: 'controlled_by_other', message: 'x', holder: 'alice' }))).toBe('Controlled by alice.');
  });

  it('names the field or parameter of a 400', () => {
    expect(describeError(apiError(400, { code: 'invalid_field', message: 'alt out of range', field: 'params.alt' }))).toBe(
      'Invalid params.alt: alt out of range',
    );
    expect(describeError(apiError(400, { code: 'invalid_parameter', message: 'bad', parameter: 'from' }))).toBe('Invalid from: bad');
  });

  it('says a 403 is about the role', () => {
    expect(describeError(apiError(403, { code: 'forbidden', message: 'viewers cannot command' }))).toMatch(/^Not allowed for your role/);
  });

  it('gives the wait of a 429', () => {
    expect(describeError(apiError(429, { code: 'too_many_tickets' }, '30'))).toBe('Too many requests: try again in 30 s.');
  });

  it('copes with a body that is not the error shape', () => {
    const e = ApiError.from({ status: 502, ok: false, data: 'proxy error', headers: new Headers() });
    expect(describeError(e)).toBe('HTTP 502');
    expect(describeError(new NetworkError('the node cannot be reached'))).toMatch(/No answer/);
  });
});
