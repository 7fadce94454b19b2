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
