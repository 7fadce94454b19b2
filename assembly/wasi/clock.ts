// The one place that reads clocks. Span times cross into the core as f64
// milliseconds relative to the time origin (unix ms, read once at start).
import { clockNs } from "./sys";

let monoStartNs: i64 = 0;
let originNs: i64 = 0;

/** Reads the clocks once; returns the time origin in unix milliseconds. */
export function startClock(): f64 {
  originNs = clockNs(0);
  monoStartNs = clockNs(1);
  return <f64>originNs / 1e6;
}

/** Milliseconds since the time origin, from the monotonic clock where the runtime has one. */
export function nowMs(): f64 {
  if (monoStartNs) return <f64>(clockNs(1) - monoStartNs) / 1e6;
  return <f64>(clockNs(0) - originNs) / 1e6;
}
