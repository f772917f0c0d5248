// What an operator reads when a request fails: one sentence shown next to the control that failed.
import { ApiError, NetworkError } from './http';
import { duration, retryAfterSeconds } from './format';

/** The session ended or was replaced while a request was under way: whoever gets this shows nothing. */
export class SessionEndedError extends Error {
  override name = 'SessionEndedError';
}

export function describeError(e: unknown, now = Date.now()): string {
  if (e instanceof ApiError) return describeApiError(e, now);
  if (e instanceof NetworkError) return `No answer from the node: ${e.message}.`;
  if (e instanceof Error) return e.message;
  return String(e);
}

function describeApiError(e: ApiError, now: number): string {
  const said = e.detail ? `: ${e.detail}` : '';
  const field = e.stringExtra('field') ?? e.stringExtra('parameter');
  switch (e.status) {
    case 400:
      return field ? `Invalid ${field}${said}` : `Refused (${e.code || 'bad request'})${said}`;
    case 403:
      return `Not allowed for your role${said}`;
    case 404:
      return `Not found, or not in your groups${said}`;
    case 409: {
      const holder = e.stringExtra('holder');
      if (e.code === 'controlled_by_other' && holder) return `Controlled by ${holder}.`;
      const cmd = e.stringExtra('command_id');
      if (e.code === 'command_in_flight' && cmd) return `A command of this kind is still in flight (${cmd}).`;
      return `Conflict (${e.code || '409'})${said}`;
    }
    case 429: {
      const s = retryAfterSeconds(e.retryAfter, now);
      return s !== null ? `Too many requests: try again in ${duration(s)}.` : `Too many requests${said}`;
    }
    case 503:
      return `The node cannot do this now (${e.code || 'unavailable'})${said}`;
    default:
      return `HTTP ${e.status}${e.code ? ` ${e.code}` : ''}${said}`;
  }
}
