// The one place that reads clocks. Span times cross into Wasm as f64
// milliseconds relative to `timeOrigin()`; Wasm turns them into unix ns.

import { fallback } from './diag.js';

type Now = () => number;

// The global \`performance\` is looked up once: in Chromium that lookup (a
// Window accessor) costs more than the clock read itself, 100-400 ns a call.
const perf = globalThis.performance;
/** The clock in use: ms since `origin`. */
let clock: Now = () => perf.now();
/** The same as ms since `base`: what now() reads. */
let nowFn: Now = clock;
/** The unix ms at which `clock` read 0. */
let origin = readOrigin();
// The origin Wasm takes (unix ms): every time crosses as ms relative to it.
// It follows `origin` until a core takes it; Wasm adds it when it encodes,
// so moving it then would move the spans already recorded: a later origin
// shifts the clock instead.
let base = origin;
let fixed = false;
let replaced = false;

function readOrigin(): number {
  return perf.timeOrigin || Date.now() - perf.now();
}

/** After the clock or its origin changed: now() reads ms since `base`, with no cost while they agree. */
function follow(): void {
  if (!fixed) base = origin;
  const s = origin - base;
  const c = clock;
  nowFn = s ? () => c() + s : c;
}

/**
 * Reads the time origin again, unless `setClock` replaced the clock. For
 * workerd, where `performance.now()` is 0 at module load and equals
 * `Date.now()` inside a request (timeOrigin 0): call it inside a request.
 */
export function resetOrigin(): void {
  if (!replaced) origin = readOrigin();
  follow();
}

/** Milliseconds since the time origin, from `performance.now()` unless replaced. */
export function now(): number {
  return nowFn();
}

/**
 * Now as unix ms on the clock in use: the form of a time kept to give the
 * span API later. A now() reading is ms since an origin that setClock may
 * move before it is used (and then read as unix ms, or shifted).
 */
export const unixNow = (): number => origin + clock();

/** The time origin to configure Wasm with, in unix milliseconds: fixed from the first call on. */
export function timeOrigin(): number {
  fixed = true;
  return base;
}

/**
 * Replaces the clock (tests, benchmarks, runtimes with a coarse clock).
 * `originMs` is the unix time in ms at which `fn()` returned 0.
 */
export function setClock(fn: Now, originMs?: number): void {
  // Refused, not taken: a clock that is not a function would fail every span.
  if (typeof fn !== 'function') return void fallback('clock', typeof fn, 'the current clock');
  clock = fn;
  replaced = true;
  if (originMs !== undefined) origin = Number.isFinite(originMs) ? originMs : fallback('clock origin', originMs, origin);
  follow();
}

/** A time as the OpenTelemetry JS API takes one: a Date, a number, or an HrTime `[seconds, nanoseconds]`. */
export const isTime = (x: unknown): boolean =>
  typeof x === 'number' || x instanceof Date || (Array.isArray(x) && x.length === 2 && typeof x[0] === 'number' && typeof x[1] === 'number');

/** Unix ms of 2001-09-09, or 31.7 years as a clock reading: a number below it (and the origin) is a reading. */
const READING_BELOW = 1e12;

/**
 * A user-given time as ms relative to timeOrigin(): a Date, an HrTime (unix
 * seconds and nanoseconds), or a number — (as the OpenTelemetry JS API
 * allows) a `performance.now()`-style reading of the clock when it is below
 * both the origin and READING_BELOW, negatives included (before the
 * origin), else unix ms. OpenTelemetry JS uses the origin alone, which reads
 * unix ms earlier than the process's start as a reading, decades ahead; here
 * a unix time also stays one when setClock moves the origin past it.
 * Anything else means "now".
 */
export function toRelativeMs(time: unknown): number {
  const t =
    time instanceof Date
      ? time.getTime() - base
      : typeof time === 'number'
        ? (time < Math.min(origin, READING_BELOW) ? time + origin : time) - base
        : isTime(time)
          ? (time as number[])[0]! * 1e3 + (time as number[])[1]! / 1e6 - base
          : NaN;
  return Number.isFinite(t) ? t : nowFn();
}
