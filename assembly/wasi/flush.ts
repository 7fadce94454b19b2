// When ended spans go out: in batches as they end, and all at shutdown. Spans
// tail sampling holds leave with their trace's decision; WASI has no timer,
// so traces held past maxHoldMs are decided as spans end and at each flush.
import { endedSpans, freeBlockCount, freeSlotCount } from "../core/pool";
import { heldSpans, holdDue, settle } from "../core/hold";
import { Exporter, otlpLines } from "./exporter";
import { nowMs } from "./clock";

let exporter: Exporter = otlpLines;
let batchSize: i32 = 512;
/** When the oldest trace holding spans reaches maxHoldMs (ms), as last read; -1: not read. */
let due: f64 = -1;

export function setExporter(e: Exporter, batch: i32): void {
  exporter = e;
  batchSize = batch < 1 ? 1 : batch;
}

/** Exports once a batch is full, or when the pool runs low on slots or blocks; `now` is the time (ms). */
export function afterEnd(now: f64): void {
  if (heldSpans()) settleDue(now);
  if (endedSpans() >= batchSize || freeSlotCount() < 64 || freeBlockCount() < 64) flush();
}

/** Sends every ended span now. */
export function flush(): void {
  if (heldSpans()) settleDue(nowMs());
  if (endedSpans() > 0) exporter(false);
}

/**
 * Decides the traces held past maxHoldMs once the oldest is due. The hold
 * is scanned only then, and to learn when that is, as JS sets one timer
 * for the oldest.
 */
function settleDue(now: f64): void {
  if (due < 0) due = holdDue();
  if (due < 0 || now < due) return;
  settle(now, false);
  due = holdDue();
}
