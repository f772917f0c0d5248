// Pure rules of the token lifecycle (docs/security.md, "Token lifecycle"), kept apart from auth.ts so they can be
// tested without a browser.
import { isNum } from './format';
import type { Grant } from './types';

/** Renew this long before the access token expires, at most: background tabs run timers about once a minute. */
const MAX_EARLY_MS = 120000;

/** A lifetime we assume when the node does not say: renewing early costs one request, expiring costs a 401. */
const UNKNOWN_LIFETIME_S = 60;

/** A failed early renewal is tried again after this long (the old token is still valid meanwhile). */
export const RENEW_RETRY_MS = 15000;

/** The login or refresh answer, or null when it lacks a token. */
export function parseGrant(data: unknown): Grant | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  if (typeof d.access_token !== 'string' || !d.access_token) return null;
  if (typeof d.refresh_token !== 'string' || !d.refresh_token) return null;
  return {
    access_token: d.access_token,
    refresh_token: d.refresh_token,
    expires_in: isNum(d.expires_in) && d.expires_in > 0 ? d.expires_in : UNKNOWN_LIFETIME_S,
    refresh_expires_at: isNum(d.refresh_expires_at) ? d.refresh_expires_at : null,
  };
}

/**
 * When (page clock, ms) a token received at `receivedAt` with `expiresInS` seconds to live is due for renewal: a
 * quarter of its lifetime before the end, at most two minutes before. The page measures from the answer, a little
 * after the node issued it, so the margin also covers the request's time in flight. A fresh token is never due,
 * however short-lived.
 */
export function renewalDueAt(receivedAt: number, expiresInS: number): number {
  const life = expiresInS * 1000;
  return receivedAt + life - Math.min(MAX_EARLY_MS, life / 4);
}
