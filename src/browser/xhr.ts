// XMLHttpRequest client spans, propagated like fetch.
import type { BrowserContext } from './types.js';
import { request } from './fetch.js';
import { endInflight, perfNow, wrapXhr } from './util.js';

export function instrumentXhr(ctx: BrowserContext): void {
  if (typeof XMLHttpRequest !== 'function') return;
  wrapXhr(XMLHttpRequest.prototype, (method, url) => (ctx.ignore(url.href) ? undefined : request(ctx, method, url)));
  ctx.xhrSince = perfNow();
  ctx.onUnload.push(endInflight);
}
