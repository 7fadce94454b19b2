// The Tracer: starts spans in Wasm, keeps the active span, propagates W3C
// Trace Context, and hands ended spans to delivery.
import type { Link, OtelContext, ParentInput, Span, SpanContext, SpanContextInput, SpanOptions, TracerStats } from './types.js';
import type { Core } from './core.js';
import type { DeliveryStats, ExportResult } from './export/types.js';
import { type Frame, type ParentIds, frame, withActive } from './context.js';
import { baggageEntries, injectBaggage, withBaggageEntries } from './baggage.js';
import { WasmSpan, type SpanHost } from './span.js';
import { EMPTY_RESULT, noopTracer, readRemote, spanOf, startActive } from './noop.js';
import { setAttr } from './attributes.js';
import { HELD } from './wasm.js';
import { now, toRelativeMs } from './clock.js';
import { checkThreshold } from './sampler.js';
import { internalError } from './diag.js';
import { INVALID_SPAN_ID, hexWords, validIds } from './ids.js';
import { type Carrier, KNOWN_FLAGS, formatTraceparent, parseTracestate, setTraceHeaders } from './propagation.js';

export interface Tracer {
  startSpan(name: string, options?: SpanOptions, parent?: ParentInput): Span;
  startActiveSpan<R>(name: string, fn: (span: Span) => R): R;
  startActiveSpan<R>(name: string, options: SpanOptions, fn: (span: Span) => R): R;
  startActiveSpan<R>(name: string, options: SpanOptions, parent: ParentInput, fn: (span: Span) => R): R;
  /**
   * The span set by the innermost running startActiveSpan/withSpan (for a
   * remote context, a span over its ids that records nothing); else, in a
   * Worker, the span of the invocation running now when it is known.
   */
  getActiveSpan(): Span | undefined;
  /** Runs `fn` with `span` (or a remote context, or an OpenTelemetry Context's span) as the active parent. */
  withSpan<R>(span: Span | SpanContextInput | OtelContext, fn: () => R): R;
  /** Writes traceparent/tracestate for `span` (default: the active span; an OpenTelemetry Context: its span) into `carrier`. */
  inject(carrier: Carrier, span?: Span | SpanContextInput | OtelContext): void;
  /**
   * Reads a remote parent from traceparent/tracestate, with the baggage
   * header. Baggage without a valid traceparent gives a context with invalid
   * (all-zero) ids that starts a new trace carrying it; undefined when there
   * is neither.
   */
  extract(carrier: Carrier): SpanContext | undefined;
  /** Sends every ended span now; resolves with what happened (never rejects). */
  flush(): Promise<ExportResult>;
  /** Flushes and stops: later spans are not recorded. */
  shutdown(): Promise<ExportResult>;
  /** Drop counters. */
  stats(): TracerStats;
  /**
   * Runs `fn` with `entries` as the W3C baggage: spans started inside carry
   * it, and inject (the fetch and XHR instrumentations, a Worker's outgoing
   * fetch) sends it as the `baggage` header. Replaces the baggage in effect;
   * to add to it, spread getBaggage(). Keys must be HTTP tokens and values
   * strings; others are dropped.
   */
  withBaggage<R>(entries: Record<string, string> | null, fn: () => R): R;
  /**
   * The baggage in effect: of withBaggage, else the active span's (a context
   * from `extract` carries the request's baggage), else the process's caller's.
   */
  getBaggage(): Record<string, string>;
}

/** The Node entry's flush at exit: held traces are decided first (the process ends: nothing more can join them), and batches awaiting a retry go too (no retry timer will fire). */
export interface FinalFlush {
  _final(): Promise<ExportResult>;
}

/** What delivery provides to the tracer. */
export interface Delivery {
  spanEnded(): void;
  /** `retryNow`: at exit, batches awaiting a retry go too (see Pipeline). */
  flush(retryNow?: boolean): Promise<ExportResult>;
  shutdown(): Promise<ExportResult>;
  /** Loss counters, where delivery keeps them. */
  stats?(): DeliveryStats;
}

const ZERO_IDS = [0, 0, 0, 0, 0, 0];
/** A span that records nothing (tracer shut down, Wasm not loaded, or an internal failure). */
const noopSpan = (): WasmSpan => new WasmSpan(-1, null, ZERO_IDS, 0, undefined, '');

/** A span that records nothing but carries `p`'s context on, remote or not (shut down; getActiveSpan of a remote context). */
const carrying = (p: ParentIds, bg: string): WasmSpan => new WasmSpan(-1, null, [p._t0, p._t1, p._t2, p._t3, p._s0, p._s1], p._f & (KNOWN_FLAGS | 0x300), p._ts, bg);

/** Runs startActiveSpan's `fn` with `span` active; the user's own exceptions pass through untouched. */
const runActive = <R>(fn: (span: Span) => R, span: Span): R => withActive(span as WasmSpan, () => fn(span));

/** A remote parent: the public context plus the words Wasm takes. */
class RemoteContext implements ParentIds, SpanContext {
  _t0 = 0;
  _t1 = 0;
  _t2 = 0;
  _t3 = 0;
  _s0 = 0;
  _s1 = 0;
  _f: number;
  _ts: string | undefined;
  _bg: string;
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: string;
  isRemote: boolean;

  constructor(traceId: string, spanId: string, traceFlags: number, traceState: string | undefined, isRemote: boolean, baggage = '') {
    const w: number[] = [];
    hexWords(traceId, w);
    hexWords(spanId, w);
    [this._t0, this._t1, this._t2, this._t3, this._s0, this._s1] = w as [number, number, number, number, number, number];
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceFlags = traceFlags & KNOWN_FLAGS;
    // 0x100: marked remote (OTLP's flags say so); 0x200: not a span of this tracer, whatever the mark (a local root for tail sampling).
    this._f = this.traceFlags | (isRemote ? 0x300 : 0x200);
    this.isRemote = isRemote;
    // A threshold the sampled flag contradicts is not passed on (probability sampling).
    const ts = traceState && checkThreshold(traceState, traceId, (traceFlags & 1) === 1);
    this._ts = ts || undefined;
    this._bg = baggage;
    if (ts) this.traceState = ts;
  }
}

/** The parent a context extract() gave stands for, under a key out of the app's sight (not enumerable: not in Object.keys, JSON or deepStrictEqual). */
const PARENT: unique symbol = Symbol();

/** A parent from user input: our span, an extracted context, another's span (one that records nothing, say) by its context, a context object, an OpenTelemetry Context by its span, or nothing. */
function toParent(parent: unknown): ParentIds | undefined {
  if (parent instanceof WasmSpan) return parent; // what instrumentations pass: no Context lookup
  const input = spanOf(parent);
  if (input instanceof WasmSpan) return input;
  const known = (input as { [PARENT]?: RemoteContext } | null | undefined)?.[PARENT];
  if (known) return known;
  if (input && typeof input === 'object') {
    const c = (typeof (input as Span).spanContext === 'function' ? (input as Span).spanContext() : input) as Partial<SpanContext>;
    if (validIds(c.traceId, c.spanId)) {
      const ts = parseTracestate(c.traceState);
      return new RemoteContext(c.traceId, c.spanId as string, Number(c.traceFlags) | 0, ts, c.isRemote === true);
    }
  }
  return undefined;
}

/**
 * Internal, for spans and requests a page started before the tracer existed
 * (the script-tag loader): the ids their traceparent already carried. A span
 * started with `{ [EARLY]: ids }` in its options gets exactly these ids, the
 * parent they name (none without `parentSpanId`) and their baggage. Not part
 * of the public API.
 */
export const EARLY: unique symbol = Symbol.for('wasmtrace.early');
export interface EarlyIds {
  /** 32 and 16 lowercase hex digits, not all zero. */
  readonly traceId: string;
  readonly spanId: string;
  /** W3C trace flags sent (bit 0: sampled). */
  readonly traceFlags: number;
  readonly traceState?: string;
  /** 16 lowercase hex digits, not all zero: the parent span's id. */
  readonly parentSpanId?: string;
  /** Whether that parent came from another process (extracted). */
  readonly parentRemote?: boolean;
  /** Baggage in header form. */
  readonly baggage?: string;
}

/** No frame in effect: what start() passes on so that current() and baggage() do not read it again. */
const NO_FRAME: Frame = { _p: undefined, _b: undefined };

/** The parent extract() (noop.ts: readRemote) read: a remote context and its baggage. */
const remoteParent = ([c, bg]: [SpanContext, string]): RemoteContext => new RemoteContext(c.traceId, c.spanId, c.traceFlags, c.traceState, true, bg);

/** Sampling details the tracer applies in JavaScript. */
export interface TracerOptions {
  /**
   * The process's caller, as headers (TRACEPARENT/TRACESTATE/BAGGAGE from the
   * environment): the parent of spans started with no parent given and no
   * span active, and what `inject` sends then.
   */
  caller?: Carrier;
  /**
   * The parent of spans started with no parent given and no span active,
   * before the caller: the invocation running now, where the runtime knows it
   * (a Worker's request after an `await`).
   */
  invocation?: () => ParentIds | undefined;
  /**
   * Tracestate for new traces kept by the trace-id ratio: the OpenTelemetry
   * probability-sampling threshold (`ot=th:…`), so backends can re-weight counts.
   */
  rootTraceState?: string;
}

export function createTracer(core: Core, delivery: Delivery, options: TracerOptions = {}): Tracer {
  let live = true;
  const rootTraceState = options.rootTraceState;
  const x = core.x;
  // Spans held for their trace's decision leave with it, or at maxHoldMs: one
  // timer (unref'd in Node) for the earliest, so they leave on time while
  // nothing else happens.
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  const watchHold = (): void => {
    const due = x.holdDue();
    if (due < 0 || !live) return;
    holdTimer = setTimeout(() => {
      holdTimer = undefined;
      try {
        x.settle(now(), 0);
        if (x.pending()) delivery.spanEnded();
        watchHold();
      } catch (e) {
        internalError(e);
      }
    }, due - now() + 1);
    (holdTimer as { unref?: () => void }).unref?.();
  };
  const host: SpanHost = {
    core,
    ended: (result) => {
      delivery.spanEnded();
      if (result === HELD && !holdTimer) watchHold();
    },
  };
  const read = options.caller && readRemote(options.caller);
  const caller = read ? remoteParent(read) : undefined;
  // The caller's baggage holds without a valid traceparent too.
  const callerBaggage = caller ? caller._bg : '';
  const invocation = options.invocation;
  /** The parent a span started now takes by default, given the frame in effect. */
  const current = (f = frame()): ParentIds | undefined => f?._p ?? invocation?.() ?? caller;
  /** The baggage a span started now, or an inject with no span, carries. */
  const baggage = (parent: ParentIds | undefined, f = frame()): string => f?._b ?? parent?._bg ?? callerBaggage;

  function start(name: unknown, options: SpanOptions | undefined, parentInput: ParentInput): WasmSpan {
    const f = frame() ?? NO_FRAME; // read once per span: in Node each read is an AsyncLocalStorage lookup
    let parent = options?.root ? undefined : parentInput === undefined ? current(f) : parentInput === null ? undefined : toParent(parentInput);
    // Shut down: a span that records nothing but carries its parent's context on, as the API says.
    if (!live) return parent ? carrying(parent, baggage(parent, f)) : noopSpan();
    const early = (options as { [EARLY]?: EarlyIds } | undefined)?.[EARLY];
    if (early && validIds(early.traceId, early.spanId)) {
      // Its trace and parent span (zero words for none), and its own span id pinned.
      const p = early.parentSpanId;
      parent = new RemoteContext(early.traceId, p && validIds(early.traceId, p) ? p : INVALID_SPAN_ID, early.traceFlags, early.traceState, early.parentRemote === true, early.baggage);
      if (!early.parentRemote) parent._f &= ~0x200; // mostly a span made before ready, replayed here: not a local root
      const w: number[] = [];
      hexWords(early.spanId, w);
      x.pin(w[0]!, w[1]!);
    }
    const bg = baggage(parent, f);
    if (parent && !(parent._t0 | parent._t1 | parent._t2 | parent._t3)) parent = undefined; // baggage only: a new trace that carries it
    const text = typeof name === 'string' ? name : String(name);
    const nameId = core.id(text);
    const startMs = options?.startTime === undefined ? now() : toRelativeMs(options.startTime);
    // Checked as given: Wasm's i32 parameter would wrap 2**32 + 4 to CONSUMER, truncate 2.5, convert '3'.
    const k = options?.kind;
    const kind = Number.isInteger(k) && k! >= 0 && k! <= 4 ? k! : 0;
    const h = parent
      ? x.start(nameId, kind, parent._f, parent._t0, parent._t1, parent._t2, parent._t3, parent._s0, parent._s1, startMs)
      : x.start(nameId, kind, 0, 0, 0, 0, 0, 0, 0, startMs);
    const flags = core.flags();
    const traceState = parent ? parent._ts : flags & 1 ? rootTraceState : undefined;
    const span = new WasmSpan(h, h > 0 ? host : null, core.ids, flags, traceState, bg);
    if (h > 0) {
      if (nameId < 0) x.rename(h, -1, core.str(text));
      // An unsampled span is exported only when tail sampling keeps it: with no known probability.
      if (traceState) x.tracestate(h, core.str(flags & 1 ? traceState : checkThreshold(traceState, '')));
      const attrs = options?.attributes;
      if (attrs) for (const key in attrs) setAttr(core, h, key, attrs[key], 0);
      const links = options?.links;
      if (Array.isArray(links)) span.addLinks(links as Link[]);
    }
    return span;
  }

  /** Decides every trace still held; a failure (a user clock that throws) does not keep delivery from its work. */
  const decideHeld = (): void => {
    try {
      x.settle(now(), 1);
    } catch (e) {
      internalError(e);
    }
  };

  const tracer: Tracer & FinalFlush = {
    startSpan(name, options, parent) {
      try {
        return start(name, options, parent);
      } catch (e) {
        internalError(e);
        return noopSpan();
      }
    },

    startActiveSpan: <R>(name: string, ...rest: unknown[]): R => startActive(name, rest, tracer.startSpan, runActive),

    getActiveSpan() {
      const f = frame();
      const p = current(f); // in a Worker after an await: the invocation's span
      if (p instanceof WasmSpan) return p;
      // A remote context set by withSpan: a span over its ids that records nothing (as OpenTelemetry's).
      return p && p === f?._p && p._t0 | p._t1 | p._t2 | p._t3 ? carrying(p, baggage(p, f)) : undefined;
    },

    withSpan(span, fn) {
      if (typeof fn !== 'function') return undefined as ReturnType<typeof fn>;
      let parent: ParentIds | undefined;
      try {
        parent = toParent(span);
      } catch (e) {
        internalError(e);
      }
      return withActive(parent, fn);
    },

    inject(carrier, span) {
      try {
        const p = span === undefined ? current() : toParent(span);
        if (!carrier) return;
        const ctx = p instanceof WasmSpan ? p.spanContext() : (p as RemoteContext | undefined);
        const traceparent = ctx ? formatTraceparent(ctx.traceId, ctx.spanId, ctx.traceFlags) : '';
        if (traceparent) {
          // (A span that records nothing for want of a parent has no valid ids to send.)
          setTraceHeaders(carrier, traceparent, p!._ts);
        }
        // Baggage goes where the user set some (or received some), with or without a trace.
        injectBaggage(carrier, span === undefined ? baggage(p) : (p?._bg ?? ''));
      } catch (e) {
        internalError(e);
      }
    },

    extract(carrier) {
      try {
        const read = carrier ? readRemote(carrier) : undefined;
        if (read) Object.defineProperty(read[0], PARENT, { value: remoteParent(read) });
        return read?.[0];
      } catch (e) {
        internalError(e);
        return undefined;
      }
    },

    flush() {
      return live ? safe(() => delivery.flush()) : Promise.resolve(EMPTY_RESULT);
    },

    _final() {
      return live ? safe(() => (decideHeld(), delivery.flush(true))) : Promise.resolve(EMPTY_RESULT);
    },

    shutdown() {
      if (!live) return Promise.resolve(EMPTY_RESULT);
      live = false;
      clearTimeout(holdTimer);
      return safe(() => (decideHeld(), delivery.shutdown()));
    },

    withBaggage: withBaggageEntries,

    getBaggage() {
      return baggageEntries(baggage(current()));
    },

    stats() {
      const s = core.source.stats();
      return { droppedSpans: s.droppedSpans, droppedData: s.droppedData, droppedOversize: s.droppedOversize, ...delivery.stats?.() };
    },
  };
  return tracer;
}

/** Runs a delivery call contained: a failure is reported, never thrown or rejected; nothing to do is an empty result. */
export async function safe(fn: () => Promise<ExportResult> | undefined): Promise<ExportResult> {
  try {
    return (await fn()) ?? EMPTY_RESULT;
  } catch (e) {
    internalError(e);
    return EMPTY_RESULT;
  }
}

/** A tracer that records nothing: what init() gives when Wasm cannot load. */
export const createNoopTracer = (): Tracer => noopTracer(noopSpan);
