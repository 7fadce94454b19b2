// Which invocation a global fetch() belongs to. Workers run many requests
// in one isolate, and without nodejs_compat there is no async context, so:
// 1. the invocation whose handler is running synchronously right now;
// 2. else AsyncLocalStorage, where the Worker enables it (nodejs_compat or
//    nodejs_als: process.getBuiltinModule gives it without a static import);
// 3. else the only invocation in flight, if there is exactly one.
// When several are in flight and none is known, the fetch is not traced:
// a wrong parent would be worse than none. Service bindings reached through
// the handler's env always know their invocation.
import type { Span } from '../src/types.js';

export interface Invocation {
  readonly span: Span;
}

interface Als {
  getStore(): Invocation | undefined;
  run<R>(store: Invocation, fn: () => R): R;
}

let als: Als | null | undefined;
let running: Invocation | undefined;
const open = new Set<Invocation>();

function asyncLocalStorage(): Als | null {
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const m = p?.getBuiltinModule?.('node:async_hooks') as { AsyncLocalStorage?: new () => Als } | undefined;
    return m?.AsyncLocalStorage ? new m.AsyncLocalStorage() : null;
  } catch {
    return null;
  }
}

/** Runs `fn` (the user's handler) as `inv`; `inv` stays open until `close`. */
export function enter<R>(inv: Invocation, fn: () => R): R {
  if (als === undefined) als = asyncLocalStorage();
  open.add(inv);
  const previous = running;
  running = inv;
  try {
    return als ? als.run(inv, fn) : fn();
  } finally {
    running = previous;
  }
}

export function close(inv: Invocation): void {
  open.delete(inv);
}

/** The invocation of the code running now, when it can be known. */
export function current(): Invocation | undefined {
  if (running) return running;
  const stored = als?.getStore();
  if (stored) return stored;
  if (open.size === 1) for (const inv of open) return inv;
  return undefined;
}
