// What records nothing: the tracer a disabled SDK, or one whose Wasm cannot
// load, gives, and a span. A module of its own so that the script tag's
// loader has them at once, without evaluating the tracer.
import type { Span, SpanContext } from './types.js';
import type { Tracer } from './tracer.js';
import type { ExportResult } from './export/types.js';

/** A Span's methods besides spanContext and isRecording (the script tag's deferred spans queue these). */
export const SPAN_METHODS = ['setAttribute', 'setAttributes', 'addEvent', 'addLink', 'addLinks', 'setStatus', 'updateName', 'end', 'recordException'];

/** What a flush that sent nothing resolves to. */
export const EMPTY_RESULT: ExportResult = { sent: 0, queued: 0, dropped: 0 };

/** The context of no span: ids all zeros. */
export const noContext = (): SpanContext => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });

let span: Span | undefined;

/** A span that records nothing (one, made at first use). */
export function noopSpan(): Span {
  if (!span) {
    const s: Record<string, unknown> = { isRecording: () => false, spanContext: noContext };
    for (const m of SPAN_METHODS) s[m] = () => (m === 'end' || m === 'recordException' ? undefined : s);
    span = s as unknown as Span;
  }
  return span;
}

/**
 * A tracer that records nothing, its spans from `span`: what init() gives
 * when disabled or when Wasm cannot load (tracer.ts: createNoopTracer).
 */
export function noopTracer(span: () => Span): Tracer {
  const done = (): Promise<ExportResult> => Promise.resolve(EMPTY_RESULT);
  /** Runs `fn` if it is a function (as the real tracer does: a wrong argument is not thrown into the app). */
  const run = <R>(fn: unknown, arg?: Span): R => (typeof fn === 'function' ? fn(arg) : undefined) as R;
  return {
    startSpan: span,
    startActiveSpan: <R>(_name: string, ...rest: unknown[]): R => run(rest[rest.length - 1], span()),
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
