// Requests a page sends before the SDK is ready. The Wasm loads after the
// first paint (prepare.ts), and a page's own start-up requests — often the
// ones its backend traces hang from — go out before that. From the first task,
// fetch and XMLHttpRequest are wrapped by this small recorder: each request it
// may trace gets new ids (crypto.getRandomValues), a traceparent where
// propagation is allowed, and a record of its method, URL, times and outcome.
// When the SDK is ready, each record becomes the CLIENT span its traceparent
// named (the tracer's EARLY option) and the same wrappers hand each request on
// to the full instrumentations (fetch.ts, xhr.ts) from then on: a fetch the
// page kept during load (fetch.bind(window), a client library's at import)
// is traced as window.fetch is. Only with nothing to take over (no Wasm) do
// they step aside, putting the browser's own back where the page left them.
// The page's uncaught errors and unhandled rejections are kept too
// (recordErrors, from the script tag's evaluation or the init() call, as
// start.ts calls it) until the errors instrumentation takes them.
//
// This file is part of the script tag's loader, evaluated during page load:
// it imports nothing of the SDK's tracer.
import type { Span, SpanContext, SpanOptions } from '../types.js';
import type { EarlyIds, Tracer } from '../tracer.js';
import type { RedactQuery } from '../url.js';
import { unixNow } from '../clock.js';
import { activeBaggage } from '../context.js';
import { formatTraceparent } from '../propagation.js';
import { validIds } from '../ids.js';
import { internalError } from '../diag.js';
import { rootTraceState } from '../sampler.js';
import { type Traced, hex, inflight, listen, put, startClientSpan, wrapFetch, wrapXhr } from './util.js';

/** The tracer's EARLY option key (tracer.ts), by its registered name: no import of the tracer here. */
export const EARLY = Symbol.for('wasmtrace.early');
/** Requests recorded at most; later ones before ready go out untraced. */
export const MAX_EARLY = 128;

/** Uncaught errors and unhandled rejections kept before ready; later ones are counted as dropped (errors.ts). */
export const MAX_EARLY_ERRORS = 32;

/** How a request ended: a status (0 for a network failure) and the failure. */
type Outcome = [status: number, error: unknown];

interface Record_ {
  readonly method: unknown;
  readonly url: URL;
  /** Its times, unix ms (clock.ts unixNow): setClock may move the origin before they are replayed. */
  readonly start: number;
  readonly ids: EarlyIds;
  end?: number;
  outcome?: Outcome;
  /** The span, once replayed while the request was still in flight. */
  span?: Span;
}

/** How a request is offered for tracing: what ends it and its trace headers, or undefined (not traced). */
export type Start = (method: unknown, url: URL) => Traced | undefined;

/** Which of fetch and XHR the early wrappers go on tracing for the full instrumentations (they need no wrapper of their own). */
export interface HandedOver {
  readonly fetch: boolean;
  readonly xhr: boolean;
}

export interface EarlyRequests {
  /**
   * Turns the records into spans (`end(span, status, error, at)` ends one)
   * and stops recording. From then on the wrappers offer each request to
   * `next`'s start for its kind; a kind with none is unwrapped (the
   * browser's own put back, where the page has not replaced it).
   */
  replay(tracer: Tracer, end: (span: Span, status: number, error: unknown, at?: number) => void, next?: { fetch?: Start; xhr?: Start }): HandedOver;
}

export interface EarlyOptions {
  /** The head-sampling ratio (sampler.ts: samplerRatio). */
  readonly ratio: number;
  /** Whether a request to `url` may carry traceparent (same origin or propagateTo). */
  propagate(url: URL): boolean;
  /** The SDK's own requests (the exporter, the Wasm): never recorded. */
  ignore(url: URL): boolean;
  readonly fetch: boolean;
  readonly xhr: boolean;
  /** The `redactQuery` option. */
  readonly redact: RedactQuery;
}

/**
 * The head-sampling decision Wasm makes for a new trace (assembly/core/span.ts):
 * kept when the trace id's last 7 bytes, as a 56-bit number, reach
 * round((1 - ratio) * 2^56). Compared in two 28-bit halves, exactly.
 */
export function sampledRoot(id: Uint8Array, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (!(ratio > 0)) return false;
  const threshold = Math.round((1 - ratio) * 2 ** 56);
  const tHi = Math.floor(threshold / 2 ** 28);
  const tLo = threshold - tHi * 2 ** 28;
  const b = (i: number): number => id[i] as number;
  const hi = b(9) * 2 ** 20 + b(10) * 2 ** 12 + b(11) * 16 + (b(12) >> 4);
  const lo = (b(12) & 15) * 2 ** 24 + b(13) * 2 ** 16 + b(14) * 2 ** 8 + b(15);
  return hi > tHi || (hi === tHi && lo >= tLo);
}

/** A parent before ready: a deferred span's context, or one given by the page. */
export type EarlyParent = SpanContext;

/** The baggage that came with a context made before ready: kept off the object, which the page may serialise or compare. */
const bags = new WeakMap<object, string>();
export const bagOf = (p: unknown): string | undefined => (p && typeof p === 'object' ? bags.get(p) : undefined);
export const withBag = <T extends object>(p: T, bg: string | undefined): T => (bg && bags.set(p, bg), p);

let parent: EarlyParent | undefined;

/** The parent the script tag made active before ready (withSpan, startActiveSpan). */
export const earlyParent = (): EarlyParent | undefined => parent;

/** Runs `fn` with `p` as the active parent before ready (spans and requests started inside are its children). */
export function withEarlyParent<R>(p: EarlyParent | undefined, fn: () => R): R {
  const previous = parent;
  parent = p;
  try {
    return fn();
  } finally {
    parent = previous;
  }
}

/** The baggage in effect before ready: of withBaggage, else the active parent's (as tracer.getBaggage). */
export const earlyBaggage = (): string => activeBaggage() ?? bagOf(parent) ?? '';

/**
 * Ids for a span or request started before ready, never all zero: a child of
 * `p` when it has valid ids, else a new trace sampled by `ratio`; with the
 * baggage in effect, else `p`'s (as the tracer's spans take theirs).
 */
export function newIds(ratio: number, p: EarlyParent | undefined): EarlyIds {
  const bytes = new Uint8Array(24);
  do crypto.getRandomValues(bytes);
  while (bytes.subarray(0, 16).every((b) => b === 0) || bytes.subarray(16).every((b) => b === 0));
  const spanId = hex(bytes.subarray(16));
  const baggage = activeBaggage() ?? bagOf(p) ?? '';
  if (p && validIds(p.traceId, p.spanId)) return { traceId: p.traceId, spanId, traceFlags: p.traceFlags, traceState: p.traceState, parentSpanId: p.spanId, parentRemote: p.isRemote, baggage };
  const trace = bytes.subarray(0, 16);
  const sampled = sampledRoot(trace, ratio);
  const ts = sampled ? rootTraceState(ratio) : undefined;
  return { traceId: hex(trace), spanId, traceFlags: sampled ? 1 : 0, ...(ts && { traceState: ts }), baggage };
}

/** The headers a context before ready propagates (what tracer.inject writes for it): no trace headers for invalid ids (baggage alone). */
export function traceHeaders(ids: SpanContext, baggage: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const traceparent = formatTraceparent(ids.traceId, ids.spanId, ids.traceFlags);
  if (traceparent) headers.traceparent = traceparent;
  if (traceparent && ids.traceState) headers.tracestate = ids.traceState;
  if (baggage) headers.baggage = baggage;
  return headers;
}

/** Starts recording; the page's requests are never delayed, changed beyond the trace headers, or failed. */
export function recordEarly(o: EarlyOptions): EarlyRequests {
  const records: Record_[] = [];
  let replayed: ((r: Record_) => void) | undefined;

  /** A record for a request to `url`, or undefined when it is not to be traced (or too many are). */
  const begin = (method: unknown, url: URL): Record_ | undefined => {
    if (replayed || records.length >= MAX_EARLY || o.ignore(url)) return undefined;
    const r: Record_ = { method, url, start: unixNow(), ids: newIds(o.ratio, parent) };
    records.push(r);
    return r;
  };
  const finish = (r: Record_, status: number, error: unknown, at = unixNow()): void => {
    r.end = at;
    r.outcome = [status, error];
    if (r.span) replayed?.(r);
  };
  /** A request to trace: what ends its record, and its trace headers where they may go. */
  const start: Start = (method, url) => {
    const r = begin(method, url);
    return r && [(status, error, at) => finish(r, status, error, at), o.propagate(url) ? traceHeaders(r.ids, r.ids.baggage) : undefined];
  };
  // What each wrapper offers requests to: the recorder until replay, then the full instrumentation's (or nothing).
  let hook: { fetch?: Start; xhr?: Start } = { fetch: start, xhr: start };
  let undoFetch: (() => void) | undefined;
  let undoXhr: (() => void) | undefined;

  const g = globalThis as { fetch?: typeof fetch };
  const fetch0 = g.fetch;
  // Each where the page lets it be wrapped (a read-only fetch, a frozen XHR prototype: that kind is not traced, the other is).
  if (o.fetch && typeof fetch0 === 'function') {
    const wrapped = wrapFetch(fetch0, (m, u) => hook.fetch?.(m, u));
    if (put(g, 'fetch', wrapped)) {
      undoFetch = () => {
        if (g.fetch === wrapped) put(g, 'fetch', fetch0);
      };
    }
  }
  if (o.xhr && typeof XMLHttpRequest === 'function') undoXhr = wrapXhr(XMLHttpRequest.prototype, (m, u) => hook.xhr?.(m, u));

  return {
    replay(tracer, end, next = {}) {
      hook = next;
      if (!next.fetch) undoFetch?.();
      if (!next.xhr) undoXhr?.();
      const close = (r: Record_): void => {
        const [status, error] = r.outcome as Outcome;
        end(r.span as Span, status, error, r.end);
      };
      replayed = close;
      for (const r of records) {
        try {
          const options = { startTime: r.start, [EARLY]: r.ids } as SpanOptions;
          const span = startClientSpan(tracer, r.method, r.url, o.redact, options);
          r.span = span;
          if (r.outcome) close(r);
          else inflight.add(span); // ended at pagehide if still in flight
        } catch (e) {
          internalError(e);
        }
      }
      records.length = 0;
      return { fetch: !!(next.fetch && undoFetch), xhr: !!(next.xhr && undoXhr) };
    },
  };
}

/**
 * An uncaught error or unhandled rejection as the errors instrumentation
 * records it (errors.ts): its span's name, the thrown value or reason (or an
 * error event's message), where it was thrown, and when (unix ms, clock.ts unixNow).
 */
export type PageError = [type: string, exception: unknown, file: string, line: number, column: number, at: number];

/** What window's `e` (`error` without capture, `unhandledrejection`) tells of its error; undefined for an `error` that is no ErrorEvent. */
export function pageError(e: Event): PageError | undefined {
  if (e.type !== 'error') return ['unhandledrejection', (e as PromiseRejectionEvent).reason, '', 0, 0, unixNow()];
  const ev = e as ErrorEvent;
  return typeof ev.message === 'string' ? ['error', ev.error ?? ev.message, ev.filename, ev.lineno, ev.colno, unixNow()] : undefined;
}

/** Stops keeping errors; gives those kept and how many more there were. */
let takeKept: (() => [PageError[], number]) | undefined;

/**
 * Keeps the page's errors and rejections until `takeErrors`: the first
 * MAX_EARLY_ERRORS, the rest counted. Its listeners, passive and without
 * capture (as errors.ts's), only read the event: the page sees the same.
 */
export function recordErrors(): void {
  const kept: PageError[] = [];
  let more = 0;
  const keep = (e: Event): void => {
    const f = pageError(e);
    if (f) kept.length < MAX_EARLY_ERRORS ? kept.push(f) : more++;
  };
  const stop = ['error', 'unhandledrejection'].map((type) => listen(window, type, keep, false));
  takeKept = () => {
    for (const undo of stop) undo();
    return [kept, more];
  };
}

/** The errors kept before ready and how many more there were (recording stops); undefined when none were being kept. */
export function takeErrors(): [PageError[], number] | undefined {
  const take = takeKept;
  takeKept = undefined;
  return take?.();
}
