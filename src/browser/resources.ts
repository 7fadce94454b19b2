// A `resourceFetch` span per Resource Timing entry
// (https://www.w3.org/TR/resource-timing/): the initial buffer, then later
// ones through a PerformanceObserver. Each is a child of the span whose window
// it starts in — the page view (documentLoad up to loadEventEnd, a restore
// until its first paint), else the newest interaction or navigation open then
// — or the root of a trace of its own: a page open for an hour does not put
// every resource in its page-load trace. fetch
// and XHR requests that have client spans (util.ts: noteTraced) are skipped, as are the exporter's own requests (its
// sendBeacon ones too: ctx.ignore); the page's own sendBeacon requests are recorded.
import type { BrowserContext } from './types.js';
import type { Attributes } from '../types.js';
import { internalError } from '../diag.js';
import { clampTime, requestSpan } from './document-load.js';
import { whenIdle } from './schedule.js';
import { observe, openAt, perfNow, takeTraced, within } from './util.js';

/** Main-thread time one slice of the initial buffer may take, ms. */
const SLICE_MS = 4;

/** Records entries already in the buffer, then observes later ones; `lost` entries that never reached the buffer are counted on documentLoad. */
export function instrumentResources(ctx: BrowserContext, skipUrl: (url: string) => boolean, lost: number): void {
  if (lost) ctx.page?.[0].setAttribute('wasmtrace.resources_dropped', lost);
  const record = (e: PerformanceResourceTiming): void => {
    if (ctx.ignore(e.name) || skipUrl(e.name)) return;
    // A request with a CLIENT span of its own (noted when it was sent), not one through a fetch or XHR method the page kept from before the SDK.
    if ((e.initiatorType === 'fetch' || e.initiatorType === 'xmlhttprequest') && takeTraced(e.name)) return;
    const t = clampTime(e.startTime);
    requestSpan(ctx, 'resourceFetch', e, t, { 'resource.initiator_type': e.initiatorType, ...protocol(e.nextHopProtocol) }, within(ctx.page, t) ?? openAt(ctx.recent, t) ?? null);
  };
  // The initial buffer (a page may have hundreds) in slices of a few ms, each
  // its own idle task; what is left when the page hides is recorded then.
  let backlog: PerformanceEntry[] = [];
  // Entries of backlog recorded: counted after each record, so a pagehide
  // ended inside one (prepare.ts: watchUnload) records it again, not skips it.
  let at = 0;
  const drain = (deadlineMs: number): void => {
    while (at < backlog.length && perfNow() < deadlineMs) {
      try {
        record(backlog[at] as PerformanceResourceTiming);
      } catch (e) {
        internalError(e);
      }
      at++;
    }
    if (at >= backlog.length) {
      backlog = [];
      at = 0;
    }
  };
  const slice = (): void => {
    drain(perfNow() + SLICE_MS);
    if (at < backlog.length) whenIdle(slice, 1000);
  };
  try {
    backlog = [...(performance.getEntriesByType?.('resource') ?? [])];
    slice();
  } catch (e) {
    internalError(e);
  }
  ctx.onUnload.push(() => drain(Infinity));
  observe('resource', record as (e: PerformanceEntry) => void);
}

/**
 * An ALPN id ('http/1.1', 'h2', 'h3') as the semantic conventions split it:
 * network.protocol.name 'http' and network.protocol.version '1.1', '2', '3'.
 */
function protocol(alpn: string): Attributes {
  const m = /^(?:http\/(\d\.\d)$|h(\d)(?:$|-))/.exec(alpn);
  return m ? { 'network.protocol.name': 'http', 'network.protocol.version': m[1] ?? m[2]! } : alpn ? { 'network.protocol.name': alpn } : {};
}
