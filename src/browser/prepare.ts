// The part of a page's start-up that runs in the calling task, before the
// rest of the SDK is even evaluated (the script tag evaluates the rest after
// the first paint): the pagehide listener that must come before delivery's
// own, the pageshow one that must come before web-vitals', and the Wasm fetch
// and compile, started in the first task after the first paint — a page's
// first fetch() call costs several ms of main thread in Chromium (7 ms
// measured here), which would land in the long frame of the page's first
// render.
import type { BrowserInitOptions } from './types.js';
import type { WasmSource } from '../wasm.js';
import type { Tracer } from '../tracer.js';
import { FIRST_PAINT_WAIT_MS, afterPaint } from './schedule.js';
import { absolute, listen, observe, propagatesTo } from './util.js';
import { type EarlyRequests, recordEarly } from './early.js';
import { samplerRatio } from '../sampler.js';
import { internalError } from '../diag.js';
import { envSamplerRatio } from '../env.js';

/**
 * Where a page keeps the tracer promise of its one start-up: a second init(),
 * or init() beside the script tag (any copy of the SDK), gets the same one
 * instead of instrumenting everything twice.
 */
export const STARTED = Symbol.for('wasmtrace.started');
export type StartedPage = { [STARTED]?: Promise<Tracer> };

/** What `resumeBrowser` (start.ts) goes on from. */
export interface Prepared {
  readonly opts: BrowserInitOptions;
  readonly defaultWasm: (json: boolean) => WasmSource;
  /** Run at pagehide, before delivery's listener: spans still open end first. */
  readonly onUnload: Array<() => void>;
  /** Run at a back/forward-cache restore, before web-vitals' listeners (it reports the restore's TTFB in its own). */
  readonly onRestore: Array<(at: number) => void>;
  /** The Wasm module's absolute URL, when it is loaded from one. */
  readonly wasmHref: string | undefined;
  /** The head-sampling ratio (sampler.ts: samplerRatio): spans and requests before ready are sampled by it. */
  readonly ratio: number;
  /** Where traceparent may go (util.ts: propagatesTo). */
  readonly propagate: (u: URL) => boolean;
  /** Resolves in the first task after the page's first paint (one wait shared by every step). */
  readonly painted: Promise<void>;
  /** The compiled module, or what init() should load itself. */
  readonly compiled: Promise<WasmSource>;
  /** fetch/XHR requests sent before the SDK is ready (early.ts); undefined when both are off. */
  readonly early: EarlyRequests | undefined;
  /** Stops keepResources' watch; returns how many Resource Timing entries were lost meanwhile (at least). */
  readonly resourcesLost: () => number;
}

/** Resource Timing entries the buffer is raised to when it fills before the resources instrumentation reads it (browsers keep 250). */
export const MAX_RESOURCES = 1000;

/** Adds the pagehide and pageshow listeners; the Wasm is fetched and compiled from the first task after the first paint. */
export function prepareBrowser(opts: BrowserInitOptions, defaultWasm: (json: boolean) => WasmSource): Prepared {
  const onUnload: Array<() => void> = [];
  const onRestore: Array<(at: number) => void> = [];
  watchUnload(onUnload);
  listen(window, 'pageshow', (e) => {
    if ((e as PageTransitionEvent).persisted) for (const fn of onRestore) fn(e.timeStamp);
  });
  const wasm = opts.wasm ?? defaultWasm(opts.protocol === 'http/json');
  const wasmHref = typeof wasm === 'string' || wasm instanceof URL ? absolute(String(wasm))?.href : undefined;
  const propagate = propagatesTo(opts.propagateTo);
  const painted = afterPaint(FIRST_PAINT_WAIT_MS);
  const ratio = samplerRatio(opts.sampler?.ratio, envSamplerRatio(opts.env ?? {}, () => {})); // init() warns
  const resourcesLost = opts.instrumentations?.resources === false ? () => 0 : keepResources();
  return { opts, defaultWasm, onUnload, onRestore, wasmHref, ratio, propagate, painted, compiled: painted.then(() => precompile(wasm)), early: early(opts, wasmHref, ratio, propagate), resourcesLost };
}

/**
 * Runs `hooks` at pagehide, in a run a later listener can finish: Firefox,
 * closing a tab, can end a pagehide listener at its next function call or
 * loop (once), then runs the page's next listeners in full — delivery's,
 * which cuts the last batches. The hooks end the spans still open (requests
 * in flight, the documentLoad root, an interaction): a run ended partway
 * would leave them unended, never exported. So a second pagehide listener
 * and a visibilitychange one (hidden), both added here before delivery's,
 * finish a run started and not finished, from the hook it was in (each hook
 * can run again from its start: what it ended stays ended, what it did not
 * end it ends). A hide with no pagehide (a tab switch) runs nothing; pageshow
 * (a back/forward-cache restore, or the first show) resets. A hook that
 * throws is reported and the run goes on. Returns the listeners' removal.
 */
export function watchUnload(hooks: ReadonlyArray<() => void>): () => void {
  const g = globalThis as unknown as EventTarget;
  // The next hook to run: -1 with no run started, hooks.length when done.
  let next = -1;
  const run = (): void => {
    while (next >= 0 && next < hooks.length) {
      // Ended here (or inside the hook), `next` is unchanged: the next listener runs this hook again.
      try {
        hooks[next]!();
      } catch (e) {
        internalError(e);
      }
      next++;
    }
  };
  // Both start a run (the first may be ended before it starts one) or go on with it.
  const start = (): void => {
    if (next < 0) next = 0;
    run();
  };
  const offs = [
    listen(g, 'pagehide', start),
    listen(g, 'pagehide', start),
    listen(typeof document === 'undefined' ? undefined : document, 'visibilitychange', () => document.visibilityState === 'hidden' && run()),
    listen(g, 'pageshow', () => void (next = -1)),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** The Resource Timing buffer's size unless the page sets one. */
const BROWSER_RESOURCES = 250;

/**
 * The resources instrumentation reads the Resource Timing buffer after the
 * load event, and a page with more than 250 resources fills it before: the
 * buffer is raised to MAX_RESOURCES when it fills at the browsers' size (a
 * size the page set itself stays). Full at another, the entries that come
 * next are lost: from then on they are counted (a lower bound: the one that
 * found it full is counted, not others before the count starts).
 */
function keepResources(): () => number {
  let lost = 0;
  let po: PerformanceObserver | undefined;
  const stop = listen(performance, 'resourcetimingbufferfull', () => {
    if (performance.getEntriesByType('resource').length === BROWSER_RESOURCES) return performance.setResourceTimingBufferSize(MAX_RESOURCES);
    if (po) return;
    lost = 1;
    po = observe('resource', () => lost++);
  });
  return () => {
    stop();
    po?.disconnect();
    return lost;
  };
}

/** Starts recording the page's requests until the SDK is ready, unless the fetch and XHR instrumentations are both off. */
function early(opts: BrowserInitOptions, wasmHref: string | undefined, ratio: number, propagate: (u: URL) => boolean): EarlyRequests | undefined {
  const on = opts.instrumentations ?? {};
  if (on.fetch === false && on.xhr === false) return undefined;
  // The SDK's own requests before it is ready: the Wasm module (delivery starts later).
  const own = [wasmHref, typeof opts.endpoint === 'string' ? absolute(opts.endpoint)?.href : undefined];
  return recordEarly({
    ratio,
    propagate,
    ignore: (u) => own.some((href) => href !== undefined && (u.href === href || u.href.startsWith(href + '?'))),
    fetch: on.fetch !== false,
    xhr: on.xhr !== false,
    redact: opts.redactQuery,
  });
}

/**
 * Starts fetching and compiling a Wasm URL now, so the download and the
 * (off-main-thread) compile overlap the rest of start-up. Resolves to the
 * module, or to what init() should load itself when this fails (it then
 * fails there too, and warns as usual: a CSP refusal, a 404).
 */
function precompile(wasm: WasmSource): Promise<WasmSource> {
  if (!(typeof wasm === 'string' || wasm instanceof URL) || typeof WebAssembly.compileStreaming !== 'function') return Promise.resolve(wasm);
  // Any failure here (a refused fetch, a page's stub giving no Response) is left to init(): unhandled, it would reach the page.
  return fetch(wasm)
    .then((res): WasmSource | Promise<WasmSource> =>
      res.ok && res.headers.get('content-type') === 'application/wasm'
        ? WebAssembly.compileStreaming(res.clone()).catch(() => res)
        : res,
    )
    .catch(() => wasm);
}
