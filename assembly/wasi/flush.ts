// When ended spans go out: in batches as they end, and all at shutdown.
import { endedSpans, freeBlockCount, freeSlotCount } from "../core/pool";
import { Exporter, otlpLines } from "./exporter";

let exporter: Exporter = otlpLines;
let batchSize: i32 = 512;

export function setExporter(e: Exporter, batch: i32): void {
  exporter = e;
  batchSize = batch < 1 ? 1 : batch;
}

/** Exports once a batch is full, or when the pool runs low on slots or blocks. */
export function afterEnd(): void {
  if (endedSpans() >= batchSize || freeSlotCount() < 64 || freeBlockCount() < 64) flush();
}

/** Sends every ended span now. */
export function flush(): void {
  if (endedSpans() > 0) exporter(false);
}
