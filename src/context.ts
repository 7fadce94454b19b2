// The active span: a synchronous slot. startActiveSpan sets it while its
// callback runs; work started synchronously inside (a fetch, say) sees it.
// Continuations after an `await` do not: there is no portable async context.

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

let active: ParentIds | undefined;

export function activeParent(): ParentIds | undefined {
  return active;
}

/** Runs `fn` with `parent` active, restoring the previous one after. */
export function withActive<R>(parent: ParentIds | undefined, fn: () => R): R {
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
 */
export function setActive(parent: ParentIds | undefined): ParentIds | undefined {
  const previous = active;
  active = parent;
  return previous;
}

let baggage: string | undefined;

/** The baggage set by the innermost running withBaggage; undefined outside any. */
export function activeBaggage(): string | undefined {
  return baggage;
}

/** Runs `fn` with `b` (a baggage-string, '' for none) as the active baggage. */
export function withBaggage<R>(b: string, fn: () => R): R {
  const previous = baggage;
  baggage = b;
  try {
    return fn();
  } finally {
    baggage = previous;
  }
}
