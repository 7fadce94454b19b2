// The `documentLoad` span from Navigation Timing
// (https://www.w3.org/TR/navigation-timing-2/): it starts at the navigation's
// time origin, ends at loadEventEnd, carries each phase as an event, and has
// a `documentFetch` child for the document's own request. A server may
// connect it to its trace with <meta name="traceparent" content="00-…">.
import type { Attributes, Span } from '../types.js';
import type { BrowserContext } from './types.js';
import { parseTraceparent } from '../propagation.js';
import { whenIdle } from './schedule.js';
import { listen } from './util.js';
import { fullUrl } from '../url.js';

/** Navigation Timing phases, in order, recorded as span events when non-zero. */
export const PHASES = [
  'fetchStart', 'domainLookupStart', 'domainLookupEnd', 'connectStart', 'secureConnectionStart', 'connectEnd',
  'requestStart', 'responseStart', 'responseEnd',
] as const;
const DOM_PHASES = [
  'domInteractive', 'domContentLoadedEventStart', 'domContentLoadedEventEnd', 'domComplete', 'loadEventStart', 'loadEventEnd',
] as const;

type Timing = Record<string, number>;

/** A timeline time, never before the time origin: Firefox ESR reports a negative fetchStart (-7 ms seen here). */
export const clampTime = (t: number): number => (t > 0 ? t : 0);

/** Adds one event per non-zero phase of `entry`. */
export function addPhases(span: Span, entry: Timing, names: readonly string[]): void {
  for (const name of names) {
    const t = entry[name];
    if (typeof t === 'number' && t > 0) span.addEvent(name, t);
  }
}

/** Starts the documentLoad span now; it ends (with `done` called) once the load event is over. */
export function instrumentDocumentLoad(ctx: BrowserContext, done: (nav: PerformanceNavigationTiming | undefined) => void): () => void {
  const nav = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
  const meta = document.querySelector('meta[name="traceparent"]')?.getAttribute('content');
  const remote = meta ? parseTraceparent(meta) : null; // no regex compiled for the usual page without one
  const attrs: Attributes = { 'url.full': fullUrl(location.href, ctx.redact), 'user_agent.original': navigator.userAgent };
  if (nav) attrs['document.navigation.type'] = nav.type;
  const page = ctx.tracer.startSpan('documentLoad', { startTime: nav ? nav.startTime : 0, attributes: attrs }, remote ?? null);
  ctx.page = page;
  let ended = false;

  const finish = (): void => {
    if (ended) return;
    ended = true;
    stop();
    const n = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (n) {
      const start = clampTime(n.fetchStart);
      const fetchSpan = ctx.tracer.startSpan('documentFetch', { startTime: start, attributes: { 'url.full': fullUrl(n.name, ctx.redact) } }, page);
      addPhases(fetchSpan, n as unknown as Timing, PHASES);
      const status = (n as { responseStatus?: number }).responseStatus;
      if (status) fetchSpan.setAttribute('http.response.status_code', status);
      if (n.encodedBodySize) fetchSpan.setAttribute('http.response.body.size', n.encodedBodySize);
      fetchSpan.end(Math.max(start, n.responseEnd));
      addPhases(page, n as unknown as Timing, DOM_PHASES);
    }
    done(n);
    page.end(n && n.loadEventEnd > 0 ? n.loadEventEnd : undefined);
  };

  // loadEventEnd is set only after the load handlers return: wait one task,
  // then for idle time — the spans of the load are built after it, not in it.
  const check = (): void => {
    if (document.readyState === 'complete') setTimeout(() => whenIdle(finish, 1000), 0);
  };
  const stop = listen(window, 'load', check, false);
  ctx.onUnload.push(finish); // closed before load: end what we have
  check();
  return stop;
}
