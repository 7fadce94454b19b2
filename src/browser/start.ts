// Wires the browser instrumentations from `instrumentations` options around
// the core init(). Listeners that must run before delivery's own (pagehide,
// web-vitals) are added before delivery starts. Never rejects.
//
// Page-load cost: the calling task only adds the pagehide listener and the
// early recorders of requests (prepare.ts) and errors (early.ts); everything
// else runs after the page's first paint (until then every task of the page
// falls into one long animation frame), in tasks of a millisecond or two
// each — the Wasm compile started (off the main thread) and web-vitals
// subscribed, then the first localStorage access (session.id; it loads the
// origin's storage area), then instantiation, then the instrumentations.
// The script tag (script.ts) calls `resumeBrowser` itself then; its build
// evaluates web-vitals only then too (scripts/build.mjs).
import type { BrowserContext, BrowserInitOptions } from './types.js';
import type { Tracer } from '../tracer.js';
import type { WasmSource } from '../wasm.js';
import type { Prepared } from './prepare.js';
import type { Gzip } from '../export/types.js';
import { initWith } from '../init.js';
import { gzip } from '../export/gzip.js';
import { internalError, rangeSetting, warnOnce } from '../diag.js';
import { resolveDeliveryOptions } from '../export/options.js';
import { createNoopTracer } from '../tracer.js';
import { isNoop } from '../noop.js';
import { sdkDisabled } from '../env.js';
import { instrumentDocumentLoad } from './document-load.js';
import { instrumentErrors } from './errors.js';
import { recordErrors, takeErrors } from './early.js';
import { clientStart, end, instrumentFetch } from './fetch.js';
import { DEFAULT_EVENTS, instrumentInteractions } from './interactions.js';
import { instrumentLongTasks } from './long-tasks.js';
import { instrumentNavigation } from './navigation.js';
import { instrumentResources } from './resources.js';
import { instrumentXhr } from './xhr.js';
import { SESSION_IDLE_MS, SESSION_MAX_MS, sessionId } from './session.js';
import { STARTED, type StartedPage, prepareBrowser } from './prepare.js';
import { nextTask } from './schedule.js';
import { listen } from './util.js';
import { watchWebVitals } from './web-vitals.js';

/**
 * Bodies smaller than this are sent uncompressed under `compression: 'auto'`
 * (an explicit `'gzip'` compresses every body): a page's first gzip through
 * CompressionStream costs 0.5-1 ms of main thread, to save at most about a
 * kilobyte below this size (docs/performance.md, "Page load").
 */
export const GZIP_MIN_BYTES = 2048;

const gzipLarge: Gzip = (bytes) => (bytes.length < GZIP_MIN_BYTES ? Promise.resolve(null) : gzip(bytes));

let again = false;

/** init() for pages: the tracer plus every instrumentation not turned off; a page's later calls get the first one's. */
export function startBrowser(options: BrowserInitOptions, defaultWasm: (json: boolean) => WasmSource): Promise<Tracer> {
  if (typeof window === 'undefined') return start(options, defaultWasm);
  const page = window as StartedPage;
  if (page[STARTED]) {
    if (!again) internalError('already started: init() returns the first tracer');
    again = true;
    return page[STARTED];
  }
  return (page[STARTED] = start(options, defaultWasm));
}

async function start(options: BrowserInitOptions, defaultWasm: (json: boolean) => WasmSource): Promise<Tracer> {
  try {
    const opts = (options && typeof options === 'object' ? options : {}) as BrowserInitOptions;
    if (sdkDisabled(opts.disabled, opts.env ?? {})) return createNoopTracer(); // nothing loaded, nothing patched
    if (typeof document === 'undefined' || typeof window === 'undefined') return initWith({ language: 'webjs', defaultWasm }, opts);
    // Errors from now on are kept for the errors instrumentation (errors.ts), which takes them when it starts.
    if (opts.instrumentations?.errors !== false) recordErrors();
    const prepared = prepareBrowser(opts, defaultWasm);
    await prepared.painted; // the Wasm fetch starts in the same task
    return await resumeBrowser(prepared);
  } catch (e) {
    internalError(e);
    return createNoopTracer();
  } finally {
    takeErrors(); // not taken (no Wasm, a CSP refusal): dropped, and nothing more kept
  }
}

/** The rest of start-up, after the first paint: web-vitals, session, Wasm, instrumentations. Never rejects. */
export async function resumeBrowser({ opts, defaultWasm, onUnload, onRestore, wasmHref, propagate, compiled, early, resourcesLost }: Prepared): Promise<Tracer> {
  try {
    const on = opts.instrumentations ?? {};
    const enabled = (k: keyof typeof on): boolean => on[k] !== false;
    const vitals = enabled('webVitals') ? watchWebVitals() : null;
    await nextTask();
    const resource = { ...opts.resource };
    let session: (() => Record<string, string>) | undefined;
    if (enabled('session') && resource['session.id'] === undefined) {
      const s = (typeof on.session === 'object' && on.session) || {};
      const idleMs = rangeSetting('session.idleMs', s.idleMs, 1, Number.MAX_SAFE_INTEGER, SESSION_IDLE_MS);
      const maxMs = rangeSetting('session.maxMs', s.maxMs, 1, Number.MAX_SAFE_INTEGER, SESSION_MAX_MS);
      // Read again before each batch is encoded: a batch is activity, and carries the session current then.
      session = () => ({ 'session.id': sessionId(Date.now(), idleMs, maxMs) });
      Object.assign(resource, session());
    }
    const source = await compiled;
    await nextTask();
    // Delivery's settings, resolved once here for init() and for the gzip choice and the endpoint below.
    const delivery = resolveDeliveryOptions(opts, opts.env ?? {}, warnOnce);
    const platform = { language: 'webjs', defaultWasm, delivery, liveResource: session, ...(delivery.compression !== 'gzip' && { gzip: gzipLarge }) };
    const tracer = await initWith(platform, { ...opts, resource, wasm: source });
    if (isNoop(tracer)) {
      vitals?.(null);
      early?.replay(tracer, end); // nothing to record them in: the recorder steps aside
      return tracer;
    }

    const endpoint = delivery.endpoint;
    const ctx: BrowserContext = {
      tracer,
      ignore: (url) => url === endpoint || url.startsWith(endpoint + '?'),
      propagate,
      redact: opts.redactQuery,
      page: undefined,
      recent: [],
      onUnload,
      onRestore,
    };
    await nextTask(); // instantiation and delivery's start-up were one task: the instrumentations get another
    // Each instrumentation on its own: one the page refuses (a frozen History.prototype, say) is
    // reported, and the rest and the tracer go on (an exception here gave the page a tracer that records nothing).
    const step = (fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        internalError(e);
      }
    };
    const resources = (): void => {
      if (enabled('resources')) step(() => instrumentResources(ctx, (url) => url === wasmHref, resourcesLost()));
    };
    step(() => {
      if (enabled('documentLoad')) instrumentDocumentLoad(ctx, resources);
      else if (document.readyState === 'complete') resources();
      else listen(window, 'load', resources, false);
    });
    if (enabled('errors')) step(() => instrumentErrors(ctx));
    // Requests sent before now become the spans their traceparent named; the
    // instrumentations take over, and their Resource Timing entries are skipped.
    // The early wrappers go on for the page's life (a fetch it kept during load is one): they take the full instrumentations' start.
    step(() => {
      const start = clientStart(ctx);
      const kept = early?.replay(tracer, end, { fetch: enabled('fetch') ? start : undefined, xhr: enabled('xhr') ? start : undefined });
      if (enabled('fetch')) instrumentFetch(ctx, kept?.fetch);
      if (enabled('xhr')) instrumentXhr(ctx, kept?.xhr);
    });
    if (on.interactions !== false) {
      const i = on.interactions; // null is unset, as for the others: on, with the default events
      const events = i && typeof i === 'object' && Array.isArray(i.events) ? i.events : DEFAULT_EVENTS;
      step(() => instrumentInteractions(ctx, events));
    }
    if (enabled('navigation')) step(() => instrumentNavigation(ctx));
    if (enabled('longTasks')) step(() => instrumentLongTasks(ctx));
    step(() => vitals?.(ctx));
    return tracer;
  } catch (e) {
    internalError(e);
    return createNoopTracer();
  }
}
