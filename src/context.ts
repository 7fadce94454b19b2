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

/** What is in effect: the active parent and the baggage of the innermost withBaggage. */
export interface Frame {
  _p: ParentIds | undefined;
  _b: string | undefined;
}

/** The synchronous slot: the frame of the innermost running withActive/withBaggage. */
let slot: Frame | undefined;

let store: AsyncStorage = {
  getStore: () => slot,
  run(frame, fn) {
    const previous = slot;
    slot = frame as Frame;
    try {
      return fn();
    } finally {
      slot = previous;
    }
  },
};

/** From now on, the active parent and baggage follow `s` (across awaits, timers and promise chains). */
export function useAsyncContext(s: AsyncStorage): void {
  store = s;
}

/** The frame in effect (one read, for a caller that needs both its parent and its baggage). */
export const frame = (): Frame | undefined => store.getStore() as Frame | undefined;

export function activeParent(): ParentIds | undefined {
  return frame()?._p;
}

/** Runs `fn` with `parent` active, restoring the previous one after. */
export function withActive<R>(parent: ParentIds | undefined, fn: () => R): R {
  return store.run({ _p: parent, _b: frame()?._b } satisfies Frame, fn);
}

/**
 * Sets the active parent until changed again; returns the previous one. For
 * callers that cannot wrap the work in a function (a browser event dispatch,
 * whose listeners run one by one, with the slot cleared when the task ends).
 * The synchronous slot only: browsers have no async context.
 */
export function setActive(parent: ParentIds | undefined): ParentIds | undefined {
  const previous = slot?._p;
  slot = { _p: parent, _b: slot?._b };
  return previous;
}

/** The baggage set by the innermost running withBaggage; undefined outside any. */
export function activeBaggage(): string | undefined {
  return frame()?._b;
}

/** Runs `fn` with `b` (a baggage-string, '' for none) as the active baggage. */
export function withBaggage<R>(b: string, fn: () => R): R {
  return store.run({ _p: frame()?._p, _b: b } satisfies Frame, fn);
}
