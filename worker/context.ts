// Which invocation a global fetch() belongs to. Workers run many requests
// in one isolate, and without nodejs_compat there is no async context, so:
// 1. the invocation whose handler is running synchronously right now: its
//    span is the tracer's active span (instrument runs it inside withSpan);
// 2. else AsyncLocalStorage, where the Worker enables it (nodejs_compat or
//    nodejs_als: process.getBuiltinModule gives it without a static import),
//    which then also carries the tracer's active span and baggage across
//    awaits (src/context.ts), as in Node; a fetch it knows no invocation of
//    (an untraced one's) stays untraced;
// 3. else, without it, the only invocation in flight, if there is exactly
//    one. An invocation is in flight until its waitUntil work settles, or
//    at most WAIT_UNTIL_MS after its handler returned (the runtime has
//    cancelled that work by then); untraced ones count too.
// When several are in flight and none is known, the fetch is not traced:
// a wrong parent would be worse than none. Service bindings reached through
// the handler's env are parented the same way (the env is one for all).
import type { Span } from '../src/types.js';
import { useAsyncContext, type AsyncStorage } from '../src/context.js';
import { now } from '../src/clock.js';

interface Als {
  getStore(): Span | undefined;
  run<R>(store: Span, fn: () => R): R;
}

/** An invocation in flight (internal: `_` names are minified). */
export interface Invocation {
  /** Its SERVER (or timer, consumer) span; undefined when untraced. */
  readonly _span: Span | undefined;
  /** When it stops counting (the clock's ms): unbounded while its handler runs. */
  _until: number;
}

/**
 * Workers cancel waitUntil work 30 s after the response completes (a body
 * streaming on makes that later than the handler's return). The Workers clock
 * stands still during CPU work but advances across I/O, and a later fetch
 * (the only time this is asked) comes after some: a request's arrival at least.
 */
const WAIT_UNTIL_MS = 30_000;
/** At most this many tracked (handlers cancelled before they return never close): the oldest go first. */
const MAX_OPEN = 1024;

let als: Als | null | undefined;
const open = new Set<Invocation>();

/** A new invocation of `span` (undefined: untraced), in flight until `close`. */
export function track(span: Span | undefined): Invocation {
  const t = now();
  for (const i of open) if (i._until <= t) open.delete(i);
  if (open.size >= MAX_OPEN) open.delete(open.values().next().value!);
  const inv: Invocation = { _span: span, _until: Infinity };
  open.add(inv);
  return inv;
}

/** Runs `fn` (the user's handler) as the traced invocation of `span`. */
export function enter<R>(span: Span, fn: () => R): R {
  if (als === undefined) {
    try {
      const m = (globalThis as { process?: { getBuiltinModule?(id: string): { AsyncLocalStorage?: new () => Als } | undefined } }).process?.getBuiltinModule?.('node:async_hooks');
      als = m?.AsyncLocalStorage ? new m.AsyncLocalStorage() : null;
      // The tracer's active span and baggage follow awaits too (nested startActiveSpan, withBaggage).
      if (m?.AsyncLocalStorage) useAsyncContext(new m.AsyncLocalStorage() as AsyncStorage);
    } catch {
      als = null;
    }
  }
  return als ? als.run(span, fn) : fn();
}

/** Its handler has returned: it counts at most WAIT_UNTIL_MS longer. */
export function returned(inv: Invocation): void {
  inv._until = now() + WAIT_UNTIL_MS;
}

export function close(inv: Invocation): void {
  open.delete(inv);
}

/**
 * The invocation span of the code running now by AsyncLocalStorage alone:
 * what the tracer takes as the parent of a span started after an `await`
 * (a guess there would put one request's spans and baggage in another's).
 */
export function exact(): Span | undefined {
  return als?.getStore();
}

/** The invocation span of the code running now, when it can be known (after the active span). */
export function current(): Span | undefined {
  if (als) return als.getStore();
  const t = now();
  let only: Invocation | undefined;
  for (const i of open) {
    if (i._until <= t) continue;
    if (only) return;
    only = i;
  }
  return only?._span;
}
