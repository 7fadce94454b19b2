// Uncaught errors and unhandled rejections as `exception` events (semantic
// conventions: exception.type, exception.message, exception.stacktrace) on
// the active span, or on a span of their own (`error`, `unhandledrejection`).
// The URLs in them (a script's, the page's) are redacted as url.full is.
// Those kept before ready (early.ts: from the script tag's evaluation or the
// init() call) go the same way first, at the times they happened.
import type { Attributes } from '../types.js';
import type { BrowserContext } from './types.js';
import { fullUrl, type RedactQuery } from '../url.js';
import { internalError, safeString } from '../diag.js';
import { type PageError, pageError, takeErrors } from './early.js';
import { listen, perfNow, redactUrls } from './util.js';

/** New distinct errors recorded at most per minute; more are dropped and counted. */
export const MAX_ERRORS_PER_MINUTE = 30;
/** Distinct errors whose repeats are counted (a page's broken loop throws the same one 60 times a second). */
const MAX_TRACKED = 100;

interface Seen {
  readonly type: string;
  readonly attrs: Attributes;
  n: number;
}

/** `x[key]` of an object, or undefined (also where reading it throws: a Proxy's trap). */
function member(x: unknown, key: 'message' | 'name'): unknown {
  try {
    return x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[key] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An ErrorEvent's filename as `code.file.path`: its URL as url.full is
 * written. Firefox names code run by eval, new Function or a script element's
 * text after what ran it, `https://…/app.js?v=2 line 7 > eval`: that suffix
 * stays as it is, not read as the query's last value. Only the suffix: a
 * `//# sourceURL` may put a space inside the URL itself.
 */
export function filePath(file: string, redact: RedactQuery): string {
  const cut = file.search(/ line \d+ > /);
  return cut < 0 ? fullUrl(file, redact) : fullUrl(file.slice(0, cut), redact) + file.slice(cut);
}

export function instrumentErrors(ctx: BrowserContext): void {
  const seen = new Map<string, Seen>();
  let minute = -1;
  let recent = 0;
  let dropped = 0;
  const record = ([type, exception, file, line, column, at]: PageError): void => {
    const where: Attributes = {};
    if (file) where['code.file.path'] = filePath(file, ctx.redact);
    if (line) where['code.line.number'] = line;
    if (column) where['code.column.number'] = column;
    // Any value's string `message` (an iframe's Error, a rejection with { name, message }) as an Error's: recorded redacted.
    const given = member(exception, 'message');
    const text = typeof given === 'string' ? given : typeof exception === 'string' ? exception : undefined;
    const message = redactUrls(text ?? safeString(exception), ctx.redact);
    // The same error again (message and place) is only counted: sent as wasmtrace.repeats when the page is hidden.
    const key = JSON.stringify([type, message, where['code.file.path'], where['code.line.number'], where['code.column.number']]);
    const again = seen.get(key);
    if (again) return void again.n++;
    const m = Math.floor(perfNow() / 60_000);
    if (m !== minute) [minute, recent] = [m, 0];
    if (recent++ >= MAX_ERRORS_PER_MINUTE) return void dropped++;
    if (seen.size < MAX_TRACKED) seen.set(key, { type, attrs: { ...where, 'exception.message': message }, n: 0 });
    const stack = (exception as { stack?: unknown } | null | undefined)?.stack;
    const own: Attributes = {};
    // Where recordException would write one (span.ts: exceptionAttributes): a string message, or what was thrown when it has no name either (a URL).
    const name = member(exception, 'name');
    if (text !== undefined || typeof name !== 'string' || !name) own['exception.message'] = message;
    if (typeof stack === 'string') own['exception.stacktrace'] = redactUrls(stack, ctx.redact);
    // A remote context's span (withSpan over an extracted one) records nothing: such an error gets a span of its own.
    let active = ctx.tracer.getActiveSpan();
    if (!active?.isRecording()) active = undefined;
    const span = active ?? ctx.tracer.startSpan(type, { attributes: where, startTime: at });
    // On the page's active span, the place goes on the event (a span of its own carries it).
    span.recordException(exception, at, active ? { ...where, ...own } : own);
    span.setStatus({ code: 2, message });
    if (!active) span.end(at);
  };
  const counts = (): void => {
    // Each count is cleared right after its span ends (no call between): ended partway at pagehide, this runs again for the rest.
    for (const s of seen.values()) {
      if (s.n) ctx.tracer.startSpan(s.type, { attributes: { ...s.attrs, 'wasmtrace.repeats': s.n } }).setStatus({ code: 2, message: String(s.attrs['exception.message']) }).end();
      s.n = 0;
    }
    if (dropped) ctx.tracer.startSpan('error', { attributes: { 'wasmtrace.errors_dropped': dropped } }).end();
    dropped = 0;
  };
  ctx.onUnload.push(counts);
  // And at every hide: a hidden page may be discarded with no pagehide (a
  // mobile browser's). On window, capturing, it runs before delivery's
  // listener on the document cuts the last batch.
  listen(window, 'visibilitychange', () => document.visibilityState === 'hidden' && counts());
  // Those before ready first (no span is active now: each gets its own), then the page's from now on.
  const early = takeErrors();
  if (early) {
    dropped += early[1];
    for (const f of early[0]) {
      try {
        record(f);
      } catch (e) {
        internalError(e);
      }
    }
  }
  // Listening without capture: resource load errors (which do not bubble) stay out.
  const live = (e: Event): void => {
    const f = pageError(e);
    if (f) record(f);
  };
  listen(window, 'error', live, false);
  listen(window, 'unhandledrejection', live, false);
}
