// Uncaught errors and unhandled rejections as `exception` events (semantic
// conventions: exception.type, exception.message, exception.stacktrace) on
// the active span, or on a span of their own (`error`, `unhandledrejection`).
// The URLs in them (a script's, the page's) are redacted as url.full is.
import type { Attributes } from '../types.js';
import type { BrowserContext } from './types.js';
import { fullUrl } from '../url.js';
import { listen, redactUrls, safeString } from './util.js';

export function instrumentErrors(ctx: BrowserContext): () => void {
  const record = (type: string, exception: unknown, extra?: Record<string, string | number>): void => {
    const message = redactUrls(exception instanceof Error ? exception.message : safeString(exception), ctx.redact);
    const stack = (exception as { stack?: unknown } | null | undefined)?.stack;
    const own: Attributes = {};
    if (exception instanceof Error || typeof exception === 'string') own['exception.message'] = message;
    if (typeof stack === 'string') own['exception.stacktrace'] = redactUrls(stack, ctx.redact);
    const active = ctx.tracer.getActiveSpan();
    const span = active ?? ctx.tracer.startSpan(type, extra ? { attributes: extra } : undefined);
    span.recordException(exception, undefined, own);
    span.setStatus({ code: 2, message });
    if (!active) span.end();
  };
  // Listening without capture: resource load errors (which do not bubble) stay out.
  const stopError = listen(window, 'error', (e) => {
    const ev = e as ErrorEvent;
    if (typeof ev.message !== 'string') return;
    const where: Record<string, string | number> = {};
    if (ev.filename) where['code.file.path'] = fullUrl(ev.filename, ctx.redact);
    if (ev.lineno) where['code.line.number'] = ev.lineno;
    if (ev.colno) where['code.column.number'] = ev.colno;
    record('error', ev.error ?? ev.message, where);
  }, false);
  const stopRejection = listen(window, 'unhandledrejection', (e) => {
    record('unhandledrejection', (e as PromiseRejectionEvent).reason);
  }, false);
  return () => {
    stopError();
    stopRejection();
  };
}
