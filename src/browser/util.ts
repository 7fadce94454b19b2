// Small browser helpers: listeners that never throw, and URL facts for HTTP spans.
import type { Attributes, Span, SpanOptions } from '../types.js';
import type { Tracer } from '../tracer.js';
import { internalError } from '../diag.js';

/** addEventListener that never throws; returns the remover. */
export function listen(target: EventTarget | undefined, type: string, fn: (e: Event) => void, capture = true): () => void {
  if (!target || typeof target.addEventListener !== 'function') return () => {};
  const safe = (e: Event): void => {
    try {
      fn(e);
    } catch (err) {
      internalError(err);
    }
  };
  target.addEventListener(type, safe, { capture, passive: true });
  return () => target.removeEventListener(type, safe, { capture });
}

/** An absolute URL for `url` against the page, or undefined. */
export function absolute(url: string): URL | undefined {
  try {
    return new URL(url, location.href);
  } catch {
    return undefined;
  }
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

const KNOWN_METHODS = /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$/;

/** Starts an HTTP client span: named after a known method, else `HTTP` with `_OTHER` (semantic conventions). */
export function startClientSpan(tracer: Tracer, method: unknown, u: URL, options?: SpanOptions): Span {
  const given = String(method ?? 'GET');
  const m = given.toUpperCase();
  const known = KNOWN_METHODS.test(m);
  const attrs: Attributes = {
    'http.request.method': known ? m : '_OTHER',
    'url.full': u.href,
    'server.address': u.hostname,
    'server.port': u.port ? Number(u.port) : DEFAULT_PORT[u.protocol] ?? 0,
  };
  if (!known) attrs['http.request.method_original'] = given;
  return tracer.startSpan(known ? m : 'HTTP', { ...options, kind: 2, attributes: attrs });
}

/** Where traceparent may go: the page's own origin, and URLs that `propagateTo` matches (string prefix or RegExp). */
export function propagatesTo(rules: unknown): (u: URL) => boolean {
  const list: unknown[] = Array.isArray(rules) ? rules : [];
  return (u) =>
    u.origin === location.origin ||
    list.some((r) => {
      if (typeof r === 'string') return u.href.startsWith(r);
      if (r instanceof RegExp) {
        r.lastIndex = 0;
        return r.test(u.href);
      }
      return false;
    });
}

/** Performance-timeline time of now. */
export function perfNow(): number {
  return performance.now();
}
