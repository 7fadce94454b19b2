// Which invocation a global fetch() belongs to. Workers run many requests
// in one isolate, and without nodejs_compat there is no async context, so:
// 1. the invocation whose handler is running synchronously right now: its
//    span is the tracer's active span (instrument runs it inside withSpan);
// 2. else AsyncLocalStorage, where the Worker enables it (nodejs_compat or
//    nodejs_als: process.getBuiltinModule gives it without a static import),
//    which then also carries the tracer's active span and baggage across
//    awaits (src/context.ts), as in Node;
// 3. else the only invocation in flight, if there is exactly one (an
//    invocation is in flight until its waitUntil work settles; untraced
//    ones count too).
// When several are in flight and none is known, the fetch is not traced:
// a wrong parent would be worse than none. Service bindings reached through
// the handler's env always know their invocation.
import type { Span } from '../src/types.js';
import { useAsyncContext, type AsyncStorage } from '../src/context.js';

interface Als {
  getStore(): Span | undefined;
  run<R>(store: Span, fn: () => R): R;
}

let als: Als | null | undefined;
/** The SERVER (or timer, consumer) span of each invocation in flight. */
const open = new Set<Span>();

/** Runs `fn` (the user's handler) as the invocation of `span`; it stays open until `close`. */
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
  open.add(span);
  return als ? als.run(span, fn) : fn();
}

export function close(span: Span): void {
  open.delete(span);
}

/** Invocations running untraced right now (they have no span, but they are in flight). */
let untracedNow = 0;

/** Runs an untraced invocation's handler, counted as in flight until it settles. */
export async function untraced<R>(fn: () => R): Promise<Awaited<R>> {
  untracedNow++;
  try {
    return await fn();
  } finally {
    untracedNow--;
  }
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
  return exact() ?? (open.size === 1 && untracedNow === 0 ? open.values().next().value : undefined);
}
