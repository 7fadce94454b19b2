// Outgoing fetch as CLIENT spans, with traceparent/tracestate injected:
// the global fetch, and fetch on the service bindings of the handler's env.
import type { Span } from '../src/types.js';
import type { Tracer } from '../src/tracer.js';
import { internalError } from '../src/diag.js';
import { clientAttributes, recordFailure, recordStatus } from './attributes.js';

type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface FetchTracing {
  readonly tracer: Tracer;
  readonly redact: boolean | string[] | undefined;
  readonly propagateTo: ReadonlyArray<string | RegExp> | undefined;
  /** The exporter's endpoint: never traced. */
  readonly endpoint: string;
}

/** `fetchFn` (called on `target`) with a CLIENT span around each call that has a parent. */
export function tracedFetch(fetchFn: Fetch, target: unknown, t: FetchTracing, parentOf: () => Span | undefined): Fetch {
  return function fetch(input, init) {
    let span: Span | undefined;
    let request: Request | undefined;
    try {
      const parent = t.tracer.getActiveSpan() ?? parentOf();
      if (parent) {
        request = new Request(input, init);
        const url = new URL(request.url);
        if (request.url !== t.endpoint) {
          const attrs = {};
          const name = clientAttributes(request, url, t.redact, attrs);
          span = t.tracer.startSpan(name, { kind: 2, attributes: attrs }, parent);
          if (propagates(request.url, t.propagateTo)) t.tracer.inject(request.headers, span);
        }
      }
    } catch (e) {
      internalError(e);
    }
    // The Request built above carries the body now: it replaces input and init.
    const sent = request ? fetchFn.call(target, request) : fetchFn.call(target, input, init);
    if (!span) return sent;
    const s = span;
    return sent.then(
      (res) => {
        recordStatus(s, res.status, 400);
        s.end();
        return res;
      },
      (e: unknown) => {
        recordFailure(s, e);
        s.end();
        throw e; // the caller's own failure, unchanged
      },
    );
  };
}

function propagates(url: string, to: ReadonlyArray<string | RegExp> | undefined): boolean {
  if (!to) return true;
  return to.some((p) => {
    if (typeof p === 'string') return url.startsWith(p);
    p.lastIndex = 0; // a /g or /y pattern would otherwise match only every other call
    return p.test(url);
  });
}

/** `target` with its property `key` replaced by `value`; other functions stay bound to `target`. */
export function override<T extends object>(target: T, key: string, value: unknown): T {
  return new Proxy(target, {
    get(t, k) {
      if (k === key) return value;
      const v: unknown = Reflect.get(t, k);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/** The env with every service binding's fetch traced as a child of `span`. */
export function tracedEnv<E>(env: E, t: FetchTracing, span: Span): E {
  if (!env || typeof env !== 'object') return env;
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(env as E & object, {
    get(target, key) {
      if (wrapped.has(key)) return wrapped.get(key);
      const v: unknown = Reflect.get(target, key);
      let out = v;
      try {
        const f = v && (typeof v === 'object' || typeof v === 'function') ? (v as { fetch?: unknown }).fetch : undefined;
        if (typeof f === 'function') out = override(v as object, 'fetch', tracedFetch(f as Fetch, v, t, () => span));
      } catch (e) {
        internalError(e);
      }
      wrapped.set(key, out);
      return out;
    },
  });
}
