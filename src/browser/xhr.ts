// XMLHttpRequest client spans, propagated like fetch.
import type { BrowserContext } from './types.js';
import { clientStart } from './fetch.js';
import { endInflight, wrapXhr } from './util.js';

/**
 * Wraps XHR, unless the early recorder's wrappers trace it already
 * (`wrapped`: they were handed over). Whether XHR is traced: not where the
 * page has none, or froze its prototype.
 */
export function instrumentXhr(ctx: BrowserContext, wrapped = false): boolean {
  if (typeof XMLHttpRequest !== 'function') return false;
  if (!wrapped && !wrapXhr(XMLHttpRequest.prototype, clientStart(ctx))) return false;
  ctx.onUnload.push(endInflight);
  return true;
}
