// Core Web Vitals (LCP, INP, CLS) and FCP, TTFB through the `web-vitals`
// package's attribution build, each report a span (`web-vital.LCP`, …)
// carrying value, rating and attribution, numbers always as doubles (an
// integral one must not change the key's type): a child of the page view
// (documentLoad, or a restore's) when it lies in its window, else — INP and
// CLS reported at hide, a late LCP — a root linked to it. Subscribed
// before delivery starts; reports that come before the tracer is ready wait for it.
// They arrive when the page is hidden: web-vitals listens for visibilitychange
// on window in the capture phase, which runs before delivery's listener on
// document, so the spans leave with the page's last batch.
import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricWithAttribution } from 'web-vitals/attribution';
import type { Attributes } from '../types.js';
import type { BrowserContext } from './types.js';
import { double } from '../attributes.js';
import { internalError } from '../diag.js';
import { perfNow, redactUrls, unixMs, within } from './util.js';

/** Reports kept while Wasm loads. */
const MAX_WAITING = 50;

/** Subscribes now; returns the function that connects the reports to a tracer (or drops them). */
export function watchWebVitals(): (ctx: BrowserContext | null) => void {
  let ctx: BrowserContext | null | undefined;
  const waiting: Array<[MetricWithAttribution, number]> = [];
  const report = (m: MetricWithAttribution): void => {
    if (ctx) record(ctx, m, perfNow());
    else if (ctx === undefined && waiting.length < MAX_WAITING) waiting.push([m, perfNow()]);
  };
  try {
    onLCP(report);
    // Every change of INP, not just the final value: hidden within a second of
    // an interaction, web-vitals runs its final INP report before the pending
    // entries are processed (its onHidden list precedes whenIdleOrHidden's
    // listener), and the value would never be reported.
    onINP(report, { reportAllChanges: true });
    onCLS(report);
    onFCP(report);
    onTTFB(report);
  } catch (e) {
    internalError(e);
  }
  return (c) => {
    ctx = c;
    if (c) for (const [m, at] of waiting) record(c, m, at);
    waiting.length = 0;
  };
}

function record(ctx: BrowserContext, m: MetricWithAttribution, at: number): void {
  try {
    const attrs: Attributes = {
      'web_vital.name': m.name,
      'web_vital.value': double(m.value),
      'web_vital.delta': double(m.delta),
      'web_vital.rating': m.rating,
      'web_vital.id': m.id,
      'web_vital.navigation_type': m.navigationType,
    };
    for (const [k, v] of Object.entries(m.attribution as object)) {
      if (typeof v === 'string') attrs[`web_vital.attribution.${k}`] = redactUrls(v, ctx.redact); // the LCP image's url, say
      else if (typeof v === 'boolean') attrs[`web_vital.attribution.${k}`] = v;
      else if (typeof v === 'number' && Number.isFinite(v)) attrs[`web_vital.attribution.${k}`] = double(v);
    }
    // Paint and byte timings are spans from the navigation's start (the
    // restore's, or the prerendered page's activation: what web-vitals
    // measures them from); INP spans the interaction; CLS is a point at its
    // largest shift (or the report).
    let start = at;
    let end = at;
    if (m.name === 'LCP' || m.name === 'FCP' || m.name === 'TTFB') {
      start = m.navigationStartTime || (performance.getEntriesByType?.('navigation')[0] as { activationStart?: number } | undefined)?.activationStart || 0;
      end = start + m.value;
    } else if (m.name === 'INP') {
      const t = (m.attribution as { interactionTime?: number }).interactionTime;
      if (typeof t === 'number' && t > 0) {
        start = t;
        end = t + m.value;
      }
    } else {
      const t = (m.attribution as { largestShiftTime?: number }).largestShiftTime;
      if (typeof t === 'number' && t > 0) start = end = t;
    }
    const page = ctx.page;
    const parent = within(page, start) && within(page, end);
    const links = page && !parent ? [{ context: page[0].spanContext() }] : undefined;
    ctx.tracer.startSpan(`web-vital.${m.name}`, { startTime: unixMs(start), attributes: attrs, links }, parent ?? null).end(unixMs(end));
  } catch (e) {
    internalError(e);
  }
}
