// The `documentLoad` span from Navigation Timing
// (https://www.w3.org/TR/navigation-timing-2/): it starts at the navigation's
// time origin, ends at loadEventEnd, carries each phase as an event, and has
// a `documentFetch` child for the document's own request. A server may
// connect it to its trace with <meta name="traceparent" content="00-…">.
// A back/forward-cache restore is a page view too: a `documentLoad` of its
// own, from the `pageshow` to the first frame after it.
import type { Attributes, Span } from '../types.js';
import type { BrowserContext, Period } from './types.js';
import { parseTraceparent } from '../propagation.js';
import { nextTask, whenIdle } from './schedule.js';
import { listen, perfNow, unixMs } from './util.js';
import { fullUrl } from '../url.js';

/** Network phases, in order, recorded as span events when non-zero. */
const PHASES = [
  'fetchStart', 'domainLookupStart', 'domainLookupEnd', 'connectStart', 'secureConnectionStart', 'connectEnd',
  'requestStart', 'responseStart', 'responseEnd',
] as const;
const DOM_PHASES = [
  'activationStart', 'domInteractive', 'domContentLoadedEventStart', 'domContentLoadedEventEnd', 'domComplete', 'loadEventStart', 'loadEventEnd',
] as const;

type Timing = Record<string, number>;

/** A timeline time, never before the time origin: Firefox ESR reports a negative fetchStart (-7 ms seen here). */
export const clampTime = (t: number): number => (t > 0 ? t : 0);

/**
 * Adds one event per non-zero phase of `entry`, and fetchStart, which every
 * fetch has, always: at the time origin where Firefox ESR gives one before it.
 */
function addPhases(span: Span, entry: Timing, names: readonly string[]): void {
  for (const name of names) {
    const t = entry[name];
    if (typeof t === 'number' && (t > 0 || name === 'fetchStart')) span.addEvent(name, unixMs(clampTime(t)));
  }
}

/**
 * The span of a request from its timing entry (the document's own, a
 * resource's), from `start` to its response's end: `url.full` and
 * `attributes`, the network phases as events, the status and body size.
 */
export function requestSpan(ctx: BrowserContext, name: string, e: PerformanceResourceTiming, start: number, attributes: Attributes, parent: Span | null): void {
  const span = ctx.tracer.startSpan(name, { startTime: unixMs(start), attributes: { 'url.full': fullUrl(e.name, ctx.redact), ...attributes } }, parent);
  addPhases(span, e as unknown as Timing, PHASES);
  const status = (e as { responseStatus?: number }).responseStatus;
  if (status) span.setAttribute('http.response.status_code', status);
  if (e.encodedBodySize) span.setAttribute('http.response.body.size', e.encodedBodySize);
  span.end(unixMs(Math.max(start, e.responseEnd)));
}

const navEntry = (): PerformanceNavigationTiming | undefined => performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;

/** Starts the documentLoad span now; it ends (with `done` called) once the load event is over. */
export function instrumentDocumentLoad(ctx: BrowserContext, done: (nav: PerformanceNavigationTiming | undefined) => void): void {
  const nav = navEntry();
  const meta = document.querySelector('meta[name="traceparent"]')?.getAttribute('content');
  const remote = meta ? parseTraceparent(meta) : null; // no regex compiled for the usual page without one
  const start = nav ? nav.startTime : 0;
  const page = ctx.tracer.startSpan('documentLoad', { startTime: unixMs(start), attributes: pageAttrs(ctx, nav?.type) }, remote ?? null);
  const view: Period = (ctx.page = [page, start, Infinity]);
  // Its window ends at loadEventEnd as soon as that is known, for the vitals reported before the span ends.
  const loaded = (): void => {
    const n = navEntry();
    if (n && n.loadEventEnd > 0) view[2] = n.loadEventEnd;
  };
  loaded();
  // The steps of finish() done: at pagehide it may be ended partway (prepare.ts:
  // watchUnload) and run again, which goes on from the step it was in.
  let step = 0;

  const finish = (): void => {
    if (step === 0) {
      stop();
      step = 1;
    }
    if (step === 4) return;
    const n = navEntry();
    if (step === 1) {
      if (n) requestSpan(ctx, 'documentFetch', n, clampTime(n.fetchStart), {}, page);
      step = 2;
    }
    if (step === 2) {
      if (n) addPhases(page, n as unknown as Timing, DOM_PHASES);
      loaded();
      if (view[2] === Infinity) view[2] = perfNow(); // closed before load: end what we have
      done(n);
      step = 3;
    }
    page.end(unixMs(view[2]));
    step = 4;
  };

  // loadEventEnd is set only after the load handlers return: wait one task,
  // then for idle time — the spans of the load are built after it, not in it.
  const check = (): void => {
    if (document.readyState === 'complete') {
      setTimeout(() => {
        loaded();
        whenIdle(finish, 1000);
      }, 0);
    }
  };
  const stop = listen(window, 'load', check, false);
  ctx.onUnload.push(finish);
  check();
  restores(ctx);
}

function pageAttrs(ctx: BrowserContext, type: string | undefined): Attributes {
  const attrs: Attributes = { 'url.full': fullUrl(location.href, ctx.redact), 'user_agent.original': navigator.userAgent };
  if (type) attrs['document.navigation.type'] = type;
  return attrs;
}

/**
 * Each restore from the back/forward cache starts a `documentLoad` root with
 * `document.navigation.type` `back-forward-cache` (web-vitals' name for it) at
 * the `pageshow`, ended a task after the second frame — web-vitals measures
 * the restore's FCP and LCP at that frame — or at `pagehide`.
 */
function restores(ctx: BrowserContext): void {
  let end: (() => void) | undefined;
  ctx.onRestore.push((at) => {
    end?.();
    const span = ctx.tracer.startSpan('documentLoad', { startTime: unixMs(at), attributes: pageAttrs(ctx, 'back-forward-cache') }, null);
    const view: Period = (ctx.page = [span, at, Infinity]);
    // Again after an end partway (at pagehide) it ends the span, at the same time.
    const close = (): void => {
      if (view[2] === Infinity) view[2] = perfNow();
      span.end(unixMs(view[2]));
    };
    end = close;
    requestAnimationFrame(() => requestAnimationFrame(() => void nextTask().then(close)));
  });
  ctx.onUnload.push(() => end?.());
}
