// When to retry an export, and how long to wait (OTLP/HTTP 1.x "Retryable
// Response Codes": 429, 502, 503, 504, plus network errors).

/** What to do after an attempt. */
export type Outcome = 'ok' | 'retry' | 'reject';

/** Classifies an HTTP status; 0 stands for a network error or timeout. */
export function outcomeOf(status: number): Outcome {
  return status >= 200 && status < 300 ? 'ok' : [0, 429, 502, 503, 504].includes(status) ? 'retry' : 'reject';
}

/**
 * A 2xx reached through a redirect that is no OTLP answer: fetch follows a
 * 301/302/303 to a POST with a GET without the body (an SSO proxy's sign-in
 * page, a moved endpoint's new home page), and a page there answering 200
 * took no span. Neither a browser nor undici says which redirect it followed
 * (307/308 keep the POST), but OTLP's server answers with the request's
 * Content-Type: a 2xx of another type (HTML) after a redirect was no
 * delivery. One with none is taken as one (an empty 200 or 204 of a proxy).
 */
export function misdirected(res: { status: number; redirected?: boolean; headers?: { get(name: string): string | null } }): boolean {
  const type = res.redirected === true && res.status >= 200 && res.status < 300 ? res.headers?.get('content-type') : null;
  return !!type && !/^\s*application\/(x-protobuf|protobuf|json)\s*(;|$)/i.test(type);
}

/**
 * Delay before attempt `attempt + 1` (attempt >= 1), ms: exponential from
 * `initialMs`, capped at `maxMs`, with full jitter over its upper half.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const half = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30)) / 2;
  return Math.round(half + random() * half);
}

/**
 * A Retry-After header (delta seconds or an HTTP date) as ms from `nowMs`
 * (unix ms); null when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  // RFC 9110's asctime-date names no zone but is GMT, as the other two forms say.
  const at = /^\d+$/.test(v) ? nowMs + 1000 * +v : Date.parse(/\d$/.test(v) ? v + ' GMT' : v);
  return at === at ? Math.max(0, at - nowMs) : null;
}
