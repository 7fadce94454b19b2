// fetch client spans (HTTP semantic conventions), with traceparent/tracestate
// injected only where the page may send them (same origin or `propagateTo`).
import type { Span } from '../types.js';
import type { BrowserContext } from './types.js';
import { holdActive } from './hold.js';
import { type Done, type Traced, endInflight, inflight, put, startClientSpan, wrapFetch } from './util.js';

/** The full instrumentations' start of a request (fetch and XHR): a CLIENT span unless it is the SDK's own. */
export const clientStart = (ctx: BrowserContext) => (method: unknown, u: URL): Traced | undefined => (ctx.ignore(u.href) ? undefined : request(ctx, method, u));

/**
 * Wraps fetch, unless the early recorder's wrapper traces it already
 * (`wrapped`: it was handed over); not where the page has none, or made it
 * read-only.
 */
export function instrumentFetch(ctx: BrowserContext, wrapped = false): void {
  const g = globalThis as { fetch?: typeof fetch };
  if (!wrapped && (typeof g.fetch !== 'function' || !put(g, 'fetch', wrapFetch(g.fetch, clientStart(ctx))))) return;
  ctx.onUnload.push(endInflight);
}

/**
 * Starts the CLIENT span of a request to `u` (in flight until it ends; it
 * holds the interaction that started it open): what ends it, and the trace
 * headers it carries where they may go.
 */
export function request(ctx: BrowserContext, method: unknown, u: URL): [Done, Record<string, string> | undefined] {
  const span = startClientSpan(ctx.tracer, method, u, ctx.redact);
  inflight.add(span);
  const release = holdActive();
  let headers: Record<string, string> | undefined;
  if (ctx.propagate(u)) ctx.tracer.inject((headers = {}), span);
  return [
    (status, err, at) => {
      end(span, status, err, at);
      release();
    },
    headers,
  ];
}

/**
 * Ends an HTTP client span (now, or `at`): status code, error.type and status
 * on failure. Status 0 with no `err` is an opaque response (`no-cors`,
 * `redirect: 'manual'`): the page's success, with no status to report.
 */
export function end(span: Span, status: number, err: unknown, at?: number): void {
  inflight.delete(span);
  if (status > 0) span.setAttribute('http.response.status_code', status);
  if (status >= 400) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: 2 });
  } else if (status === 0 && err !== undefined) {
    const type = err instanceof Error ? err.name : typeof err === 'string' ? err : 'Error';
    span.setAttribute('error.type', type);
    if (err !== undefined) span.recordException(err, at);
    span.setStatus({ code: 2, message: err instanceof Error ? err.message : type });
  }
  span.end(at);
}
