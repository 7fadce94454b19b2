// Settings the host sets once at start-up, and the counters it reads back.

/** OpenTelemetry's default limits (attributes, events and links per span). */
export let attrCountLimit: i32 = 128;
export let eventCountLimit: i32 = 128;
export let linkCountLimit: i32 = 128;
/** Attributes per event and per link. */
export let nestedAttrLimit: i32 = 128;

/** Time origin as unix nanoseconds; host times are f64 ms relative to it. */
export let originNs: i64 = 0;

/** Sampling threshold (56 bits): keep a trace when its randomness >= threshold. */
export let threshold: u64 = 0;

export function setLimits(attrs: i32, events: i32, links: i32, nested: i32): void {
  attrCountLimit = clamp(attrs, 0, 0xffff);
  eventCountLimit = clamp(events, 0, 0xffff);
  linkCountLimit = clamp(links, 0, 0xffff);
  nestedAttrLimit = clamp(nested, 0, 0xffff);
}

/** Sets the origin from unix milliseconds (e.g. performance.timeOrigin). */
export function setOrigin(unixMs: f64): void {
  if (!isFinite(unixMs) || unixMs < 0) unixMs = 0;
  const whole = Math.floor(unixMs);
  originNs = <i64>whole * 1_000_000 + <i64>Math.round((unixMs - whole) * 1e6);
}

/** Keeps a share `ratio` of traces, decided from the trace id (OTEP 235). */
export function setRatio(ratio: f64): void {
  if (!(ratio > 0)) threshold = MAX_THRESHOLD; // NaN and <= 0: keep none
  else if (ratio >= 1) threshold = 0;
  else threshold = <u64>Math.round((1 - ratio) * <f64>MAX_THRESHOLD);
}

export const MAX_THRESHOLD: u64 = 1 << 56;

/**
 * Relative f64 ms to unix ns; NaN and infinities become the origin. Times
 * before 1970 or past 2262 (what int64 ns hold, and OTLP/JSON's strings
 * say) become the nearest of those.
 */
@inline export function toUnixNs(ms: f64): i64 {
  if (!isFinite(ms)) return originNs;
  const x = ms * 1e6;
  if (x <= <f64>-originNs) return 0;
  // Below the largest by more than an f64's rounding there: the sum cannot wrap.
  if (x >= <f64>(i64.MAX_VALUE - originNs) - 4096) return i64.MAX_VALUE;
  // Math.round, inlined (it is a call in the shrunk build): ties toward +inf.
  const up = Math.ceil(x);
  return originNs + <i64>(up - 0.5 <= x ? up : up - 1.0);
}

@inline function clamp(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}

// Counters of what was dropped, read by the host through `stats`.
export let droppedSpans: i32 = 0; // no free slot, or freed early by a bound of tail sampling
export let droppedData: i32 = 0; // attributes/events/links lost for lack of blocks
export let droppedOversize: i32 = 0; // spans larger than the output buffer

export function countDroppedSpan(n: i32 = 1): void { droppedSpans += n; }
export function countDroppedData(): void { droppedData++; }
export function countOversize(): void { droppedOversize++; }
