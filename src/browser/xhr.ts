// XMLHttpRequest client spans, propagated like fetch.
import type { BrowserContext } from './types.js';
import { clientStart } from './fetch.js';
import { endInflight, wrapXhr } from './util.js';

/**
 * Wraps XHR, unless the early recorder's wrappers trace it already
 * (`wrapped`: they were handed over); not where the page has none, or froze
 * its prototype.
 */
export function instrumentXhr(ctx: BrowserContext, wrapped = false): void {
  if (typeof XMLHttpRequest !== 'function') return;
  if (!wrapped && !wrapXhr(XMLHttpRequest.prototype, clientStart(ctx))) return;
  ctx.onUnload.push(endInflight);
}
