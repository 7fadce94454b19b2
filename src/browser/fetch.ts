// fetch client spans (HTTP semantic conventions), with traceparent/tracestate
// injected only where the page may send them (same origin or `propagateTo`).
import type { Span } from '../types.js';
import type { BrowserContext } from './types.js';
import { internalError } from '../diag.js';
import { holdActive } from './hold.js';
import { now } from '../clock.js';
import { endInflight, failLater, fetchTarget, httpUrl, inflight, perfNow, startClientSpan, withHeaders } from './util.js';

type Fetch = typeof fetch;

export function instrumentFetch(ctx: BrowserContext): () => void {
  const g = globalThis as { fetch?: Fetch };
  const original = g.fetch;
  if (typeof original !== 'function') return () => {};
  const wrapped = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let span: Span | undefined;
    let release: () => void = () => {};
    try {
      const [method, href] = fetchTarget(input, init);
      const u = httpUrl(href);
      if (u && !ctx.ignore(u.href)) {
        span = startClientSpan(ctx.tracer, method, u, ctx.redact);
        inflight.add(span);
        release = holdActive();
        if (ctx.propagate(u)) {
          const carrier: Record<string, string> = {};
          ctx.tracer.inject(carrier, span);
          init = withHeaders(input, init, carrier);
        }
      }
    } catch (e) {
      internalError(e);
    }
    // The page's own request, started synchronously (pagehide senders rely on it).
    const sent = original.call(globalThis, input, init);
    if (!span) return sent;
    const s = span;
    return sent.then(
      (res) => {
        end(s, res.status, undefined);
        release();
        return res;
      },
      (err: unknown) => {
        const at = now();
        failLater(() => {
          end(s, 0, err, at);
          release();
        });
        throw err; // the page's own failure, untouched
      },
    );
  };
  g.fetch = wrapped as Fetch;
  ctx.fetchSince = perfNow();
  ctx.onUnload.push(endInflight);
  return () => {
    if (g.fetch === wrapped) g.fetch = original;
  };
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
