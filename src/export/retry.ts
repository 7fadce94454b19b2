// When to retry an export, and how long to wait (OTLP/HTTP 1.x "Retryable
// Response Codes": 429, 502, 503, 504, plus network errors).

/** What to do after an attempt. */
export type Outcome = 'ok' | 'retry' | 'reject';

/** Classifies an HTTP status; 0 stands for a network error or timeout. */
export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 0 || status === 429 || status === 502 || status === 503 || status === 504) return 'retry';
  return 'reject';
}

/**
 * Delay before attempt `attempt + 1` (attempt >= 1), ms: exponential from
 * `initialMs`, capped at `maxMs`, with full jitter over its upper half.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A Retry-After header (delta seconds or an HTTP date) as ms from `nowMs`
 * (unix ms); null when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}
