// The active span and baggage: a synchronous slot. startActiveSpan sets it
// while its callback runs; work started synchronously inside (a fetch, say)
// sees it. Continuations after an `await` do not, as browsers have no async
// context; where the runtime has one, the entry installs it (useAsyncContext:
// Node's AsyncLocalStorage), and they do.

/** Anything that can parent a span: a local span or a remote context. */
export interface ParentIds {
  _t0: number;
  _t1: number;
  _t2: number;
  _t3: number;
  _s0: number;
  _s1: number;
  _f: number;
  _ts: string | undefined;
  /** W3C baggage in header form ('' for none), passed on by inject. */
  _bg: string;
}

/** Node's AsyncLocalStorage, as far as it is used here. */
export interface AsyncStorage {
  getStore(): unknown;
  run<R>(store: unknown, fn: () => R): R;
}

/** What an async context carries: the active parent and the baggage of the innermost withBaggage. */
interface Frame {
  _p: ParentIds | undefined;
  _b: string | undefined;
}

/** The async context, when the entry installed one; else the slots below hold. */
let store: AsyncStorage | undefined;

/** From now on, the active parent and baggage follow `s` (across awaits, timers and promise chains). */
export function useAsyncContext(s: AsyncStorage): void {
  store = s;
}

const frame = (s: AsyncStorage): Frame | undefined => s.getStore() as Frame | undefined;

let active: ParentIds | undefined;

export function activeParent(): ParentIds | undefined {
  return store ? frame(store)?._p : active;
}

/** Runs `fn` with `parent` active, restoring the previous one after. */
export function withActive<R>(parent: ParentIds | undefined, fn: () => R): R {
  if (store) return store.run({ _p: parent, _b: frame(store)?._b } satisfies Frame, fn);
  const previous = active;
  active = parent;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/**
 * Sets the active parent until changed again; returns the previous one. For
 * callers that cannot wrap the work in a function (a browser event dispatch,
 * whose listeners run one by one, with the slot cleared when the task ends).
 * The synchronous slot only: browsers have no async context.
 */
export function setActive(parent: ParentIds | undefined): ParentIds | undefined {
  const previous = active;
  active = parent;
  return previous;
}

let baggage: string | undefined;

/** The baggage set by the innermost running withBaggage; undefined outside any. */
export function activeBaggage(): string | undefined {
  return store ? frame(store)?._b : baggage;
}

/** Runs `fn` with `b` (a baggage-string, '' for none) as the active baggage. */
export function withBaggage<R>(b: string, fn: () => R): R {
  if (store) return store.run({ _p: frame(store)?._p, _b: b } satisfies Frame, fn);
  const previous = baggage;
  baggage = b;
  try {
    return fn();
  } finally {
    baggage = previous;
  }
}
