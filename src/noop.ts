// What records nothing: the tracer a disabled SDK, or one whose Wasm cannot
// load, gives, and a span. A module of its own so that the script tag's
// loader has them at once, without evaluating the tracer.
import type { ParentInput, Span, SpanContext, SpanOptions } from './types.js';
import { internalError } from './diag.js';
import { INVALID_SPAN_ID, ZERO_TRACE_ID, validIds } from './ids.js';
import { type Carrier, KNOWN_FLAGS, formatTraceparent, getHeader, parseTraceparent, parseTracestate, setTraceHeaders } from './propagation.js';
import { baggageEntries, injectBaggage, parseBaggage, withBaggageEntries } from './baggage.js';
import { activeBaggage, withBaggage } from './context.js';
import { checkThreshold } from './sampler.js';
import type { Tracer } from './tracer.js';
import type { ExportResult } from './export/types.js';

/** A Span's methods besides spanContext and isRecording (the script tag's deferred spans queue these). */
export const SPAN_METHODS = ['setAttribute', 'setAttributes', 'addEvent', 'addLink', 'addLinks', 'setStatus', 'updateName', 'end', 'recordException'];

/** What a flush that sent nothing resolves to. */
export const EMPTY_RESULT: ExportResult = { sent: 0, queued: 0, dropped: 0 };

/** The context of no span: ids all zeros. */
export const noContext = (): SpanContext => ({ traceId: ZERO_TRACE_ID, spanId: INVALID_SPAN_ID, traceFlags: 0 });

let span: Span | undefined;

/** A span that records nothing, with context `ctx` (as OpenTelemetry's NonRecordingSpan). */
function nonRecording(ctx: () => SpanContext): Span {
  const s: Record<string, unknown> = { isRecording: () => false, spanContext: ctx };
  for (const m of SPAN_METHODS) s[m] = () => (m === 'end' || m === 'recordException' ? undefined : s);
  return s as unknown as Span;
}

/** A span that records nothing (one, made at first use). */
export function noopSpan(): Span {
  return (span ??= nonRecording(noContext));
}

/** OpenTelemetry's context key of the active span (`createContextKey` is `Symbol.for` of its description). */
const OTEL_SPAN = Symbol.for('OpenTelemetry Context Key SPAN');

/**
 * A parent as given, where an OpenTelemetry Context (`context.active()`,
 * `trace.setSpan(ctx, span)`) stands for the span it holds, and one that
 * holds none (the root context) for null: a new trace, as in OpenTelemetry.
 */
export const spanOf = (parent: unknown): unknown =>
  typeof (parent as { getValue?: unknown } | null)?.getValue === 'function' ? ((parent as { getValue(k: symbol): unknown }).getValue(OTEL_SPAN) ?? null) : parent;

/** A span that records nothing and carries a valid parent's (a span's, a SpanContext's, a Context's) context on; else undefined. */
export function carrying(parent: unknown): Span | undefined {
  const p = spanOf(parent) as Partial<Span & SpanContext> | null | undefined;
  const c = typeof p?.spanContext === 'function' ? p.spanContext() : p;
  if (!c || !validIds(c.traceId, c.spanId)) return undefined;
  const ctx: SpanContext = { traceId: c.traceId, spanId: c.spanId as string, traceFlags: Number(c.traceFlags) & KNOWN_FLAGS, isRemote: c.isRemote === true };
  const ts = parseTracestate(c.traceState);
  if (ts) ctx.traceState = ts;
  return nonRecording(() => ctx);
}

/**
 * What extract() gives, one rule for every tracer: the remote parent of
 * `carrier`'s traceparent and tracestate (less a threshold its sampled flag
 * contradicts: probability sampling) as a plain SpanContext, and the baggage
 * that came with it. Baggage alone gives invalid (all-zero) ids: spans under
 * it start a new trace that carries it. Undefined when there is neither.
 */
export function readRemote(carrier: Carrier): [SpanContext, string] | undefined {
  const p = parseTraceparent(getHeader(carrier, 'traceparent'));
  const bg = parseBaggage(getHeader(carrier, 'baggage'));
  if (!p && !bg) return undefined;
  const { traceId, spanId, traceFlags } = p ?? noContext();
  const ts = p && parseTracestate(getHeader(carrier, 'tracestate'));
  const checked = ts && checkThreshold(ts, traceId, (traceFlags & 1) === 1);
  return [checked ? { traceId, spanId, traceFlags, traceState: checked, isRemote: true } : { traceId, spanId, traceFlags, isRemote: true }, bg];
}

/**
 * startActiveSpan(name, [options], [parent], fn), one rule for every tracer:
 * the span from `start` (a tracer's startSpan), then `run(fn, span)`. With no
 * function to run, no span is started (nothing could end it), and the result
 * is undefined.
 */
export function startActive<R>(name: string, args: unknown[], start: Tracer['startSpan'], run: (fn: (span: Span) => R, span: Span) => R): R {
  const n = args.length;
  const fn = args[n - 1];
  return typeof fn === 'function'
    ? run(fn as (span: Span) => R, start(name, n > 1 ? (args[0] as SpanOptions) : undefined, n > 2 ? (args[1] as ParentInput) : undefined))
    : (undefined as R);
}

/** The tracers noopTracer made (a browser start-up that gets one installs nothing). */
const noops = new WeakSet<Tracer>();
export const isNoop = (tracer: Tracer): boolean => noops.has(tracer);

/**
 * A tracer that records nothing, its spans from `span` (those with a parent:
 * carrying its context): what init() gives when disabled or when Wasm cannot
 * load (tracer.ts: createNoopTracer). It still passes a trace on (W3C: a
 * participant that does not record forwards the context): extract reads it,
 * a span under it carries it and its baggage, and inject writes them. Its
 * baggage API works as a working tracer's (OpenTelemetry: "The Baggage API
 * MUST be fully functional in the absence of an installed SDK").
 */
export function noopTracer(span: () => Span): Tracer {
  /** The baggage of the contexts extract gave and of the spans under them. */
  const bags = new WeakMap<object, string>();
  const done = (): Promise<ExportResult> => Promise.resolve(EMPTY_RESULT);
  /** Runs `fn` if it is a function (as the real tracer does: a wrong argument is not thrown into the app). */
  const run = <R>(fn: unknown, arg?: Span): R => (typeof fn === 'function' ? fn(arg) : undefined) as R;
  /** As OpenTelemetry's NoopTracer: a span that carries its parent's context, when given one. */
  const start = (options?: SpanOptions, parent?: ParentInput): Span => {
    try {
      if (options?.root) return span();
      const s = carrying(parent);
      // No parent given: the baggage in effect (withBaggage), as a working tracer's spans carry it.
      const bg = parent === undefined ? activeBaggage() : bags.get(parent as object);
      if (!bg) return s || span();
      const b = s || nonRecording(noContext); // baggage alone: no trace to carry, the baggage goes on
      bags.set(b, bg);
      return b;
    } catch (e) {
      internalError(e); // a parent whose getters throw: as the tracer, nothing is thrown into the app
      return span();
    }
  };
  const startSpan: Tracer['startSpan'] = (_name, options, parent) => start(options, parent);
  const tracer: Tracer = {
    startSpan,
    startActiveSpan: <R>(name: string, ...rest: unknown[]): R => startActive(name, rest, startSpan, run),
    getActiveSpan: () => undefined,
    // A context extract gave (or a span under it) brings its baggage, unless a withBaggage around says otherwise: as a working tracer's.
    withSpan: (span, fn) => {
      const bg = activeBaggage() ?? bags.get(span as object);
      return bg === undefined ? run(fn) : withBaggage(bg, () => run(fn));
    },
    inject(carrier, span) {
      try {
        const c = carrying(span)?.spanContext(); // no span given: none is active here
        if (!carrier) return;
        if (c) setTraceHeaders(carrier, formatTraceparent(c.traceId, c.spanId, c.traceFlags), c.traceState);
        injectBaggage(carrier, (span === undefined ? activeBaggage() : bags.get(span as object)) ?? '');
      } catch (e) {
        internalError(e);
      }
    },
    extract(carrier) {
      try {
        const r = carrier ? readRemote(carrier) : undefined;
        if (r?.[1]) bags.set(r[0], r[1]);
        return r?.[0];
      } catch (e) {
        internalError(e);
        return undefined;
      }
    },
    flush: done,
    shutdown: done,
    stats: () => ({ droppedSpans: 0, droppedData: 0, droppedOversize: 0 }),
    withBaggage: withBaggageEntries,
    getBaggage: () => baggageEntries(activeBaggage()),
  };
  noops.add(tracer);
  return tracer;
}
