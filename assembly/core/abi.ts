// The module's exports for a JavaScript host: numbers in, numbers out.
// Strings and arrays travel through the IO area; ids come back at IDS.
import { IO, IO_SIZE, STATS } from "./layout";
import { pinSpanId, seedFrom } from "./ids";
import { internBytes, internCount } from "./intern";
import {
  endedSpans, freeBlockCount, freeEncoded, freeSlotCount, initPool, R_STATE,
} from "./pool";
import {
  droppedData, droppedOversize, droppedSpans, setLimits, setOrigin, setRatio,
} from "./config";
import { IDS, setString } from "./span";
import { lastCount, start as outStart } from "./out";

export { attr, end, event, flagError, link, rename, start, status } from "./span";
import { heldSpans, setTail, settle as settleHold } from "./hold";
export { holdDue } from "./hold";
import { threshold } from "./config";

initPool();

/** Address of the IO area the host writes strings into. */
export function io(): usize {
  return IO;
}

/** Bytes of the IO area: the host checks that it matches its own (a module of another release is refused). */
export function ioSize(): i32 {
  return IO_SIZE;
}

/** Address where `start` leaves the ids: trace (16), span (8), flags (1). */
export function ids(): usize {
  return IDS;
}

/** Address of the encoded request that `encode` leaves. */
export function out(): usize {
  return outStart;
}

/**
 * The next span started gets span id (s0, s1) — words of its wire bytes —
 * instead of a new one: a request the host sent before the module was ready
 * already carried it in its traceparent. An all-zero id is ignored.
 */
export function pin(s0: i32, s1: i32): void {
  pinSpanId((<u64><u32>s1 << 32) | <u64><u32>s0);
}

/** Mixes 32 bytes of host entropy, written at `io()`, into the id generator. */
export function seed(): void {
  seedFrom(IO);
}

/** Interns `len` UTF-8 bytes written at `io()`; -1 when the table is full. */
export function intern(len: i32): i32 {
  return internBytes(IO, len);
}

/**
 * Sets the time origin (unix ms; span times are ms relative to it), the
 * head-sampling ratio, and the per-span limits.
 */
export function configure(originMs: f64, ratio: f64, attrs: i32, events: i32, links: i32, nested: i32): void {
  setOrigin(originMs);
  setRatio(ratio);
  setLimits(attrs, events, links, nested);
}

/**
 * Tail sampling: keep traces with an error (`keepErrors`) or whose local root
 * lasted longer than `slowMs`, holding spans at most `maxHoldMs`. Call after
 * `configure`: with a ratio of 1 every trace is kept and nothing is held.
 */
export function sampling(keepErrors: i32, slowMs: f64, maxHoldMs: f64): void {
  setTail(keepErrors != 0, slowMs, maxHoldMs, threshold == 0);
}

/** Decides held traces older than their bound (`all`: every one, at page hide or shutdown). */
export function settle(nowMs: f64, all: i32): void {
  settleHold(nowMs, all != 0);
}

/** Sets a span's tracestate from `len` bytes at `io()`. */
export function tracestate(h: i32, len: i32): i32 {
  return setString(h, R_STATE, len);
}

/** Ended spans waiting to be encoded. */
export function pending(): i32 {
  return endedSpans();
}

/** Frees the spans of the last `encode`: the host holds its bytes. Until then, the next encode writes them again. */
export function commit(): void {
  freeEncoded();
}

/**
 * Fills and returns the counters: spans dropped (no slot), data dropped (no
 * block), spans dropped as oversize, ended spans waiting, free slots, free
 * blocks, interned strings, spans in the last encoded request, spans held
 * by tail sampling.
 */
export function stats(): usize {
  store<i32>(STATS, droppedSpans);
  store<i32>(STATS, droppedData, 4);
  store<i32>(STATS, droppedOversize, 8);
  store<i32>(STATS, endedSpans(), 12);
  store<i32>(STATS, freeSlotCount(), 16);
  store<i32>(STATS, freeBlockCount(), 20);
  store<i32>(STATS, internCount(), 24);
  store<i32>(STATS, lastCount, 28);
  store<i32>(STATS, heldSpans(), 32);
  return STATS;
}
