// One HTTP request to the node, and the errors every caller shows in place. No tokens here: api.ts adds the
// bearer token and its renewal, auth.ts uses this directly for the public login and refresh routes.

const REQUEST_TIMEOUT_MS = 15000;

export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The parsed JSON body, the text of a text/csv body, or null. */
  data: unknown;
  headers: Headers;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Survives the page being closed (logout on the way out). */
  keepalive?: boolean;
  accept?: 'json' | 'csv';
  headers?: Record<string, string>;
}

/** No answer: the node is unreachable, or did not answer within the timeout. Transient by nature. */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/**
 * An HTTP error answer, `{"error":{"code","message", …}}` (docs/protocol.md, "REST API"), with the extra
 * members the node adds: `field` (a body field), `parameter` (a query parameter), `holder` (409
 * controlled_by_other), `command_id` (409 command_in_flight), `drone_id` (missions).
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: Readonly<Record<string, unknown>>,
    readonly retryAfter: string | null,
  ) {
    super(detail || code || `HTTP ${status}`);
  }

  static from(answer: HttpAnswer): ApiError {
    const body = answer.data;
    const err =
      body && typeof body === 'object' && 'error' in body && body.error && typeof body.error === 'object'
        ? (body.error as Record<string, unknown>)
        : {};
    const code = typeof err.code === 'string' ? err.code : '';
    const message = typeof err.message === 'string' ? err.message : '';
    return new ApiError(answer.status, code, message, err, answer.headers.get('Retry-After'));
  }

  stringExtra(key: string): string | undefined {
    const v = this.extra[key];
    return typeof v === 'string' ? v : undefined;
  }
}

export async function request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {
    Accept: opts.accept === 'csv' ? 'text/csv' : 'application/json',
    ...opts.headers,
  };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const init: RequestInit = {
    method,
    headers,
    cache: 'no-store',
    credentials: 'same-origin',
    keepalive: opts.keepalive === true,
  };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  init.signal = ctl.signal;
  try {
    const res = await fetch(path, init);
    const text = res.status === 204 ? '' : await res.text();
    return { status: res.status, ok: res.ok, data: parseBody(text, res.headers), headers: res.headers };
  } catch (e) {
    const aborted = e instanceof DOMException && e.name === 'AbortError';
    throw new NetworkError(aborted ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : 'the node cannot be reached');
  } finally {
    clearTimeout(timer);
  }
}

function parseBody(text: string, headers: Headers): unknown {
  if (!text) return null;
  if ((headers.get('Content-Type') ?? '').startsWith('text/csv')) return text;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
