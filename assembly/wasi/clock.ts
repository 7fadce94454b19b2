// The one place that reads clocks. Span times cross into the core as f64
// milliseconds relative to the time origin (unix ms, read once at start).
import { clockNs } from "./sys";

let monoStartNs: i64 = 0;
let originNs: i64 = 0;
let originMs: f64 = 0;

/** Reads the clocks once; returns the time origin in unix milliseconds. */
export function startClock(): f64 {
  originNs = clockNs(0);
  monoStartNs = clockNs(1);
  return originMs = <f64>originNs / 1e6;
}

/** The largest nowMs() returned so far. */
let lastMs: f64 = 0;

/**
 * Milliseconds since the time origin, from the monotonic clock where the
 * runtime has one; never less than it said before. A clock call that fails
 * (clockNs 0) reads as the last time, not as the origin's distance before
 * 0, and the realtime clock stepped back (no monotonic one) as the last time
 * too: a time that jumped back would put every export in the past of a
 * pause (`coolUntil`) and lose it.
 */
export function nowMs(): f64 {
  const ns = clockNs(monoStartNs ? 1 : 0);
  if (ns) {
    const t = <f64>(ns - (monoStartNs ? monoStartNs : originNs)) / 1e6;
    if (t > lastMs) lastMs = t;
  }
  return lastMs;
}

/** Unix ms of 2001-09-09: a smaller time (and smaller than the origin) is ms since the origin, as JS reads a number. */
const READING_BELOW: f64 = 1e12;

/**
 * A time given to the API as ms since the time origin, read as JS reads a
 * number (src/clock.ts toRelativeMs): ms since the origin (negatives
 * before it) when below both the origin and READING_BELOW, else unix ms;
 * NaN and infinities: now.
 */
export function toRelativeMs(time: f64): f64 {
  const t = time < min(originMs, READING_BELOW) ? time : time - originMs;
  return isFinite(t) ? t : nowMs();
}
