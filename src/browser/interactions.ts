// User interactions (click, submit, …) as spans that parent the requests their
// handlers start. The tracer's active span is a synchronous slot
// (src/context.ts), so the span is made active from a capture listener on
// window (the first to run: https://dom.spec.whatwg.org/#concept-event-dispatch)
// until the dispatch is over: a bubble listener on window clears it after the
// promise jobs already queued by handlers, and a zero-delay timer clears it
// when propagation was stopped. Limits: work started later (after an await
// on the network or a timer, after a second await in an event a script
// dispatched, or in another task) is not parented; a window capture
// listener registered before wasmtrace runs outside the span.
import type { Span } from '../types.js';
import type { BrowserContext } from './types.js';
import { type ParentIds, activeParent, setActive } from '../context.js';
import { forceEnd, taskDone, track } from './hold.js';
import { absolute, listen, opened, perfNow, unixMs } from './util.js';
import { fullUrl } from '../url.js';

/** Longest an interaction waits for the requests it started, ms. */
const MAX_OPEN_MS = 30_000;

export const DEFAULT_EVENTS = ['click', 'submit'];

export function instrumentInteractions(ctx: BrowserContext, events: readonly string[]): void {
  const open = new Set<Span>();
  // Dispatches in progress, innermost last (a click's activation may dispatch submit).
  const stack: Array<{ event: Event; span: Span; previous: ParentIds | undefined }> = [];
  // The last dispatch released in this task: it parents events its default
  // action dispatches (a click's activation fires submit after the click's
  // listeners, and after the microtask that released it).
  let recent: { event: Event; span: Span } | undefined;

  const release = (event: Event): void => {
    const i = stack.findIndex((d) => d.event === event);
    if (i < 0) return;
    for (let j = stack.length - 1; j >= i; j--) {
      const d = stack[j]!;
      // A synthetic event dispatched inside startActiveSpan: that span was
      // restored already, and must not be made active again.
      if (activeParent() === (d.span as unknown)) setActive(d.previous);
      taskDone(d.span);
      recent = d;
    }
    stack.length = i;
  };

  const start = (e: Event): void => {
    const target = e.target;
    if (!(target instanceof Element) || stack.some((d) => d.event === e)) return;
    const attrs: Record<string, string> = { event_type: e.type, target_element: target.tagName };
    const id = target.getAttribute('id');
    if (id) attrs.target_id = id;
    const href = e.type === 'click' ? target.closest('a[href]')?.getAttribute('href') : null;
    const url = href ? absolute(href) : undefined;
    if (url) attrs['url.full'] = fullUrl(url.href, ctx.redact);
    // From the input, not the handler: the wait before it ran is part of what the user felt
    // (not a synthetic event's creation long before its dispatch).
    const p = perfNow();
    const t = e.timeStamp > 0 && e.timeStamp > p - MAX_OPEN_MS ? Math.min(e.timeStamp, p) : p;
    const span = ctx.tracer.startSpan(e.type, { attributes: attrs, startTime: unixMs(t) }, ctx.tracer.getActiveSpan() ?? recent?.span);
    open.add(span);
    const closed = opened(ctx, span, t);
    const timer = setTimeout(() => forceEnd(span), MAX_OPEN_MS);
    track(span, () => {
      clearTimeout(timer);
      closed();
      span.end();
      open.delete(span); // last: ended partway at pagehide, forceEnd runs this again
    });
    stack.push({ event: e, span, previous: setActive(span as unknown as ParentIds) });
    setTimeout(() => {
      release(e);
      if (recent?.event === e) recent = undefined;
    }, 0);
  };

  for (const type of events) {
    listen(window, type, start, true);
    listen(window, type, (e) => queueMicrotask(() => release(e)), false);
  }
  // The page is going away: end what is open so delivery takes it.
  ctx.onUnload.push(() => {
    if (stack[0]) release(stack[0].event);
    for (const span of [...open]) forceEnd(span);
  });
}
