// Outgoing fetch as CLIENT spans, with traceparent/tracestate injected:
// the global fetch, and fetch on the service bindings of the handler's env.
import type { Span } from '../src/types.js';
import type { Tracer } from '../src/tracer.js';
import { internalError } from '../src/diag.js';
import { type RedactQuery, matchesAny } from '../src/url.js';
import { clientAttributes, recordFailure, recordStatus } from './attributes.js';
import { type Invocation, awaiting } from './context.js';

type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Internal (`_` names are minified). */
export interface FetchTracing {
  readonly _tracer: Tracer;
  readonly _redact: RedactQuery;
  readonly _to: ReadonlyArray<string | RegExp> | undefined;
  /** The exporter's endpoint: never traced. */
  readonly _endpoint: string;
}

/**
 * `fetchFn` (called on `target`) with a CLIENT span around each call that has
 * a parent: the active span, else the span of `invocationOf()`, the
 * invocation running now, with which the span waits for the fetch.
 */
export function tracedFetch(fetchFn: Fetch, target: unknown, t: FetchTracing, invocationOf: () => Invocation | undefined): Fetch {
  return async (input, init) => {
    let span: Span | undefined;
    let request: Request | undefined;
    let settled: (() => void) | undefined;
    try {
      const inv = invocationOf();
      const parent = t._tracer.getActiveSpan() ?? inv?._span;
      if (parent) {
        request = new Request(input, init);
        const url = request.url;
        if (url !== t._endpoint) {
          const attributes = {};
          span = t._tracer.startSpan(clientAttributes(request, t._redact, attributes), { kind: 2, attributes }, parent);
          settled = awaiting(span, inv);
          if (!t._to || matchesAny(t._to, url)) t._tracer.inject(request.headers, span);
        }
      }
    } catch (e) {
      internalError(e);
    }
    try {
      // The Request built above carries the body now: it replaces input and init.
      const res = await (request ? fetchFn.call(target, request) : fetchFn.call(target, input, init));
      if (span) recordStatus(span, res.status, 400);
      return res;
    } catch (e) {
      if (span) recordFailure(span, e);
      throw e; // the caller's own failure, unchanged
    } finally {
      settled?.();
      span?.end();
    }
  };
}

/**
 * `target` with its property `key` replaced by `value`. Its class's methods
 * stay bound to `target` (a native method refuses a Proxy as `this`); anything
 * else passes through untouched: on an RPC stub (a binding to a
 * WorkerEntrypoint) every other property is itself a callable stub, whose
 * `.bind` would be a remote call. But not its `toJSON`, which JSON.stringify
 * of the stub itself never calls: through a Proxy it would, an RPC call.
 */
export function override<T extends object>(target: T, key: string, value: unknown): T {
  // A frozen property can only be read as it is (a Proxy's get must not
  // answer otherwise): one that is `key` cannot be overridden at all.
  if (fixed(target, key)) return target;
  return new Proxy(target, {
    get(t, k) {
      if (k === key) return value;
      const v: unknown = Reflect.get(t, k);
      if (fixed(t, k)) return v;
      const p: object | null = Object.getPrototypeOf(t);
      if (typeof v !== 'function') return v;
      return p && k in p ? v.bind(t) : k === 'toJSON' && !Object.hasOwn(t, k) ? undefined : v;
    },
  });
}

/** Whether `t`'s own property `k` is frozen (not configurable, not writable): a Proxy must read it as it is. */
function fixed(t: object, k: PropertyKey): boolean {
  const d = Reflect.getOwnPropertyDescriptor(t, k);
  return !!d && !d.configurable && d.writable === false;
}

/**
 * The env with every service binding's fetch traced as `tracedFetch` traces
 * the global one. It lives as long as the env: each binding is wrapped
 * once (keyed by the binding, so nothing grows with the keys read).
 */
export function tracedEnv<E extends object>(env: E, t: FetchTracing, invocationOf: () => Invocation | undefined): E {
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(env, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (fixed(target, key)) return v; // a frozen env (tests freeze theirs): its bindings as they are, untraced
      try {
        const f = (v as { fetch?: unknown } | undefined)?.fetch;
        if (typeof f === 'function') {
          if (!wrapped.has(v as object)) wrapped.set(v as object, override(v as object, 'fetch', tracedFetch(f as Fetch, v, t, invocationOf)));
          return wrapped.get(v as object);
        }
      } catch (e) {
        internalError(e);
      }
      return v;
    },
  });
}
