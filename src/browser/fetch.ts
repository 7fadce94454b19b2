// fetch client spans (HTTP semantic conventions), with traceparent/tracestate
// injected only where the page may send them (same origin or `propagateTo`).
import type { Span } from '../types.js';
import type { BrowserContext } from './types.js';
import { internalError } from '../diag.js';
import { holdActive } from './hold.js';
import { type Done, endInflight, fetchTarget, httpUrl, inflight, perfNow, settled, startClientSpan, withHeaders } from './util.js';

type Fetch = typeof fetch;

export function instrumentFetch(ctx: BrowserContext): void {
  const g = globalThis as { fetch?: Fetch };
  const original = g.fetch;
  if (typeof original !== 'function') return;
  const wrapped = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let done: Done | undefined;
    try {
      const [method, href] = fetchTarget(input, init);
      const u = httpUrl(href);
      if (u && !ctx.ignore(u.href)) {
        let headers: Record<string, string> | undefined;
        [done, headers] = request(ctx, method, u);
        if (headers) init = withHeaders(input, init, headers);
      }
    } catch (e) {
      internalError(e);
    }
    // The page's own request, started synchronously (pagehide senders rely on it).
    const sent = original.call(globalThis, input, init);
    return done ? settled(sent, done) : sent;
  };
  g.fetch = wrapped as Fetch;
  ctx.fetchSince = perfNow();
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
