// The script-tag build (dist/wasmtrace.js): options from the tag's data-*
// attributes, the Wasm from beside the script, and `window.wasmtrace`, which
// works before Wasm is ready: spans started then get their ids at once and
// can parent spans and requests, their calls are queued and replayed (with
// the times they were made at), and baggage is in effect as after ready.
// Loading never blocks the page: the Wasm is fetched and compiled asynchronously.
//
// The whole SDK is evaluated with the file in the page's loading frame, but
// its modules' top levels only declare (functions, classes, constants, a
// WeakMap, symbols): all work waits for the first paint. The one package that
// does more at its top level, web-vitals (a Resource Timing observer), is
// evaluated at its first call after the first paint (scripts/build.mjs,
// lazyWebVitals). A dynamic import() of start.ts did the same for every
// module, but esbuild's lazy-module wrappers for all 44 cost 0.7 KB brotli
// (docs/performance.md, "Page load"). One file, so a page needs only
// wasmtrace.js and the Wasm.
//
//   <script src="/wasmtrace.js" data-service-name="shop-web"
//           data-endpoint="https://otel.example.com/v1/traces"></script>
import type { ParentInput, Span, SpanContext, SpanOptions, TimeInput } from '../types.js';
import type { EarlyIds, Tracer } from '../tracer.js';
import { unixNow } from '../clock.js';
import { internalError } from '../diag.js';
import { INVALID_SPAN_ID, ZERO_TRACE_ID, validIds } from '../ids.js';
import { baggageEntries, injectBaggage, withBaggageEntries } from '../baggage.js';
import { parseTracestate, setHeader } from '../propagation.js';
import { SPAN_METHODS, carrying, noopSpan, noopTracer, readRemote, spanOf, startActive } from '../noop.js';
import { checkThreshold } from '../sampler.js';
import { optionsFromDataset } from './dataset.js';
import { EARLY, type EarlyParent, bagOf, earlyBaggage, earlyParent, newIds, recordErrors, takeErrors, traceHeaders, withBag, withEarlyParent } from './early.js';
import { STARTED, type Prepared, type StartedPage, prepareBrowser } from './prepare.js';
import { resumeBrowser } from './start.js';

type Op = [method: string, args: unknown[]];
type Methods = Record<string, (...args: unknown[]) => unknown>;

/**
 * Spans a page may start before the tracer exists; later ones record
 * nothing, so a page that starts spans in a loop before then holds a
 * bounded amount of memory (each keeps up to 256 calls).
 */
const MAX_DEFERRED = 2048;
let deferred = 0;

/** A span started before the tracer exists. */
interface Deferred {
  readonly span: Span;
  /** Its context as a parent before ready (ids given out at once, pinned when replayed). */
  readonly ctx: EarlyParent;
  /** Starts its real span. */
  readonly start: (t: Tracer) => Span;
  /** Its calls until then. */
  readonly ops: Op[];
  real?: Span;
  /** end() was called: later calls change nothing (as on an ended span). */
  ended?: boolean;
}

/** Calls kept per deferred span besides its end(). */
const MAX_OPS = 256;

/**
 * `v` as it is now: plain objects and arrays copied (attribute maps, links
 * and their contexts, array values), `depth` levels down, so that an app
 * changing them before ready does not change what was recorded. Anything
 * else (an Error, a Date) is kept as it is.
 */
function snapshot(v: unknown, depth = 5): unknown {
  if (depth === 0 || !v || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => snapshot(x, depth - 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = snapshot((v as Record<string, unknown>)[k], depth - 1);
  return out;
}

/** Deferred spans by the span the page holds; `pending` in start order (parents first) until replayed. */
const deferredOf = new WeakMap<object, Deferred>();
/** The spans getActiveSpan gave over a remote context before ready, to that context (with its baggage). */
const carried = new WeakMap<object, EarlyParent>();

/** A span that records nothing over the active remote context, known again when given back as a parent. */
function carry(p: EarlyParent | undefined): Span | undefined {
  const s = carrying(p);
  if (s) carried.set(s, p!);
  return s;
}
const pending: Deferred[] = [];

/** Methods whose last argument is a time get "now" filled in while queued. */
const TIMED: Record<string, number> = { end: 0, recordException: 1, addEvent: 2 };

/** The contexts made before ready (extracted, or parents taken): the tracer extracts them again, with their baggage. */
const early = new WeakSet<EarlyParent>();
const made = (p: EarlyParent): EarlyParent => (early.add(p), p);

/** A remote parent before ready, as the tracer takes one: a threshold in its tracestate the sampled flag contradicts is erased. */
function remote(traceId: string, spanId: string, traceFlags: number, tracestate: unknown, isRemote: boolean, bg: string | undefined): EarlyParent {
  const ts = parseTracestate(tracestate);
  const traceState = ts && checkThreshold(ts, traceId, (traceFlags & 1) === 1);
  return made(withBag(traceState ? { traceId, spanId, traceFlags, traceState, isRemote } : { traceId, spanId, traceFlags, isRemote }, bg));
}

/** A context of baggage alone, as the tracer extracts one: invalid ids, spans under it start a new trace that carries it. */
const baggageOnly = (bg: string): EarlyParent => made(withBag({ traceId: ZERO_TRACE_ID, spanId: INVALID_SPAN_ID, traceFlags: 0, isRemote: true }, bg));

/** A parent given before ready: a deferred span's context, a valid SpanContext, or an extracted context of baggage alone. */
function asParent(parent: unknown): EarlyParent | undefined {
  const input = spanOf(parent);
  const d = deferredOf.get(input as object);
  if (d) return d.ctx;
  const c = (carried.get(input as object) ?? input) as Partial<EarlyParent> | null | undefined;
  if (!c) return undefined;
  const bg = bagOf(c);
  if (!validIds(c.traceId, c.spanId)) return bg ? baggageOnly(bg) : undefined;
  return remote(c.traceId, c.spanId as string, Number(c.traceFlags) & 255, c.traceState, c.isRemote === true, bg);
}

/** The parent a call before ready names, or undefined (as the tracer, a bad one is reported, not thrown). */
function safeParent(input: unknown): EarlyParent | undefined {
  try {
    return asParent(input);
  } catch (e) {
    internalError(e);
    return undefined;
  }
}

/** A span started before the tracer exists: its ids now, its calls replayed on the real span. */
function deferredSpan(ratio: number, name: string, options: SpanOptions | undefined, parent: ParentInput | undefined): Span {
  if (deferred >= MAX_DEFERRED) return noopSpan();
  let ids: EarlyIds;
  let startTime: TimeInput;
  try {
    ids = newIds(ratio, options?.root || parent === null ? undefined : parent === undefined ? earlyParent() : asParent(parent));
    startTime = options?.startTime ?? unixNow();
    options = snapshot(options) as SpanOptions | undefined;
  } catch (e) {
    internalError(e); // options or a parent whose getters throw: as the tracer, a span that records nothing
    return noopSpan();
  }
  deferred++;
  const context: SpanContext = { traceId: ids.traceId, spanId: ids.spanId, traceFlags: ids.traceFlags, ...(ids.traceState && { traceState: ids.traceState }) };
  const span = {} as Methods;
  const d: Deferred = {
    span: span as unknown as Span,
    ctx: withBag({ ...context }, ids.baggage),
    start: (t) => t.startSpan(name, { ...options, startTime, [EARLY]: ids } as SpanOptions),
    ops: [],
  };
  for (const m of SPAN_METHODS) {
    span[m] = (...args: unknown[]) => {
      if (d.real) return (d.real as unknown as Methods)[m]?.(...args);
      const result = m === 'end' || m === 'recordException' ? undefined : span;
      // The end is always kept (a span never ended would hold its slot and
      // never be exported); other calls up to MAX_OPS.
      if (d.ended || (m !== 'end' && d.ops.length >= MAX_OPS)) return result;
      try {
        args = args.map((a) => snapshot(a));
      } catch (e) {
        internalError(e); // a value whose getters throw: the call is dropped, as the tracer drops it (an end is kept, without its time)
        if (m !== 'end') return result;
        args = [];
      }
      // addEvent(name, time) gets one too, which the span ignores (it takes the time as given).
      const at = TIMED[m];
      if (at !== undefined && args[at] === undefined) args[at] = unixNow();
      if (m === 'end') d.ended = true;
      d.ops.push([m, args]);
      return result;
    };
  }
  span.isRecording = () => (d.real ? d.real.isRecording() : !d.ended);
  span.spanContext = () => d.real?.spanContext() ?? context;
  deferredOf.set(span, d);
  pending.push(d);
  return d.span;
}

/** Starts the real span of every deferred one, parents first, and replays its calls. */
function replay(t: Tracer): void {
  for (const d of pending) {
    try {
      const real = (d.real = d.start(t));
      for (const [m, a] of d.ops) (real as unknown as Methods)[m]?.(...a);
    } catch (e) {
      internalError(e);
    }
    d.ops.length = 0;
  }
  pending.length = 0;
}

/** `window.wasmtrace`: the tracer's methods, usable before it is ready. */
export interface ScriptApi extends Tracer {
  /** Resolves to the tracer once Wasm is loaded (a no-op tracer if it cannot be). */
  readonly ready: Promise<Tracer>;
}

/**
 * Before the tracer exists, spans are deferred (ids at once, replayed when
 * ready) and the rest works on their contexts; `ratio` samples new traces.
 * `tracer`: the one to use from the start (disabled: the no-op tracer).
 */
function api(ready: Promise<Tracer>, ratio: number, tracer?: Tracer): ScriptApi {
  if (!tracer) {
    void ready.then((t) => {
      replay(t);
      tracer = t;
    });
  }
  /**
   * For the tracer: a deferred span is its real span; a context made before
   * ready (extracted, or the one an early active span is over) is extracted
   * again, with its baggage; anything else (the tracer's own) as it is.
   */
  const real = (t: Tracer, parent: unknown): unknown => {
    const x = spanOf(parent);
    const c = (carried.get(x as object) ?? x) as EarlyParent;
    return deferredOf.get(x as object)?.real ?? (early.has(c) ? t.extract(traceHeaders(c, bagOf(c))) : c);
  };
  const tracing: ScriptApi = {
    ready,
    startSpan: (name, options, parent) => (tracer ? tracer.startSpan(name, options, real(tracer, parent) as ParentInput) : deferredSpan(ratio, name, options, parent)),
    // The span from startSpan above, active while `fn` runs: before ready, as the early parent.
    startActiveSpan: <R>(name: string, ...rest: unknown[]): R =>
      startActive(name, rest, tracing.startSpan, (fn, span) => (tracer ? tracer.withSpan(span, () => fn(span)) : withEarlyParent(deferredOf.get(span)?.ctx, () => fn(span)))),
    // A remote context made active by withSpan: a span over it that records nothing, as after ready.
    getActiveSpan: () => (tracer ? tracer.getActiveSpan() : pending.find((d) => d.ctx === earlyParent())?.span ?? carry(earlyParent())),
    withSpan: (span, fn) => (tracer ? tracer.withSpan(real(tracer, span) as Span, fn) : typeof fn === 'function' ? withEarlyParent(safeParent(span), fn) : (undefined as ReturnType<typeof fn>)),
    inject(carrier, span) {
      if (tracer) return tracer.inject(carrier, real(tracer, span) as Span);
      try {
        const p = span === undefined ? earlyParent() : asParent(span);
        if (!carrier) return;
        const headers = p ? traceHeaders(p, undefined) : {};
        for (const k in headers) setHeader(carrier, k, headers[k] as string);
        injectBaggage(carrier, span === undefined ? earlyBaggage() : (bagOf(p) ?? ''));
      } catch (e) {
        internalError(e);
      }
    },
    extract(carrier) {
      if (tracer) return tracer.extract(carrier);
      try {
        // The tracer's rule (noop.ts readRemote): the same context, its baggage kept beside it.
        const r = carrier ? readRemote(carrier) : undefined;
        return r && made(withBag(r[0], r[1]));
      } catch (e) {
        internalError(e);
        return undefined;
      }
    },
    flush: () => ready.then((t) => t.flush()),
    shutdown: () => ready.then((t) => t.shutdown()),
    stats: () => tracer?.stats() ?? { droppedSpans: 0, droppedData: 0, droppedOversize: 0 },
    withBaggage: (entries, fn) => (tracer ? tracer.withBaggage(entries, fn) : withBaggageEntries(entries, fn)),
    getBaggage: () => (tracer ? tracer.getBaggage() : baggageEntries(earlyBaggage())),
  };
  return tracing;
}

/**
 * One call of a stub's queue (docs/browser.md): `['ready', fn]` is
 * `ready.then(fn)`; `startSpan` is skipped, as nothing could end its span;
 * any other method is called now and its result dropped.
 */
function queued(tracing: ScriptApi, call: unknown): void {
  if (!Array.isArray(call)) return;
  const [name, ...args] = call as [unknown, ...unknown[]];
  if (name === 'ready') {
    if (typeof args[0] === 'function') void tracing.ready.then(args[0] as (t: Tracer) => unknown);
  } else if (name === 'startSpan') {
    internalError('a queued startSpan is skipped: queue startActiveSpan');
  } else {
    const fn = (tracing as unknown as Methods)[String(name)];
    if (typeof fn === 'function') fn(...args);
  }
}

function main(): void {
  const w = window as unknown as { wasmtrace?: { q?: unknown[] } | ScriptApi } & StartedPage;
  if (w.wasmtrace && 'ready' in w.wasmtrace) return; // loaded twice
  const script = (document.currentScript ?? document.querySelector('script[src*="wasmtrace"]')) as HTMLScriptElement | null;
  const options = optionsFromDataset(script?.dataset ?? {});
  const base = script?.src || location.href;
  let tracing: ScriptApi;
  const started = w[STARTED];
  if (started) {
    // init() started the SDK already (a bundle's copy): the tag gives the page that tracer.
    tracing = api(started, 1);
  } else if (options.disabled === true) {
    // data-disabled: nothing loaded, patched or scheduled; a tracer that records nothing at once.
    const noop = noopTracer(noopSpan);
    tracing = api(Promise.resolve(noop), 1, noop);
  } else {
    // Errors from now on are kept for the errors instrumentation (errors.ts), which takes them when it starts.
    if (options.instrumentations?.errors !== false) recordErrors();
    let prepared: Prepared | undefined;
    try {
      prepared = prepareBrowser(options, (json) => new URL(json ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm', base));
    } catch (e) {
      internalError(e);
    }
    // The first task after the first paint starts the Wasm compile (prepare.ts),
    // evaluates web-vitals and subscribes it (start.ts): under a millisecond and
    // a half together, and each task more costs main thread too.
    const p = prepared;
    const ready = p
      ? p.painted
          .then(() => resumeBrowser(p))
          .catch((e: unknown) => {
            internalError(e);
            return noopTracer(noopSpan);
          })
      : Promise.resolve(noopTracer(noopSpan));
    // Not taken (no Wasm, a CSP refusal): dropped, and nothing more kept.
    void ready.then(takeErrors);
    tracing = api(ready, p?.ratio ?? 1);
  }
  w[STARTED] ??= tracing.ready;
  const stub = (w.wasmtrace as { q?: unknown[] } | undefined)?.q;
  w.wasmtrace = tracing;
  if (Array.isArray(stub)) {
    for (const call of stub.slice(0, 256)) {
      try {
        queued(tracing, call);
      } catch (e) {
        internalError(e); // a queued callback's own exception: there is no caller to give it to
      }
    }
  }
}

try {
  main();
} catch (e) {
  internalError(e);
}
