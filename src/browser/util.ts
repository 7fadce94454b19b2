// Small browser helpers: listeners that never throw, and URL facts for HTTP spans.
import type { Attributes } from '../types.js';
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

/** HTTP client span attributes (semantic conventions v1.26+). */
export function httpClientAttributes(method: string, u: URL): Attributes {
  return {
    'http.request.method': method,
    'url.full': u.href,
    'server.address': u.hostname,
    'server.port': u.port ? Number(u.port) : DEFAULT_PORT[u.protocol] ?? 0,
  };
}

const KNOWN_METHODS = /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$/;

/** The span name and `http.request.method` value: known methods, else `_OTHER` / `HTTP`. */
export function normalizeMethod(method: unknown): string {
  const m = String(method ?? 'GET').toUpperCase();
  return KNOWN_METHODS.test(m) ? m : '_OTHER';
}

/** Performance-timeline time of now. */
export function perfNow(): number {
  return performance.now();
}
