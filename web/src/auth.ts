// The login session: the access token (memory only), the single-use refresh token (sessionStorage) and their
// renewal. web/README.md, "Login and tokens", says what the page promises; docs/security.md how the node behaves.
import { Emitter } from './events';
import { SessionEndedError } from './errors';
import { ApiError, NetworkError, request } from './http';
import { forgetSession, loadSession, saveSession } from './persist';
import { randomId, TabGuard } from './tabguard';
import { parseGrant, renewalDueAt, RENEW_RETRY_MS } from './tokens';
import { retryAfterSeconds } from './format';
import type { Grant, User } from './types';

const API = '/api/v1';

export type LoginOutcome =
  | { ok: true }
  | { ok: false; problem: 'credentials' | 'refused' | 'unavailable' | 'network' | 'other'; message: string }
  | { ok: false; problem: 'rate_limited'; message: string; retryAfterS: number | null };

export class Session {
  /** A login began (after the form, or from the stored refresh token at start). */
  readonly began = new Emitter();
  /** The session ended locally; the text tells the user why (shown above the login form). */
  readonly ended = new Emitter<string>();
  /** A new access token: the open socket is handed it, and /auth/me is read again (role and groups may change). */
  readonly renewed = new Emitter<string>();
  /** The user (or the session's state) changed: the header and role-aware views render again. */
  readonly changed = new Emitter();
  /** A renewal failed for a reason that may pass (no answer, 5xx, 429): a notice. */
  readonly trouble = new Emitter<string>();

  private generation = 0; // bumped when a session begins or ends: async work of an older one stops
  private sid: string | null = null;
  private refreshToken: string | null = null;
  private refreshExpiresAt: number | null = null;
  private token: string | null = null;
  private tokenExpiresAt = 0; // page clock, ms
  private renewDueAt = Infinity; // page clock, ms
  private refreshing: { generation: number; promise: Promise<Grant> } | null = null;
  private me: User | null = null;
  private readonly tabs = new TabGuard(() => this.sid);

  get accessToken(): string | null {
    return this.token;
  }

  get loggedIn(): boolean {
    return this.refreshToken !== null;
  }

  get user(): User | null {
    return this.me;
  }

  /** Unix seconds, node clock: when the login ends whatever happens (null: unknown). */
  get loginEndsAt(): number | null {
    return this.refreshExpiresAt;
  }

  /** The current session generation; pass it to check() after an await. */
  get current(): number {
    return this.generation;
  }

  /** Throws SessionEndedError when the session `generation` is no longer the current one. */
  check(generation: number): void {
    if (generation !== this.generation) throw new SessionEndedError('the session changed');
  }

  setUser(user: User): void {
    this.me = user;
    this.changed.emit();
  }

  /**
   * A reload of the tab finds the refresh token in sessionStorage and goes on with it (the access token was in
   * memory only, so the first request renews the pair). Resolves to a message for the login form when there is
   * nothing to go on with ('' for a plain "log in").
   */
  async restore(): Promise<string | null> {
    const stored = loadSession();
    if (!stored) return '';
    if (await this.tabs.takenByAnotherTab(stored.sid)) {
      forgetSession();
      return 'This tab is a copy of another tab that is logged in, and a login can be used by one tab only. Log in again here.';
    }
    if (this.refreshToken) return null; // a login won meanwhile
    this.generation++;
    this.sid = stored.sid;
    this.refreshToken = stored.refresh_token;
    this.refreshExpiresAt = stored.refresh_expires_at;
    this.me = null;
    this.began.emit();
    this.changed.emit();
    return null;
  }

  async login(name: string, password: string): Promise<LoginOutcome> {
    let res;
    try {
      res = await request('POST', `${API}/auth/login`, { body: { name, password } });
    } catch (e) {
      const why = e instanceof NetworkError ? e.message : String(e);
      return { ok: false, problem: 'network', message: `Cannot reach the node (${why}). Check the connection and try again.` };
    }
    if (res.ok) {
      const grant = parseGrant(res.data);
      if (!grant) return { ok: false, problem: 'other', message: 'The node answered the login with an unexpected body.' };
      this.generation++;
      this.sid = randomId();
      this.me = null;
      this.applyGrant(grant);
      this.began.emit();
      this.changed.emit();
      return { ok: true };
    }
    const err = ApiError.from(res);
    switch (res.status) {
      case 401:
        return { ok: false, problem: 'credentials', message: 'Wrong user name or password.' };
      case 429:
        return {
          ok: false,
          problem: 'rate_limited',
          message: 'Too many login attempts. Wait a while and try again.',
          retryAfterS: retryAfterSeconds(err.retryAfter, Date.now()),
        };
      case 400:
        return { ok: false, problem: 'refused', message: `The node refused the login request${err.detail ? `: ${err.detail}` : '.'}` };
      case 503:
        return { ok: false, problem: 'unavailable', message: 'The node cannot check logins right now (unavailable). Try again in a moment.' };
      default:
        return { ok: false, problem: 'other', message: `Login failed (HTTP ${res.status}${err.code ? ` ${err.code}` : ''}).` };
    }
  }

  /**
   * Spends the refresh token for a new pair. At most one refresh per session runs at a time: every caller (early
   * renewal, a 401, a 4001 close, the first connect) shares the one in flight, because the node treats a second use
   * of a refresh token as theft and revokes the whole login. Rejects with SessionEndedError (the token was refused:
   * the login form is shown), NetworkError or ApiError (transient: the token is kept for a later try).
   */
  refresh(): Promise<Grant> {
    if (this.refreshing && this.refreshing.generation === this.generation) return this.refreshing.promise;
    const generation = this.generation;
    const rt = this.refreshToken;
    if (!rt) return Promise.reject(new SessionEndedError('not logged in'));
    const promise = (async () => {
      // While the token is being spent it is not in storage: a reload in that moment must not find and reuse it
      // (that would revoke the login); it finds nothing and shows the login form instead.
      forgetSession();
      let res;
      try {
        res = await request('POST', `${API}/auth/refresh`, { body: { refresh_token: rt } });
      } catch (e) {
        // No answer: the node may or may not have spent it. Keeping it is the only chance to go on; if it was
        // spent, its next use ends the login and the form is shown.
        if (generation === this.generation) this.persist();
        throw e;
      }
      // A session that ended meanwhile (logout) still gets the new pair back: logout revokes it on the node.
      const live = generation === this.generation;
      if (res.ok) {
        const grant = parseGrant(res.data);
        if (!grant) {
          if (live) this.end('The node answered the session renewal with an unexpected body. Please log in again.');
          throw new SessionEndedError('unexpected refresh answer');
        }
        if (live) this.applyGrant(grant);
        return grant;
      }
      if (res.status === 400 || res.status === 401) {
        if (live) this.end('Your session has ended. Please log in again.');
        throw new SessionEndedError('session refused');
      }
      if (live) this.persist(); // not spent (429, 5xx): put it back
      throw ApiError.from(res);
    })();
    const entry = { generation, promise };
    this.refreshing = entry;
    const clear = (): void => {
      if (this.refreshing === entry) this.refreshing = null;
    };
    promise.then(clear, clear);
    return promise;
  }

  /**
   * Makes sure there is an access token worth sending: renews it first when there is none or it is due. A failed
   * early renewal is no reason not to use a token that is still valid.
   */
  async ensureFresh(): Promise<void> {
    const generation = this.generation;
    if (this.token && Date.now() < this.renewDueAt) return;
    try {
      await this.refresh();
    } catch (e) {
      this.check(generation);
      if (e instanceof SessionEndedError || !this.token || Date.now() >= this.tokenExpiresAt) throw e;
    }
    this.check(generation);
  }

  /** Called every second and when the tab becomes visible (timers of a background tab run late). */
  renewIfDue(): void {
    if (!this.refreshToken || !this.token || Date.now() < this.renewDueAt) return;
    if (this.refreshing && this.refreshing.generation === this.generation) return;
    this.refresh().catch((e: unknown) => {
      if (e instanceof SessionEndedError) return;
      this.renewDueAt = Date.now() + RENEW_RETRY_MS;
      this.trouble.emit(`cannot renew the session: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /**
   * Ends the session locally: forgets the tokens and tells everyone (the socket closes, the drones of this user are
   * cleared, the login form shows `message`). logout() also tells the node.
   */
  end(message: string): void {
    this.generation++;
    this.token = null;
    this.tokenExpiresAt = 0;
    this.renewDueAt = Infinity;
    this.refreshToken = null;
    this.refreshExpiresAt = null;
    this.sid = null;
    this.me = null;
    forgetSession();
    this.ended.emit(message);
    this.changed.emit();
  }

  logout(): void {
    const at = this.token;
    const rt = this.refreshToken;
    const inflight = this.refreshing && this.refreshing.generation === this.generation ? this.refreshing.promise : null;
    this.end('You are logged out.');
    void revokeOnNode(at, rt, inflight);
  }

  private applyGrant(g: Grant): void {
    const now = Date.now();
    this.token = g.access_token;
    this.tokenExpiresAt = now + g.expires_in * 1000;
    this.renewDueAt = renewalDueAt(now, g.expires_in);
    this.refreshToken = g.refresh_token;
    this.refreshExpiresAt = g.refresh_expires_at;
    this.persist();
    this.renewed.emit(g.access_token);
  }

  private persist(): void {
    if (this.refreshToken && this.sid) {
      saveSession({ sid: this.sid, refresh_token: this.refreshToken, refresh_expires_at: this.refreshExpiresAt });
    } else {
      forgetSession();
    }
  }
}

/**
 * POST /auth/logout for the pair a tab held. A refresh still in flight is waited for (its new pair is the live
 * one); an expired access token (401) is renewed once with the refresh token, then that pair is logged out.
 */
async function revokeOnNode(at: string | null, rt: string | null, inflight: Promise<Grant> | null): Promise<void> {
  if (inflight) {
    try {
      const g = await inflight;
      at = g.access_token;
      rt = g.refresh_token;
    } catch (e) {
      if (e instanceof SessionEndedError) return; // the node refused that refresh token: nothing left to revoke
    }
  }
  if (!rt) return;
  try {
    if (at) {
      const res = await request('POST', `${API}/auth/logout`, { token: at, body: { refresh_token: rt }, keepalive: true });
      if (res.status !== 401) return;
    }
    const r = await request('POST', `${API}/auth/refresh`, { body: { refresh_token: rt } });
    const g = r.ok ? parseGrant(r.data) : null;
    if (g) {
      await request('POST', `${API}/auth/logout`, { token: g.access_token, body: { refresh_token: g.refresh_token }, keepalive: true });
    }
  } catch {
    // The node is unreachable: the tab has forgotten the tokens anyway.
  }
}
