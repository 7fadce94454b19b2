// Small browser helpers: listeners that never throw, and URL facts for HTTP spans.
import type { Attributes, Span, SpanOptions } from '../types.js';
import type { Tracer } from '../tracer.js';
import type { BrowserContext, Period } from './types.js';
import { unixNow } from '../clock.js';
import { internalError } from '../diag.js';
import { exporting } from '../export/exporting.js';
import { type RedactQuery, fullUrl, listSetting, matchesAny } from '../url.js';

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

/**
 * Sets `obj[key]` to `value` as a page's assignment would, and says whether
 * it took: a page may have frozen the object (XMLHttpRequest.prototype) or
 * made the property read-only (window.fetch), where an assignment throws in
 * strict code (or fails silently in sloppy code). With `own`, a read-only
 * property `obj` inherits is shadowed by one of its own instead (a frozen
 * History.prototype under a `history` that is not).
 */
export function put<T extends object, K extends keyof T>(obj: T, key: K, value: T[K], own = false): boolean {
  try {
    obj[key] = value;
  } catch {
    // read-only: tried below, or not set
  }
  if (obj[key] === value) return true;
  if (!own) return false;
  try {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } catch {
    return false; // `obj` itself frozen, or not extensible
  }
  return obj[key] === value;
}

/** Lowercase hex of `bytes` (random ids made before Wasm, or outside it). */
export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/** An absolute URL for `url` against the document's base URL (as fetch, XHR and links resolve it), or undefined. */
export function absolute(url: string): URL | undefined {
  try {
    return new URL(url, document.baseURI);
  } catch {
    return undefined;
  }
}

/** The absolute URL of a request to `url`, when it is http(s): the only requests traced. */
export function httpUrl(url: string): URL | undefined {
  const u = absolute(url);
  return u && /^https?:$/.test(u.protocol) ? u : undefined;
}

/** A Request of any realm: an iframe's fails `instanceof Request`, and String() of it is no URL. */
const isRequest = (x: unknown): x is Request => Object.prototype.toString.call(x) === '[object Request]';

/** The method and http(s) URL a `fetch(input, init)` call asks for, or undefined (another scheme). */
function fetchTarget(input: RequestInfo | URL, init: RequestInit | undefined): [method: unknown, url: URL] | undefined {
  const [method, href] = isRequest(input) ? [init?.method ?? input.method, input.url] : [init?.method ?? 'GET', String(input)];
  const u = httpUrl(href);
  return u && [method, u];
}

type FetchArgs = [RequestInfo | URL, RequestInit?];

/**
 * The page's `fetch(...args)` with `headers` set over the request's own —
 * except a `baggage` the app set itself, left as it is (as tracer.inject
 * does), and all of them when the app set its own `traceparent` (its trace
 * context, from elsewhere).
 */
function withHeaders(args: FetchArgs, headers: Record<string, string>): FetchArgs {
  const [input, init] = args;
  const set = (h: Headers): void => {
    if (!h.has('traceparent')) for (const k in headers) if (k !== 'baggage' || !h.has(k)) h.set(k, headers[k] as string);
  };
  if (isRequest(input) || isRequest(init)) {
    // Made as fetch makes it and sent with no init: an init resets a Request's referrer and policy (and
    // over a Request given as init, fetch would call its getters on another object: Illegal invocation).
    const req = new Request(input, init); // throws as the page's call will (it goes out as it was)
    set(req.headers);
    return [req];
  }
  // The page's input as it is (a fetch of the page's own below may read it); its init with headers over it, not a copy: fetch reads every member, inherited ones (Object.create, getters) too.
  const h = new Headers(init?.headers);
  set(h);
  return [input, Object.create(init ?? null, { headers: { value: h, enumerable: true } }) as RequestInit];
}

/** Distinct URLs noted at most (noteTraced): the oldest go first. */
const MAX_NOTED = 512;
const noted = new Map<string, number>();
/** A request's URL as its Resource Timing entry names it: without a fragment. */
const entryName = (href: string): string => href.split('#', 1)[0] as string;

/**
 * Notes a traced request (a CLIENT span) to `u`: its Resource Timing entry,
 * when it comes, is skipped (takeTraced). By URL, not by time: a request
 * sent through a fetch or XHR method the page kept before the SDK wrapped it
 * goes untraced, and its entry is its only record. A request that ends with
 * no entry leaves its note; at most MAX_NOTED URLs are kept, the oldest
 * dropped first.
 */
export function noteTraced(u: URL): void {
  const k = entryName(u.href);
  const n = noted.get(k) ?? 0;
  noted.delete(k);
  noted.set(k, n + 1);
  if (noted.size > MAX_NOTED) noted.delete(noted.keys().next().value as string);
}

/** Whether a traced request to `href` (a Resource Timing entry's name) was noted; takes the note. */
export function takeTraced(href: string): boolean {
  const k = entryName(href);
  const n = noted.get(k);
  if (!n) return false;
  if (n > 1) noted.set(k, n - 1);
  else noted.delete(k);
  return true;
}

/** How a traced request starts: what ends it, and the trace headers it carries (where they may go). */
export type Traced = [done: Done, headers: Record<string, string> | undefined];

/**
 * `fetch0` wrapped: each call to an http(s) URL is offered to `start`, which
 * may trace it. The page's call goes to `fetch0` as it was made — its `this`
 * and its arguments, as many (`fetch()` rejects as the page's own would) —
 * with the trace headers over the request's where `start` gives some.
 */
export function wrapFetch(fetch0: typeof fetch, start: (method: unknown, url: URL) => Traced | undefined): typeof fetch {
  // A method: named `fetch` (the minifier keeps property names), no `prototype`, `length` 1 — as the page's own.
  return {
    fetch(this: unknown, input: RequestInfo | URL): Promise<Response> {
      // Delivery's own request (a batch under way), marked entered here and
      // passed on just before the call below, with no call between: a
      // pagehide listener the browser ends in this code has not made it.
      const own = exporting._batch;
      exporting._entered = own;
      let args = [...arguments] as FetchArgs;
      let done: Done | undefined;
      try {
        const u = args.length ? fetchTarget(input, args[1]) : undefined;
        const traced = u && start(u[0], u[1]);
        done = traced?.[0];
        if (done) noteTraced(u![1]);
        if (traced?.[1]) args = withHeaders(args, traced[1]);
      } catch (e) {
        internalError(e);
      }
      // The page's own request, started synchronously (pagehide senders rely on it).
      exporting._passed = own;
      if (!done) return fetch0.apply(this, args);
      let sent: Promise<Response>;
      try {
        sent = fetch0.apply(this, args);
      } catch (e) {
        // A fetch of the page's own below threw: recorded, and rethrown as it was.
        ending(done)(undefined, e);
        throw e;
      }
      return settled(sent, done);
    },
  }.fetch;
}

/**
 * Each XHR's last open(): its method and http(s) URL. One record for every
 * wrapXhr, so that a send() after the early recorder stepped aside finds an
 * XHR opened under it.
 */
const requests = new WeakMap<XMLHttpRequest, [method: unknown, url: URL | undefined]>();

/**
 * Wraps XHR's open() and send() (and setRequestHeader, watchXhrHeaders):
 * each send() of an http(s) request — its URL resolved at open(), as the
 * XHR does — with no traced one in flight on the XHR is offered to `start`,
 * which may trace it. Returns the undo, or undefined when the page's
 * prototype cannot be changed (nothing is then wrapped).
 */
export function wrapXhr(proto: XMLHttpRequest, start: (method: unknown, url: URL) => Traced | undefined): (() => void) | undefined {
  const open0 = proto.open;
  const send0 = proto.send;
  const set0 = proto.setRequestHeader;
  // Methods named and of `length`s as the XHR's own; the page's calls go on with their own arguments, as many (too few throw as they would).
  const { open, send } = {
    open(this: XMLHttpRequest, method: string, url: string | URL): void {
      const args = arguments as unknown as Parameters<typeof open0>;
      let u: URL | undefined;
      try {
        u = httpUrl(String(url));
      } catch (e) {
        internalError(e); // a URL whose toString throws: the request goes out untraced
      }
      openXhr(this, () => open0.apply(this, args));
      requests.set(this, [method, u]);
    },
    send(this: XMLHttpRequest): void {
      const args = arguments as unknown as Parameters<typeof send0>;
      let traced: Traced | undefined;
      try {
        const r = requests.get(this);
        traced = r?.[1] && sendable(this) ? start(r[0], r[1]) : undefined;
        if (traced) noteTraced(r![1]!);
        if (traced?.[1]) setXhrHeaders(this, set0, traced[1]);
      } catch (e) {
        internalError(e);
      }
      return traced ? sendXhr(this, () => send0.apply(this, args), traced[0]) : send0.apply(this, args);
    },
  };
  let unwatch: (() => void) | undefined;
  const unwrap = (): void => {
    unwatch?.();
    if (proto.open === open) put(proto, 'open', open0);
    if (proto.send === send) put(proto, 'send', send0);
  };
  // All three or none: a prototype the page froze (or made read-only in part) is left as it was.
  if (put(proto, 'open', open as typeof proto.open) && put(proto, 'send', send) && (unwatch = watchXhrHeaders(proto))) return unwrap;
  unwrap();
  return undefined;
}

/** XHRs the app gave a `traceparent` or `baggage` header itself: an XHR cannot read its request headers back. */
const appTraceparent = new WeakSet<XMLHttpRequest>();
const appBaggage = new WeakSet<XMLHttpRequest>();

/** Wraps `setRequestHeader` to note the XHRs the app sets `traceparent` or `baggage` on; returns the undo (undefined: not wrapped). */
function watchXhrHeaders(proto: XMLHttpRequest): (() => void) | undefined {
  const set0 = proto.setRequestHeader;
  // A method, as open and send (wrapXhr); `value` is unused but named: `length` 2.
  const { setRequestHeader: set } = {
    setRequestHeader(this: XMLHttpRequest, name: string, value: string): void {
      set0.apply(this, arguments as unknown as [string, string]);
      // Set (it did not throw): noted.
      const n = typeof name === 'string' && name.toLowerCase();
      if (n === 'baggage') appBaggage.add(this);
      else if (n === 'traceparent') appTraceparent.add(this);
    },
  };
  if (!put(proto, 'setRequestHeader', set)) return undefined;
  return () => {
    if (proto.setRequestHeader === set) put(proto, 'setRequestHeader', set0);
  };
}

/** `headers` set on `xhr` (by `set`, the unwrapped setRequestHeader), as withHeaders does for fetch. */
function setXhrHeaders(xhr: XMLHttpRequest, set: XMLHttpRequest['setRequestHeader'], headers: Record<string, string>): void {
  if (appTraceparent.has(xhr)) return;
  const own = appBaggage.has(xhr);
  for (const k in headers) if (k !== 'baggage' || !own) set.call(xhr, k, headers[k] as string);
}

/** The traced request in flight on each XHR, and the failure event seen for it. */
const sent = new WeakMap<XMLHttpRequest, { done: Done; failure?: string }>();

function settle(xhr: XMLHttpRequest, status: number, failure: unknown): void {
  const s = sent.get(xhr);
  if (!s) return;
  sent.delete(xhr);
  try {
    s.done(status, failure);
  } catch (e) {
    internalError(e);
  }
}

/** Whether the page's send() on `xhr` sends a request: opened, and no traced one in flight (else it throws). */
const sendable = (xhr: XMLHttpRequest): boolean => xhr.readyState === 1 && !sent.has(xhr);

/**
 * The page's `send()` on `xhr`; `done` runs once, when that request ends. A
 * synchronous request that fails throws and fires no event: `done` gets what
 * it threw, which goes on to the page.
 */
function sendXhr(xhr: XMLHttpRequest, send: () => void, done: Done): void {
  sent.set(xhr, { done });
  for (const type of ['error', 'abort', 'timeout', 'loadend']) xhr.addEventListener(type, xhrEvent); // added once per XHR
  try {
    send();
  } catch (e) {
    settle(xhr, 0, e);
    throw e;
  }
}

/** An XHR's end events. A request ends in state DONE: a loadend after the app reopened the XHR is the old request's, settled at open(). */
function xhrEvent(this: XMLHttpRequest, e: Event): void {
  const s = sent.get(this);
  if (!s || this.readyState !== 4) return;
  if (e.type !== 'loadend') s.failure = e.type;
  else settle(this, s.failure ? 0 : this.status, s.failure);
}

/**
 * The page's `open()` on `xhr`. Once it succeeds, the app's own headers are
 * gone, and so is the request in flight: one that is over (the app reuses
 * the XHR from its load or readystatechange handler, before the SDK saw
 * loadend) ends with its status as it was; one still in flight is cancelled.
 */
function openXhr(xhr: XMLHttpRequest, open: () => void): void {
  let over: (() => void) | undefined;
  const s = sent.get(xhr);
  if (s) {
    const status = xhr.status;
    over = xhr.readyState === 4 ? () => settle(xhr, status, status ? undefined : s.failure ?? 'error') : () => settle(xhr, 0, 'abort');
  }
  open();
  appBaggage.delete(xhr);
  appTraceparent.delete(xhr);
  over?.();
}

/** CLIENT spans of the page's requests in flight (end() in fetch.ts takes them out). */
export const inflight = new Set<Span>();

/**
 * At pagehide: each request still in flight ends now, marked
 * `wasmtrace.unfinished` and without an error status, to leave with the last
 * batch (its server may well have answered; the page will not see it).
 */
export function endInflight(): void {
  for (const s of inflight) s.setAttribute('wasmtrace.unfinished', true).end();
  inflight.clear();
}

/** How a traced request ends: its status, or 0 and the failure; at `at` (unix ms: clock.ts unixNow), or now. */
export type Done = (status: number, err: unknown, at?: number) => void;

/** `done` for a response or a failure; a failure of ours (a stub's non-Response) goes to the error handler. */
const ending = (done: Done) => (res: Response | undefined, err: unknown, at?: number): void => {
  try {
    done(res && typeof res === 'object' ? Number(res.status) || 0 : 0, err, at);
  } catch (e) {
    internalError(e);
  }
};

/**
 * The page's fetch promise, chained to `done`: the response passed on, a
 * failure passed on by adopting the page's rejected promise (a handler on the
 * page's own promise would mark a failure it never catches as handled). A failure is recorded a task later: browsers
 * reject a page's fetches as the document starts to unload, before pagehide
 * (Chromium goes on sending the keepalive ones). If the page unloads
 * meanwhile, pagehide ends the request as unfinished first.
 */
export const settled = (sent: Promise<Response>, done: Done): Promise<Response> => {
  const end = ending(done);
  let then: unknown;
  try {
    then = (sent as { then?: unknown } | null | undefined)?.then;
  } catch (e) {
    internalError(e);
  }
  // A fetch of the page's own below that returned no promise: its value goes back as it is, and the request ends now.
  if (typeof then !== 'function') return end(sent as unknown as Response, undefined), sent;
  try {
    return (then as (f: (r: Response) => Response, r: (e: unknown) => Promise<Response>) => Promise<Response>).call(
      sent,
      (res) => (end(res, undefined), res),
      (err: unknown) => {
        const at = unixNow();
        setTimeout(() => end(undefined, err, at), 0);
        return sent; // rejects as the page's own did, with no throw of ours (docs/performance.md, "No exceptions")
      },
    );
  } catch (e) {
    // A thenable of the page's whose then() throws: given back as it is (the page's own then() throws as it would).
    end(undefined, e);
    return sent;
  }
};

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

const KNOWN_METHODS = /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$/;
/** Methods fetch and XHR send in upper case whatever the case given (Fetch, "normalize a method"); others go as given. */
const NORMALIZED = /^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/;

/**
 * Starts an HTTP client span: named after a known method (in upper case),
 * else `HTTP` with `_OTHER`; the method as sent (fetch and XHR normalize
 * some) goes in `http.request.method_original` whenever it differs
 * (semantic conventions: the method in the request line).
 */
export function startClientSpan(tracer: Tracer, method: unknown, u: URL, redact: RedactQuery, options?: SpanOptions): Span {
  const given = String(method ?? 'GET');
  const m = given.toUpperCase();
  const sent = NORMALIZED.test(m) ? m : given;
  const known = KNOWN_METHODS.test(m);
  const attrs: Attributes = {
    'http.request.method': known ? m : '_OTHER',
    'url.full': fullUrl(u.href, redact),
    'server.address': u.hostname,
    'server.port': u.port ? Number(u.port) : DEFAULT_PORT[u.protocol] ?? 0,
  };
  if (sent !== attrs['http.request.method']) attrs['http.request.method_original'] = sent;
  return tracer.startSpan(known ? m : 'HTTP', { ...options, kind: 2, attributes: attrs });
}

/**
 * Where traceparent may go: the page's own origin, and URLs that `propagateTo`
 * matches (url.ts: listSetting, matchesAny). Another setting warns, and
 * only the page's origin is propagated to.
 */
export function propagatesTo(rules: unknown): (u: URL) => boolean {
  const list = listSetting<string | RegExp>('propagateTo', rules, 'same origin only', true) ?? [];
  return (u) => u.origin === location.origin || matchesAny(list, u.href);
}

/**
 * `text` (a stack trace, an attribution) with each http(s) URL in it as
 * `url.full` is written; the `:line:column` after a stack frame's URL stays.
 */
export function redactUrls(text: string, redact: RedactQuery): string {
  return text.replace(/https?:\/\/[^\s()"'`<>]+/g, (u) => {
    const at = /(:\d+){1,2}$/.exec(u)?.index ?? u.length;
    return fullUrl(u.slice(0, at), redact) + u.slice(at);
  });
}

/** Notes `span`, started at `start`, in `ctx.recent` (the last 8 kept); returns what marks its end. */
export function opened(ctx: BrowserContext, span: Span, start: number): () => void {
  const w: Period = [span, start, Infinity];
  if (ctx.recent.push(w) > 8) ctx.recent.shift();
  return () => {
    w[2] = perfNow();
  };
}

/** The span of `w` if `t` lies in its window. */
export const within = (w: Period | undefined, t: number): Span | undefined => (w && w[1] <= t && t <= w[2] ? w[0] : undefined);

/** The newest of `ws` open at `t`. */
export function openAt(ws: readonly Period[], t: number): Span | undefined {
  for (let i = ws.length; i-- > 0; ) {
    const s = within(ws[i], t);
    if (s) return s;
  }
  return undefined;
}

/**
 * Runs `fn` for each `type` entry the browser reports from now on (with
 * `buffered`, those before too), where it has a PerformanceObserver; an
 * entry `fn` fails on is reported, and the rest go on.
 */
export function observe(type: string, fn: (e: PerformanceEntry) => void, buffered?: boolean): PerformanceObserver | undefined {
  if (typeof PerformanceObserver !== 'function') return undefined;
  try {
    const po = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        try {
          fn(e);
        } catch (err) {
          internalError(err);
        }
      }
    });
    po.observe({ type, buffered });
    return po;
  } catch (e) {
    internalError(e);
    return undefined;
  }
}

/** Performance-timeline time of now. */
export function perfNow(): number {
  return performance.now();
}

/**
 * A performance-timeline time (an entry's, an event's timeStamp) as unix ms,
 * the form a span time takes whatever clock `setClock` put in: taken as it
 * is, it would be a reading of that clock (and 1970 for one from 0).
 */
export const unixMs = (t: number): number => performance.timeOrigin + t;
