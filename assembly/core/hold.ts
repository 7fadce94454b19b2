// Tail sampling. When on, every span is recorded and, once ended, held with
// the other spans of its trace until the trace's local root ends. Then the
// trace is kept if a span failed, if the root was slow, or if the head
// decision (trace-id ratio, or the upstream sampled flag) says so; its held
// spans go to the export queue or are freed. Bounded: 256 traces at once,
// at most `maxHoldMs` each, and the span pool; when a bound is hit the
// oldest undecided trace is decided at once by the head decision.
import {
  S_END, S_FLAGS, S_HOLD, S_NEXT, S_PARENT, S_REMOTE, S_START, S_STATUS, S_TRACE, slotAt,
} from "./layout";
import { freeSlot, pushEnded } from "./pool";

export const HOLD_NONE: i32 = -1; // not held: export when it ends
export const HOLD_DROP: i32 = -2; // not held, head decision was "drop": free when it ends

const TRACES: i32 = 256;
const ENTRY: i32 = 48;
const TABLE: usize = memory.data(TRACES * ENTRY);
// Entry fields.
const E_TRACE: i32 = 0; // 16 bytes
const E_STATE: i32 = 16; // u8
const E_FLAGS: i32 = 17; // u8: F_ERROR, F_HEAD
const E_LIVE: i32 = 20; // i32 spans started and not ended
const E_HEAD: i32 = 24; // i32 first held (ended) slot, -1 none
const E_TAIL: i32 = 28; // i32 last held slot
const E_BORN: i32 = 32; // f64 ms: start of the trace's first local span
const E_HELD: i32 = 40; // i32 spans held
const E_GEN: i32 = 44; // u16 bumped when the entry is reused: a slot's S_HOLD holds index | gen << 16

const FREE: u8 = 0; // never used since the table last emptied: ends a probe
const GONE: u8 = 4; // released: reusable, but a probe goes on past it
const OPEN: u8 = 1;
const KEEP: u8 = 2;
const DROP: u8 = 3;
const F_ERROR: u8 = 1;
const F_HEAD: u8 = 2;

let on: bool = false;
let keepErrors: bool = true;
let slowMs: f64 = 0;
let maxHoldMs: f64 = 30_000;
let openCount: i32 = 0;
let used: i32 = 0; // entries neither FREE nor GONE
let gone: i32 = 0;

/** Turns tail sampling on when there is something to keep beyond the ratio. */
export function setTail(errors: bool, slow: f64, maxHold: f64, ratioIsAll: bool): void {
  keepErrors = errors;
  slowMs = slow > 0 ? slow : 0;
  maxHoldMs = maxHold > 0 ? maxHold : 30_000;
  on = !ratioIsAll && (errors || slowMs > 0);
}

export function tailOn(): bool {
  return on;
}

@inline function entryAt(i: i32): usize {
  return TABLE + <usize>(i * ENTRY);
}

/** Puts a new span's slot under its trace's entry; `head` is the head decision. */
export function join(slot: usize, head: bool, startMs: f64): void {
  const tid = slot + S_TRACE;
  const a = load<u64>(tid);
  const b = load<u64>(tid, 8);
  // Open addressing from the trace id's low bits; a probe ends at a FREE entry.
  if (used == 0 && gone) {
    for (let i = 0; i < TRACES; i++) store<u8>(entryAt(i), FREE, E_STATE);
    gone = 0;
  }
  let free: i32 = -1;
  const start = <i32>(b & <u64>(TRACES - 1));
  for (let k = 0; k < TRACES; k++) {
    const i = (start + k) & (TRACES - 1);
    const e = entryAt(i);
    const state = load<u8>(e, E_STATE);
    if (state == FREE || state == GONE) {
      if (free < 0) free = i;
      if (state == FREE) break;
      continue;
    }
    if (load<u64>(e, E_TRACE) == a && load<u64>(e, E_TRACE + 8) == b) {
      store<i32>(e, load<i32>(e, E_LIVE) + 1, E_LIVE);
      store<i32>(slot, ref(i), S_HOLD);
      return;
    }
  }
  if (free < 0) free = evictOldest();
  if (free < 0) {
    store<i32>(slot, head ? HOLD_NONE : HOLD_DROP, S_HOLD);
    return;
  }
  const e = entryAt(free);
  if (load<u8>(e, E_STATE) == GONE) gone--;
  used++;
  store<u64>(e, a, E_TRACE);
  store<u64>(e, b, E_TRACE + 8);
  store<u8>(e, OPEN, E_STATE);
  store<u8>(e, head ? F_HEAD : 0, E_FLAGS);
  store<i32>(e, 1, E_LIVE);
  store<i32>(e, -1, E_HEAD);
  store<i32>(e, -1, E_TAIL);
  store<f64>(e, startMs, E_BORN);
  store<i32>(e, 0, E_HELD);
  store<u16>(e, load<u16>(e, E_GEN) + 1, E_GEN);
  store<i32>(slot, ref(free), S_HOLD);
  openCount++;
}

/** A slot's reference to entry `i`: index and generation. */
@inline function ref(i: i32): i32 {
  return i | (<i32>load<u16>(entryAt(i), E_GEN) << 16);
}

/** The entry a slot's reference names, or -1 when the entry was reused since. */
@inline function deref(r: i32): i32 {
  const i = r & 0xffff;
  const state = load<u8>(entryAt(i), E_STATE);
  return <i32>load<u16>(entryAt(i), E_GEN) == (r >>> 16) && state != FREE && state != GONE ? i : -1;
}

/** Gives an entry up: probes go on past it, a new trace may take it. */
function release(i: i32): void {
  store<u8>(entryAt(i), GONE, E_STATE);
  used--;
  gone++;
}

/** Marks the span's trace as failed (status ERROR, or an exception recorded). */
export function markError(slot: usize): void {
  const r = load<i32>(slot, S_HOLD);
  const i = r >= 0 ? deref(r) : -1;
  if (i >= 0) {
    const e = entryAt(i);
    store<u8>(e, load<u8>(e, E_FLAGS) | F_ERROR, E_FLAGS);
  }
}

/** An ended span: exported, freed, or held with its trace. */
export function ended(idx: i32): void {
  const slot = slotAt(idx);
  const r = load<i32>(slot, S_HOLD);
  if (r == HOLD_NONE) {
    pushEnded(idx);
    return;
  }
  const i = r >= 0 ? deref(r) : -1;
  if (i < 0) {
    // Not held, or its trace's entry was given up: its own head decision,
    // or its own failure, decides.
    const keep = (load<u8>(slot, S_FLAGS) & 1) != 0 || (keepErrors && load<u8>(slot, S_STATUS) == 2);
    if (keep) pushEnded(idx);
    else freeSlot(idx);
    return;
  }
  const e = entryAt(i);
  store<i32>(e, load<i32>(e, E_LIVE) - 1, E_LIVE);
  const state = load<u8>(e, E_STATE);
  if (state == KEEP) pushEnded(idx);
  else if (state == DROP) freeSlot(idx);
  else {
    store<i32>(slot, -1, S_NEXT);
    const tail = load<i32>(e, E_TAIL);
    if (tail >= 0) store<i32>(slotAt(tail), idx, S_NEXT);
    else store<i32>(e, idx, E_HEAD);
    store<i32>(e, idx, E_TAIL);
    store<i32>(e, load<i32>(e, E_HELD) + 1, E_HELD);
    // The trace's local root: no parent, or a parent in another process.
    if (!load<u64>(slot, S_PARENT) || load<u8>(slot, S_REMOTE)) {
      decide(i, slowMs > 0 && load<f64>(slot, S_END) - load<f64>(slot, S_START) > slowMs);
    }
  }
  const now = load<u8>(e, E_STATE);
  if ((now == KEEP || now == DROP) && load<i32>(e, E_LIVE) <= 0) release(i);
}

/** Decides an open trace and releases its held spans. */
function decide(i: i32, slow: bool): void {
  const e = entryAt(i);
  const flags = load<u8>(e, E_FLAGS);
  const keep = slow || (keepErrors && (flags & F_ERROR) != 0) || (flags & F_HEAD) != 0;
  store<u8>(e, keep ? KEEP : DROP, E_STATE);
  openCount--;
  let s = load<i32>(e, E_HEAD);
  while (s >= 0) {
    const next = load<i32>(slotAt(s), S_NEXT);
    if (keep) pushEnded(s);
    else freeSlot(s);
    s = next;
  }
  store<i32>(e, -1, E_HEAD);
  store<i32>(e, -1, E_TAIL);
  store<i32>(e, 0, E_HELD);
  if (load<i32>(e, E_LIVE) <= 0) release(i);
}

/**
 * Makes room: decides the oldest open trace with what is known (a failure
 * keeps it, else the head decision); if every trace is decided but still has
 * live spans, gives up the oldest entry (its live spans then decide alone).
 * Returns a free entry, or -1.
 */
export function evictOldest(): i32 {
  let oldest: i32 = -1;
  let decided: i32 = -1;
  let born: f64 = Infinity;
  let bornDecided: f64 = Infinity;
  for (let i = 0; i < TRACES; i++) {
    const e = entryAt(i);
    const state = load<u8>(e, E_STATE);
    const t = load<f64>(e, E_BORN);
    if (state == OPEN && t < born) {
      born = t;
      oldest = i;
    } else if ((state == KEEP || state == DROP) && t < bornDecided) {
      bornDecided = t;
      decided = i;
    }
  }
  if (oldest >= 0) {
    decide(oldest, false);
    if (load<u8>(entryAt(oldest), E_STATE) == GONE) return oldest;
  }
  if (decided < 0) decided = oldest;
  if (decided < 0) return -1;
  release(decided);
  return decided;
}

/**
 * Decides traces held too long (`all`: every open trace, as on page hide or
 * shutdown). A trace open for longer than slowMs counts as slow.
 */
export function settle(nowMs: f64, all: bool): void {
  if (!openCount) return;
  for (let i = 0; i < TRACES; i++) {
    const e = entryAt(i);
    if (load<u8>(e, E_STATE) != OPEN) continue;
    const age = nowMs - load<f64>(e, E_BORN);
    if (all || age > maxHoldMs) decide(i, slowMs > 0 && age > slowMs);
  }
}

/** Spans held now (ended, waiting for their trace's decision). */
export function heldSpans(): i32 {
  let n = 0;
  for (let i = 0; i < TRACES; i++) {
    const e = entryAt(i);
    if (load<u8>(e, E_STATE) == OPEN) n += load<i32>(e, E_HELD);
  }
  return n;
}
