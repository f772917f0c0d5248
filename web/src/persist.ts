// The refresh token in sessionStorage (web/README.md, "Login and tokens"): a reload of the tab keeps the login,
// closing the tab ends it, and other tabs and later browser sessions never see it. The access token is never
// stored. The key and shape are those of the previous page, so an open session survives the upgrade.

const STORE_KEY = 'dccs.operator.session';

export interface StoredSession {
  /** A random id of this login, used to spot a duplicated tab (tabguard.ts). */
  sid: string;
  refresh_token: string;
  /** Unix seconds, node clock. */
  refresh_expires_at: number | null;
}

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the session then lives until the tab is reloaded
  }
}

export function saveSession(s: StoredSession): void {
  try {
    storage()?.setItem(STORE_KEY, JSON.stringify(s));
  } catch {
    // Quota or privacy mode: the session lives in memory only.
  }
}

export function forgetSession(): void {
  try {
    storage()?.removeItem(STORE_KEY);
  } catch {
    // Nothing was stored.
  }
}

export function loadSession(): StoredSession | null {
  let raw: string | null = null;
  try {
    raw = storage()?.getItem(STORE_KEY) ?? null;
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredSession> | null;
    if (v && typeof v.refresh_token === 'string' && v.refresh_token && typeof v.sid === 'string') {
      return {
        sid: v.sid,
        refresh_token: v.refresh_token,
        refresh_expires_at: typeof v.refresh_expires_at === 'number' ? v.refresh_expires_at : null,
      };
    }
  } catch {
    // Not ours, or damaged: forget it below.
  }
  forgetSession();
  return null;
}
