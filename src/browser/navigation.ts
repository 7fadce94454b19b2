// Single-page-app navigations: history.pushState/replaceState (when the URL
// changes) and popstate, each a short `navigation` span under whatever is
// active (a click, say), ended when the task that navigated is over.
import type { BrowserContext } from './types.js';
import { internalError } from '../diag.js';
import { listen, opened, perfNow, put } from './util.js';
import { fullUrl } from '../url.js';

export function instrumentNavigation(ctx: BrowserContext): void {
  if (typeof history === 'undefined') return;
  let last = location.href;
  const open = new Set<() => void>();
  ctx.onUnload.push(() => {
    for (const end of open) end();
  });

  const navigated = (type: string): void => {
    const from = last;
    last = location.href;
    if (from === last && type !== 'popstate') return;
    const span = ctx.tracer.startSpan('navigation', {
      attributes: { 'url.full': fullUrl(last, ctx.redact), 'navigation.type': type, 'navigation.from': fullUrl(from, ctx.redact) },
    });
    const closed = opened(ctx, span, perfNow());
    // Taken out of `open` last: ended partway at pagehide, it is run again.
    const end = (): void => {
      closed();
      span.end();
      open.delete(end);
    };
    open.add(end);
    setTimeout(end, 0);
  };

  // Wrapped where the page's method is: on history when the page (a router) set its own there, else
  // on History.prototype, so that a wrapper the page puts on either later goes through ours as it
  // would through the browser's (one on the prototype under ours on history was never called).
  // A frozen prototype gets ours on history instead; a frozen history, none (popstate still counts).
  const wrap = (name: 'pushState' | 'replaceState'): void => {
    let holder: History = history;
    while (!Object.prototype.hasOwnProperty.call(holder, name)) {
      const up = Object.getPrototypeOf(holder) as History | null;
      if (!up) return;
      holder = up;
    }
    const original = holder[name];
    if (typeof original !== 'function') return;
    // A method named as the page's own, of its `length` (2), given the page's arguments as they are.
    const wrapped = {
      [name](this: History, data: unknown, unused: string): void {
        original.apply(this, arguments as unknown as Parameters<History['pushState']>); // throws on a bad URL: the page's own error
        try {
          navigated(name);
        } catch (e) {
          internalError(e);
        }
      },
    }[name]!;
    if (!put(holder, name, wrapped) && holder !== history) put(history, name, wrapped, true);
  };
  wrap('pushState');
  wrap('replaceState');
  listen(window, 'popstate', () => navigated('popstate'), true);
}
