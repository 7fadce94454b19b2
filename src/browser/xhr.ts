// XMLHttpRequest client spans, propagated like fetch.
import type { BrowserContext } from './types.js';
import { internalError } from '../diag.js';
import { request } from './fetch.js';
import { endInflight, httpUrl, openXhr, perfNow, sendXhr, sendable, setXhrHeaders, watchXhrHeaders } from './util.js';

export function instrumentXhr(ctx: BrowserContext): void {
  if (typeof XMLHttpRequest !== 'function') return;
  const proto = XMLHttpRequest.prototype;
  const open0 = proto.open as (...args: unknown[]) => void;
  const send0 = proto.send;
  const setHeader0 = proto.setRequestHeader;
  const requests = new WeakMap<XMLHttpRequest, { method: unknown; url: URL }>();

  const open = function (this: XMLHttpRequest, ...args: unknown[]): void {
    let url: URL | undefined;
    try {
      url = httpUrl(String(args[1]));
    } catch (e) {
      internalError(e);
    }
    openXhr(this, () => open0.apply(this, args));
    if (url) requests.set(this, { method: args[0], url });
    else requests.delete(this);
  };

  const send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null): void {
    let done: ((status: number, failure: unknown) => void) | undefined;
    try {
      const r = requests.get(this);
      if (r && sendable(this) && !ctx.ignore(r.url.href)) {
        let headers: Record<string, string> | undefined;
        [done, headers] = request(ctx, r.method, r.url);
        if (headers) setXhrHeaders(this, setHeader0, headers);
      }
    } catch (e) {
      internalError(e);
    }
    return done ? sendXhr(this, () => send0.call(this, body), done) : send0.call(this, body);
  };

  proto.open = open as typeof proto.open;
  proto.send = send;
  watchXhrHeaders(proto);
  ctx.xhrSince = perfNow();
  ctx.onUnload.push(endInflight);
}
