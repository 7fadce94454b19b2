// The script-tag build (dist/wasmtrace.js): options from the tag's data-*
// attributes, the Wasm from beside the script, and `window.wasmtrace`, whose
// calls made before Wasm is ready are queued and replayed (spans keep the
// times they were started and ended at). Loading never blocks the page: the
// Wasm is fetched and compiled asynchronously.
//
// Its evaluation in the page's loading frame is only this file's loader part:
// the rest of the SDK (start.ts and all it imports) is a lazily evaluated
// module inside the same file (esbuild inlines a dynamic import() without
// code splitting as a function run on first use), evaluated after the first
// paint. One file, so a page still needs only wasmtrace.js and the Wasm.
//
//   <script src="/wasmtrace.js" data-service-name="shop-web"
//           data-endpoint="https://otel.example.com/v1/traces"></script>
import type { Span, SpanContext, SpanOptions } from '../types.js';
import type { Tracer } from '../tracer.js';
import { now } from '../clock.js';
import { internalError } from '../diag.js';
import { optionsFromDataset } from './dataset.js';
import { type Prepared, prepareBrowser } from './prepare.js';
import { FIRST_PAINT_WAIT_MS, afterPaint } from './schedule.js';

type Op = [method: string, args: unknown[]];

/**
 * Spans a page may start before the tracer exists; later ones record
 * nothing, so a page that starts spans in a loop before then holds a
 * bounded amount of memory (each keeps up to 256 calls).
 */
const MAX_DEFERRED = 2048;
let deferred = 0;

/** A Span's methods that a deferred span queues. */
const METHODS = ['setAttribute', 'setAttributes', 'addEvent', 'addLink', 'addLinks', 'setStatus', 'updateName', 'end', 'recordException'];
const noContext = (): SpanContext => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
let noop: Span | undefined;

/** What a span beyond MAX_DEFERRED is: it records nothing (made at the first overflow, not at load). */
function noopSpan(): Span {
  if (!noop) {
    const span: Record<string, unknown> = { isRecording: () => false, spanContext: noContext };
    for (const m of METHODS) span[m] = () => (m === 'end' || m === 'recordException' ? undefined : span);
    noop = span as unknown as Span;
  }
  return noop;
}

/** A span started before the tracer exists: its calls replay on the real span. */
function deferredSpan(ready: Promise<Tracer>, name: string, options: SpanOptions | undefined): Span {
  if (deferred >= MAX_DEFERRED) return noopSpan();
  deferred++;
  const ops: Op[] = [];
  let real: Span | undefined;
  const startTime = options?.startTime ?? now();
  void ready.then((t) => {
    real = t.startSpan(name, { ...options, startTime });
    for (const [m, a] of ops) (real as unknown as Record<string, (...x: unknown[]) => unknown>)[m]?.(...a);
    ops.length = 0;
  });
  // Methods whose last argument is a time get "now" filled in while queued.
  const timed: Record<string, number> = { end: 0, recordException: 1, addEvent: 2 };
  const span = {} as Record<string, unknown>;
  for (const m of METHODS) {
    span[m] = (...args: unknown[]) => {
      if (real) return (real as unknown as Record<string, (...x: unknown[]) => unknown>)[m]?.(...args);
      const at = timed[m];
      if (at !== undefined) {
        if (m === 'addEvent' && (typeof args[1] === 'number' || args[1] instanceof Date)) {
          // addEvent(name, time): the time is already there
        } else if (args[at] === undefined) {
          args[at] = now();
        }
      }
      if (ops.length < 256) ops.push([m, args]);
      return m === 'end' || m === 'recordException' ? undefined : span;
    };
  }
  span.isRecording = () => (real ? real.isRecording() : true);
  span.spanContext = (): SpanContext => real?.spanContext() ?? noContext();
  return span as unknown as Span;
}

/** `window.wasmtrace`: the tracer's methods, usable before it is ready. */
export interface ScriptApi extends Tracer {
  /** Resolves to the tracer once Wasm is loaded (a no-op tracer if it cannot be). */
  readonly ready: Promise<Tracer>;
}

function api(ready: Promise<Tracer>): ScriptApi {
  let tracer: Tracer | undefined;
  void ready.then((t) => (tracer = t));
  return {
    ready,
    startSpan: (name, options, parent) => (tracer ? tracer.startSpan(name, options, parent) : deferredSpan(ready, name, options)),
    startActiveSpan<R>(name: string, ...rest: unknown[]): R {
      if (tracer) return (tracer.startActiveSpan as (...a: unknown[]) => R)(name, ...rest);
      const fn = rest[rest.length - 1];
      const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
      return typeof fn === 'function' ? (fn as (s: Span) => R)(deferredSpan(ready, name, options)) : (undefined as R);
    },
    getActiveSpan: () => tracer?.getActiveSpan(),
    withSpan: (span, fn) => (tracer ? tracer.withSpan(span, fn) : fn()),
    inject: (carrier, span) => tracer?.inject(carrier, span),
    extract: (carrier) => tracer?.extract(carrier),
    flush: () => ready.then((t) => t.flush()),
    shutdown: () => ready.then((t) => t.shutdown()),
    stats: () => tracer?.stats() ?? { droppedSpans: 0, droppedData: 0, droppedOversize: 0 },
    // Before ready there is no request to carry baggage yet: `fn` runs without it.
    withBaggage: (entries, fn) => (tracer ? tracer.withBaggage(entries, fn) : fn()),
    getBaggage: () => tracer?.getBaggage() ?? {},
  };
}

function main(): void {
  const w = window as unknown as { wasmtrace?: { q?: unknown[] } | ScriptApi };
  if (w.wasmtrace && 'ready' in w.wasmtrace) return; // loaded twice
  const script = (document.currentScript ?? document.querySelector('script[src*="wasmtrace"]')) as HTMLScriptElement | null;
  const options = optionsFromDataset(script?.dataset ?? {});
  const base = script?.src || location.href;
  let prepared: Prepared | undefined;
  try {
    // data-disabled: nothing loaded or patched, and `ready` a tracer that records nothing.
    if (options.disabled !== true) prepared = prepareBrowser(options, (json) => new URL(json ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm', base));
  } catch (e) {
    internalError(e); // `ready` becomes a tracer that records nothing
  }
  // The first task after the first paint starts the Wasm compile (prepare.ts),
  // evaluates the rest of the SDK and subscribes web-vitals (start.ts): under a
  // millisecond and a half together, and each task more costs main thread too.
  const ready = (prepared?.painted ?? afterPaint(FIRST_PAINT_WAIT_MS))
    .then(() => import('./start.js'))
    .then(({ resumeBrowser }) => {
      if (!prepared) throw new Error(options.disabled === true ? 'disabled' : 'start-up failed');
      return resumeBrowser(prepared);
    })
    .catch(async (e: unknown) => {
      internalError(e);
      return (await import('../tracer.js')).createNoopTracer();
    });
  const queued = (w.wasmtrace as { q?: unknown[] } | undefined)?.q;
  const tracing = api(ready);
  w.wasmtrace = tracing;
  // A stub `window.wasmtrace = {q: [['startSpan', 'x'], …]}` set up before this script: replay it.
  if (Array.isArray(queued)) {
    for (const call of queued.slice(0, 256)) {
      if (!Array.isArray(call)) continue;
      const fn = (tracing as unknown as Record<string, unknown>)[String(call[0])];
      if (typeof fn === 'function') fn(...call.slice(1));
    }
  }
}

try {
  main();
} catch (e) {
  internalError(e);
}
