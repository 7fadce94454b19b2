// The one place that reads clocks. Span times cross into Wasm as f64
// milliseconds relative to `timeOrigin()`; Wasm turns them into unix ns.

import { fallback } from './diag.js';

type Now = () => number;

// The global \`performance\` is looked up once: in Chromium that lookup (a
// Window accessor) costs more than the clock read itself, 100-400 ns a call.
const perf = globalThis.performance;
let nowFn: Now = () => perf.now();
let origin = readOrigin();
let replaced = false;

function readOrigin(): number {
  return perf.timeOrigin || Date.now() - perf.now();
}

/**
 * Reads the time origin again, unless `setClock` replaced the clock. For
 * workerd, where `performance.now()` is 0 at module load and equals
 * `Date.now()` inside a request (timeOrigin 0): call it inside a request.
 */
export function resetOrigin(): void {
  if (!replaced) origin = readOrigin();
}

/** Milliseconds since the time origin, from `performance.now()` unless replaced. */
export function now(): number {
  return nowFn();
}

/** The time origin, in unix milliseconds. */
export function timeOrigin(): number {
  return origin;
}

/**
 * Replaces the clock (tests, benchmarks, runtimes with a coarse clock).
 * `originMs` is the unix time in ms at which `fn()` returned 0.
 */
export function setClock(fn: Now, originMs?: number): void {
  // Refused, not taken: a clock that is not a function would fail every span.
  if (typeof fn !== 'function') return void fallback('clock', typeof fn, 'the current clock');
  nowFn = fn;
  replaced = true;
  if (originMs !== undefined) origin = Number.isFinite(originMs) ? originMs : fallback('clock origin', originMs, origin);
}

/** A time as the OpenTelemetry JS API takes one: a Date, a number, or an HrTime `[seconds, nanoseconds]`. */
export const isTime = (x: unknown): boolean =>
  typeof x === 'number' || x instanceof Date || (Array.isArray(x) && x.length === 2 && typeof x[0] === 'number' && typeof x[1] === 'number');

/**
 * A user-given time as ms relative to the origin: a Date, unix ms, an HrTime
 * (unix seconds and nanoseconds), or (as the OpenTelemetry JS API allows) a
 * `performance.now()` value, told apart by being smaller than the origin.
 * Anything else means "now".
 */
export function toRelativeMs(time: unknown): number {
  const t =
    time instanceof Date
      ? time.getTime() - origin
      : typeof time === 'number'
        ? time >= 0 ? (time < origin ? time : time - origin) : NaN
        : isTime(time)
          ? (time as number[])[0]! * 1e3 + (time as number[])[1]! / 1e6 - origin
          : NaN;
  return Number.isFinite(t) ? t : nowFn();
}
