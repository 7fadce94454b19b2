// XMLHttpRequest client spans, propagated like fetch.
import type { BrowserContext } from './types.js';
import { internalError } from '../diag.js';
import { end } from './fetch.js';
import { holdActive } from './hold.js';
import { endInflight, httpUrl, inflight, openXhr, perfNow, sendXhr, sendable, setXhrHeaders, startClientSpan, watchXhrHeaders } from './util.js';

export function instrumentXhr(ctx: BrowserContext): () => void {
  if (typeof XMLHttpRequest !== 'function') return () => {};
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
        const span = startClientSpan(ctx.tracer, r.method, r.url, ctx.redact);
        inflight.add(span);
        const release = holdActive();
        if (ctx.propagate(r.url)) {
          const carrier: Record<string, string> = {};
          ctx.tracer.inject(carrier, span);
          setXhrHeaders(this, setHeader0, carrier);
        }
        done = (status, failure) => {
          end(span, status, failure);
          release();
        };
      }
    } catch (e) {
      internalError(e);
    }
    return done ? sendXhr(this, () => send0.call(this, body), done) : send0.call(this, body);
  };

  proto.open = open as typeof proto.open;
  proto.send = send;
  const unwatch = watchXhrHeaders(proto);
  ctx.xhrSince = perfNow();
  ctx.onUnload.push(endInflight);
  return () => {
    unwatch();
    if (proto.open === open) proto.open = open0 as typeof proto.open;
    if (proto.send === send) proto.send = send0;
  };
}
