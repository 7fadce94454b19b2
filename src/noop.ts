// What records nothing: the tracer a disabled SDK, or one whose Wasm cannot
// load, gives, and a span. A module of its own so that the script tag's
// loader has them at once, without evaluating the tracer.
import type { ParentInput, Span, SpanContext, SpanOptions } from './types.js';
import { internalError } from './diag.js';
import { validIds } from './ids.js';
import { KNOWN_FLAGS, parseTracestate } from './propagation.js';
import type { Tracer } from './tracer.js';
import type { ExportResult } from './export/types.js';

/** A Span's methods besides spanContext and isRecording (the script tag's deferred spans queue these). */
export const SPAN_METHODS = ['setAttribute', 'setAttributes', 'addEvent', 'addLink', 'addLinks', 'setStatus', 'updateName', 'end', 'recordException'];

/** What a flush that sent nothing resolves to. */
export const EMPTY_RESULT: ExportResult = { sent: 0, queued: 0, dropped: 0 };

/** The context of no span: ids all zeros. */
export const noContext = (): SpanContext => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });

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

/** A span that records nothing and carries a valid parent's (a span's or a SpanContext's) context on; else undefined. */
export function carrying(parent: unknown): Span | undefined {
  const p = parent as Partial<Span & SpanContext> | null | undefined;
  const c = typeof p?.spanContext === 'function' ? p.spanContext() : p;
  if (!c || !validIds(c.traceId, c.spanId)) return undefined;
  const ctx: SpanContext = { traceId: c.traceId, spanId: c.spanId as string, traceFlags: Number(c.traceFlags) & KNOWN_FLAGS, isRemote: c.isRemote === true };
  const ts = parseTracestate(c.traceState);
  if (ts) ctx.traceState = ts;
  return nonRecording(() => ctx);
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

/**
 * A tracer that records nothing, its spans from `span` (those with a parent:
 * carrying its context): what init() gives when disabled or when Wasm cannot
 * load (tracer.ts: createNoopTracer).
 */
export function noopTracer(span: () => Span): Tracer {
  const done = (): Promise<ExportResult> => Promise.resolve(EMPTY_RESULT);
  /** Runs `fn` if it is a function (as the real tracer does: a wrong argument is not thrown into the app). */
  const run = <R>(fn: unknown, arg?: Span): R => (typeof fn === 'function' ? fn(arg) : undefined) as R;
  /** As OpenTelemetry's NoopTracer: a span that carries its parent's context, when given one. */
  const start = (options?: SpanOptions, parent?: ParentInput): Span => {
    try {
      return (!options?.root && carrying(parent)) || span();
    } catch (e) {
      internalError(e); // a parent whose getters throw: as the tracer, nothing is thrown into the app
      return span();
    }
  };
  const startSpan: Tracer['startSpan'] = (_name, options, parent) => start(options, parent);
  return {
    startSpan,
    startActiveSpan: <R>(name: string, ...rest: unknown[]): R => startActive(name, rest, startSpan, run),
    getActiveSpan: () => undefined,
    withSpan: (_span, fn) => run(fn),
    inject: () => undefined,
    extract: () => undefined,
    flush: done,
    shutdown: done,
    stats: () => ({ droppedSpans: 0, droppedData: 0, droppedOversize: 0 }),
    withBaggage: (_entries, fn) => run(fn),
    getBaggage: () => ({}),
  };
}
