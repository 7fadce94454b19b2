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
//
// A fetch nobody awaits (nor gives to waitUntil) is cancelled by workerd
// when its invocation ends, and its promise never settles: its CLIENT span
// would hold a Wasm span slot for the isolate's life. So each fetch span is
// kept with its invocation (the one that parents it), and one still waiting
// UNSETTLED_MS after that invocation closed (or beyond MAX_UNSETTLED of them,
// the oldest first) is ended at the close, marked `wasmtrace.unsettled`.
// Not at the close itself: a streamed body's producer may still be waiting
// for its fetch's answer then (the runtime keeps the invocation while the
// body streams), and its span ends when that answer comes. A handler the
// runtime cancels (a promise that hangs, a client gone) never returns, so
// its span never ends either, and holds its slot and blocks: one still
// running MAX_RUN_MS after it began, or the oldest beyond MAX_RUNNING
// running at once, is ended then, marked the same way.
import type { Span } from '../src/types.js';
import { useAsyncContext, type AsyncStorage } from '../src/context.js';
import { now, unixNow } from '../src/clock.js';

interface Als {
  getStore(): Invocation | undefined;
  run<R>(store: Invocation, fn: () => R): R;
}

/** An invocation in flight (internal: `_` names are minified). */
export interface Invocation {
  /** Its SERVER (or timer, consumer) span; undefined when untraced. */
  readonly _span: Span | undefined;
  /** When it began (the clock's ms). */
  readonly _start: number;
  /** When it stops counting (the clock's ms): unbounded while its handler runs. */
  _until: number;
  /** The CLIENT spans of its fetches that have not settled yet (made on the first). */
  _fetches?: Set<Span>;
}

/**
 * Workers cancel waitUntil work 30 s after the response completes (a body
 * streaming on makes that later than the handler's return). The Workers clock
 * stands still during CPU work but advances across I/O, and a later fetch
 * (the only time this is asked) comes after some: a request's arrival at least.
 */
export const WAIT_UNTIL_MS = 30_000;
/** At most this many tracked: the oldest go first. */
const MAX_OPEN = 1024;
/**
 * At most this many handlers running (not returned) at once: past it the
 * oldest is taken as cancelled. Each holds its span's slot and blocks: 256
 * take about a third of the span pool's 1,664 blocks.
 */
export const MAX_RUNNING = 256;
/**
 * A handler still running this long after it began is taken as cancelled by
 * the runtime: Cloudflare's longest wall time for an invocation (a cron
 * trigger's or a queue consumer's); an HTTP handler's is unbounded only
 * while its client stays connected.
 */
export const MAX_RUN_MS = 15 * 60_000;
/**
 * How long a fetch span may wait for its answer after its invocation closed:
 * longer than Cloudflare waits for an origin's response headers (100 s, then
 * a 524), so a streamed body's producer keeps its span to the answer.
 */
export const UNSETTLED_MS = 120_000;
/** At most this many such spans wait (an eighth of the span pool): beyond, the oldest are ended. */
export const MAX_UNSETTLED = 256;

let als: Als | null | undefined;
const open = new Set<Invocation>();
/** The invocation whose handler runs synchronously now. */
let inside: Invocation | undefined;
/** Fetch spans still waiting after their invocation closed, in the order it did: when (unix ms on the clock). */
const unsettled = new Map<Span, number>();
/**
 * Fetch spans kept with several open invocations (which is theirs is not
 * known): those, and how many are still open. At most MAX_UNSETTLED: beyond,
 * the oldest waits as if they had closed (a handler cancelled before it
 * returns never closes, and would hold all started while it is open).
 */
const shared = new Map<Span, { _of: Invocation[]; _n: number }>();

/** A new invocation of `span` (undefined: untraced), in flight until `close`. */
export function track(span: Span | undefined): Invocation {
  const t = now();
  const unix = unixNow();
  let oldest: Invocation | undefined;
  let running = 0;
  for (const i of open) {
    // One that stopped counting is over since then (the runtime cancelled its work): not since now, which may be long after.
    if (i._until <= t) close(i, unix - (t - i._until));
    // Given up on when it reached MAX_RUN_MS, not now (the isolate may have idled long since).
    else if (i._until === Infinity && i._start <= t - MAX_RUN_MS) drop(i, unix - (t - i._start - MAX_RUN_MS));
    else if (i._until === Infinity && running++ === 0) oldest = i;
  }
  if (running >= MAX_RUNNING) drop(oldest!);
  if (open.size >= MAX_OPEN) drop(open.values().next().value!);
  const u = unix - UNSETTLED_MS;
  for (const [s, at] of unsettled) {
    if (at > u && unsettled.size <= MAX_UNSETTLED) break;
    unsettled.delete(s);
    unsettledEnd(s, at);
  }
  const inv: Invocation = { _span: span, _start: t, _until: Infinity };
  open.add(inv);
  return inv;
}

/** Runs `fn` (the user's handler) as the traced invocation `inv`. */
export function enter<R>(inv: Invocation, fn: () => R): R {
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
  const outer = inside;
  inside = inv;
  try {
    return als ? als.run(inv, fn) : fn();
  } finally {
    inside = outer;
  }
}

/** Its handler has returned: it counts at most WAIT_UNTIL_MS longer. */
export function returned(inv: Invocation): void {
  inv._until = now() + WAIT_UNTIL_MS;
}

/** Ends a span that never settled, marked so, at `at` (unix ms), else now. */
function unsettledEnd(s: Span, at?: number): void {
  s.setAttribute('wasmtrace.unsettled', true);
  s.end(at);
}

/** Stops tracking `i` `at` (unix ms), else now; a handler that has not returned (cancelled, or past the bounds) has its span ended then. */
function drop(i: Invocation, at?: number): void {
  if (i._until === Infinity && i._span) unsettledEnd(i._span, at);
  close(i, at);
}

/** It is over (its waitUntil work settled, or it stopped counting) `at` (unix ms on the clock): its fetches still waiting start their UNSETTLED_MS. */
export function close(inv: Invocation, at = unixNow()): void {
  open.delete(inv);
  if (inv._fetches)
    for (const s of inv._fetches) {
      const h = shared.get(s);
      if (h && --h._n > 0) continue; // another that may be its invocation is still open
      shared.delete(s);
      unsettled.set(s, at);
    }
  inv._fetches = undefined;
}

/**
 * `span`, a fetch's CLIENT span, waits for the fetch: kept with `inv`, the
 * invocation it was started in (`invocation()` then), else with every one in
 * flight. Returns what to call when the fetch settles.
 */
export function awaiting(span: Span, inv: Invocation | undefined): () => void {
  let of: Invocation[];
  // One that stopped counting is over (the next track() closes it back then): a fetch it starts now waits from now.
  if (inv) of = open.has(inv) && inv._until > now() ? [inv] : [];
  else {
    // Not known: a fetch in a span of the user's after an await, with several
    // in flight and no AsyncLocalStorage (the tracer gave it that span as its
    // parent). It is one of theirs: kept with each, it waits once all closed.
    const t = now();
    of = [];
    for (const i of open) if (i._until > t) of.push(i);
  }
  for (const i of of) (i._fetches ??= new Set()).add(span);
  if (of.length > 1) {
    shared.set(span, { _of: of, _n: of.length });
    if (shared.size > MAX_UNSETTLED) {
      const [s, h] = shared.entries().next().value!;
      shared.delete(s);
      for (const i of h._of) i._fetches?.delete(s);
      unsettled.set(s, unixNow());
    }
  }
  // Its invocation already closed (waitUntil work after it settled) or stopped counting, or none is in flight: its UNSETTLED_MS start now.
  if (!of.length) unsettled.set(span, unixNow());
  return () => {
    for (const i of of) i._fetches?.delete(span);
    shared.delete(span);
    unsettled.delete(span);
  };
}

/**
 * The invocation span of the code running now by AsyncLocalStorage alone:
 * what the tracer takes as the parent of a span started after an `await`
 * (a guess there would put one request's spans and baggage in another's).
 */
export function exact(): Span | undefined {
  return als?.getStore()?._span;
}

/**
 * The invocation of the code running now, when it can be known: the one
 * whose handler runs synchronously, else AsyncLocalStorage's, else the only
 * one in flight. Its span parents a fetch when no span is active.
 */
export function invocation(): Invocation | undefined {
  return inside ?? (als ? als.getStore() : only());
}

/** The only invocation in flight, if there is exactly one. */
function only(): Invocation | undefined {
  const t = now();
  let one: Invocation | undefined;
  for (const i of open) {
    if (i._until <= t) continue;
    if (one) return;
    one = i;
  }
  return one;
}
