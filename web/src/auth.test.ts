// The session's token handling against a fake node: one refresh in flight at a time, one renewal on a 401, the
// session ended when the node refuses the refresh token.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { Session } from './auth';
import { SessionEndedError } from './errors';

type Handler = (path: string, init: RequestInit) => Response | Promise<Response>;

const json = (status: number, body: unknown): Response =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

let calls: { path: string; auth: string | null; body: unknown }[] = [];
let refreshes = 0;

function fakeNode(handler: Handler): void {
  vi.stubGlobal('fetch', async (path: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    calls.push({ path, auth: headers.get('Authorization'), body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (path === '/api/v1/auth/refresh') refreshes++;
    return handler(path, init);
  });
}

const grant = (n: number) => ({ access_token: `at${n}`, refresh_token: `rt${n}`, expires_in: 900, refresh_expires_at: 2_000_000_000 });

async function loggedIn(): Promise<Session> {
  const s = new Session();
  const outcome = await s.login('alice', 'correct horse battery');
  expect(outcome).toEqual({ ok: true });
  return s;
}

beforeEach(() => {
  calls = [];
  refreshes = 0;
  vi.stubGlobal('BroadcastChannel', undefined); // no other tabs in a test
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Session', () => {
  it('shares one refresh between concurrent callers', async () => {
    let n = 1;
    fakeNode(async (path) => {
      if (path === '/api/v1/auth/login') return json(200, grant(1));
      await new Promise((r) => setTimeout(r, 10));
      return json(200, grant(++n));
    });
    const s = await loggedIn();
    const [a, b, c] = await Promise.all([s.refresh(), s.refresh(), s.refresh()]);
    expect(refreshes).toBe(1);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(s.accessToken).toBe('at2');
    // The next refresh spends the new token, not the old one.
    await s.refresh();
    expect(calls.filter((c) => c.path === '/api/v1/auth/refresh').map((c) => c.body)).toEqual([
      { refresh_token: 'rt1' },
      { refresh_token: 'rt2' },
    ]);
  });

  it('ends the session when the node refuses the refresh token', async () => {
    fakeNode((path) => (path === '/api/v1/auth/login' ? json(200, grant(1)) : json(401, { error: { code: 'invalid_token', message: 'spent' } })));
    const s = await loggedIn();
    const ended: string[] = [];
    s.ended.on((m) => ended.push(m));
    await expect(s.refresh()).rejects.toBeInstanceOf(SessionEndedError);
    expect(s.loggedIn).toBe(false);
    expect(s.accessToken).toBeNull();
    expect(ended).toEqual(['Your session has ended. Please log in again.']);
  });

  it('keeps the session when the refresh gets no answer or a 503', async () => {
    let mode: 'down' | '503' = 'down';
    fakeNode((path) => {
      if (path === '/api/v1/auth/login') return json(200, grant(1));
      if (mode === 'down') throw new TypeError('fetch failed');
      return json(503, { error: { code: 'unavailable', message: 'db down' } });
    });
    const s = await loggedIn();
    await expect(s.refresh()).rejects.toThrow(/cannot be reached/);
    mode = '503';
    await expect(s.refresh()).rejects.toMatchObject({ status: 503 });
    expect(s.loggedIn).toBe(true);
    expect(s.accessToken).toBe('at1');
  });

  it('reports a 429 login with its Retry-After', async () => {
    fakeNode(() => new Response(JSON.stringify({ error: { code: 'too_many_attempts', message: 'wait' } }), { status: 429, headers: { 'Retry-After': '42' } }));
    const outcome = await new Session().login('alice', 'x');
    expect(outcome).toMatchObject({ ok: false, problem: 'rate_limited', retryAfterS: 42 });
  });
});

describe('Api', () => {
  it('renews once on a 401 and tries again with the new token', async () => {
    fakeNode((path, init) => {
      if (path === '/api/v1/auth/login') return json(200, grant(1));
      if (path === '/api/v1/auth/refresh') return json(200, grant(2));
      const auth = new Headers(init.headers).get('Authorization');
      return auth === 'Bearer at2' ? json(200, { name: 'alice', role: 'operator', groups: ['east'] }) : json(401, { error: { code: 'invalid_token' } });
    });
    const s = await loggedIn();
    const me = await new Api(s).me();
    expect(me.name).toBe('alice');
    expect(calls.map((c) => `${c.path} ${c.auth ?? ''}`)).toEqual([
      '/api/v1/auth/login ',
      '/api/v1/auth/me Bearer at1',
      '/api/v1/auth/refresh ',
      '/api/v1/auth/me Bearer at2',
    ]);
  });

  it('does not renew again for a 401 of a request sent before a renewal', async () => {
    let slow = true;
    let n = 1;
    fakeNode(async (path, init) => {
      if (path === '/api/v1/auth/login') return json(200, grant(1));
      if (path === '/api/v1/auth/refresh') return json(200, grant(++n));
      const auth = new Headers(init.headers).get('Authorization');
      if (auth !== 'Bearer at1') return json(200, { name: 'alice', role: 'admin', groups: [] });
      // The first request with the old token is slow: its 401 comes after the other one's renewal.
      const wait = slow ? 50 : 0;
      slow = false;
      await new Promise((r) => setTimeout(r, wait));
      return json(401, { error: { code: 'invalid_token' } });
    });
    const s = await loggedIn();
    const api = new Api(s);
    await Promise.all([api.me(), api.me()]);
    expect(refreshes).toBe(1);
  });

  it('ends the session on a second 401', async () => {
    let n = 1;
    fakeNode((path) => {
      if (path === '/api/v1/auth/login') return json(200, grant(1));
      if (path === '/api/v1/auth/refresh') return json(200, grant(++n));
      return json(401, { error: { code: 'invalid_token' } });
    });
    const s = await loggedIn();
    await expect(new Api(s).me()).rejects.toBeInstanceOf(SessionEndedError);
    expect(refreshes).toBe(1);
    expect(s.loggedIn).toBe(false);
  });

  it('turns an error answer into an ApiError naming the field', async () => {
    fakeNode((path) =>
      path === '/api/v1/auth/login'
        ? json(200, grant(1))
        : json(400, { error: { code: 'invalid_field', message: 'alt must be 1 … 10000', field: 'params.alt' } }),
    );
    const s = await loggedIn();
    await expect(new Api(s).issueCommand('d1', 'takeoff', { alt: 0 })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_field',
      extra: { field: 'params.alt' },
    });
    expect(calls.at(-1)?.body).toEqual({ kind: 'takeoff', params: { alt: 0 } });
  });

  it('treats a missing web config route as "no tile server"', async () => {
    fakeNode((path) => (path === '/api/v1/auth/login' ? json(200, grant(1)) : json(404, { error: { code: 'not_found' } })));
    const s = await loggedIn();
    await expect(new Api(s).webConfig()).resolves.toBeNull();
  });
});
