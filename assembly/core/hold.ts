// Tail sampling. When on, every span is recorded and, once ended, held with
// the other spans of its trace (unless the head decision keeps the trace: then
// it leaves at once) until the trace is complete here: a local
// root has ended and no span of the trace is live. Then the trace is kept if
// a span failed, if a local root was slow, or if the head decision (trace-id
// ratio, or the upstream sampled flag) says so; its held spans go to the
// export queue or are freed. Bounded: a trace waits at most `maxHoldMs`, and
// at most HOLD_MAX spans wait at once; past either bound (or with the span
// pool full) the oldest waiting trace is decided with what is known. If one
// decided so turns out failed or slow later, its later spans are kept and the
// ones the early decision freed are counted as dropped spans. Slowness is a
// local root's own duration: spans of a trace whose local root this entry
// never saw (a late child of a trace decided before) follow the head
// decision, or their failure, unless tail sampling kept the trace here
// recently (at most 128 remembered): then they are kept at once.
import {
  SLOTS, S_END, S_FAILED, S_FLAGS, S_HOLD, S_NEXT, S_PARENT, S_REMOTE, S_START, S_TRACE, slotAt,
} from "./layout";
import { freeSlot, pushEnded } from "./pool";
import { countDroppedSpan } from "./config";

export const HOLD_NONE: i32 = -1; // not held: export when it ends
export const HOLD_DROP: i32 = -2; // not held, head decision was "drop": free when it ends

// One entry per span slot: an entry is in use only while a span of its trace
// is live or held, so the table is never full before the pool is.
const TRACES: i32 = SLOTS; // a power of two
/** Spans held at most: half the pool, the rest for live spans and the export queue. */
const HOLD_MAX: i32 = SLOTS / 2;
const ENTRY: i32 = 40;
const TABLE: usize = memory.data(TRACES * ENTRY);
// Entry fields (counts and slot indexes are below SLOTS).
const E_TRACE: i32 = 0; // 16 bytes
const E_STATE: i32 = 16; // u8
const E_FLAGS: i32 = 17; // u8: F_*
const E_GEN: i32 = 18; // u16 bumped when the entry is reused: a slot's S_HOLD holds index | gen << 16
const E_LIVE: i32 = 20; // u16 spans started and not ended
const E_HELD: i32 = 22; // u16 spans held
const E_HEAD: i32 = 24; // i16 first held (ended) slot, -1 none
const E_TAIL: i32 = 26; // i16 last held slot
const E_FREED: i32 = 28; // u16 held spans an early "drop" freed
const E_ROOT: i32 = 30; // i16 slot of a live local root (the first to start), -1 none
const E_BORN: i32 = 32; // f64 ms: start of the trace's first local span

const FREE: u8 = 0; // ends a probe
const GONE: u8 = 4; // released: reusable, but a probe goes on past it
const OPEN: u8 = 1;
const KEEP: u8 = 2;
const DROP: u8 = 3;
const F_ERROR: u8 = 1;
const F_HEAD: u8 = 2;
const F_ROOT: u8 = 4; // a local root has ended
const F_SLOW: u8 = 8; // a local root was slow

// Traces kept by tail sampling alone (not by the head decision), remembered
// as their entries are released: 16 sets of the last 8 kept whose ids hash
// there, 128 in all (so the last 8 kept are always known). A full set
// forgets its oldest. A set, not one ring: a new trace looks at 8, not 128.
const KEPT_WAYS: i32 = 8;
const KEPT: usize = memory.data(16 * KEPT_WAYS * 16);

let on: bool = false;
let keepErrors: bool = true;
let slowMs: f64 = 0;
let maxHoldMs: f64 = 30_000;
let openCount: i32 = 0;
let used: i32 = 0; // entries neither FREE nor GONE
let gone: i32 = 0;
let held: i32 = 0;

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

/** A local root: no parent, or a parent that is not a span of this tracer (S_REMOTE bit 1; WASI's bit 0). */
@inline function localRoot(slot: usize): bool {
  return !load<u64>(slot, S_PARENT) || load<u8>(slot, S_REMOTE) != 0;
}

@inline function hash(a: u64, b: u64): i32 {
  return <i32>(((a ^ b) * 0x9e3779b97f4a7c15) >>> 32);
}

/** Puts a new span's slot (index `idx`) under its trace's entry; `head` is the head decision. */
export function join(idx: i32, head: bool, startMs: f64): void {
  const slot = slotAt(idx);
  const root = localRoot(slot);
  const a = load<u64>(slot, S_TRACE);
  const b = load<u64>(slot, S_TRACE + 8);
  // Open addressing from a hash of the trace id; a probe ends at a FREE entry.
  if (used == 0 && gone) {
    for (let i = 0; i < TRACES; i++) store<u8>(entryAt(i), FREE, E_STATE);
    gone = 0;
  }
  let free: i32 = -1;
  const start = hash(a, b);
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
      store<u16>(e, load<u16>(e, E_LIVE) + 1, E_LIVE);
      if (root && load<i16>(e, E_ROOT) < 0) store<i16>(e, <i16>idx, E_ROOT);
      store<i32>(slot, ref(i), S_HOLD);
      return;
    }
  }
  if (!head && wasKept(a, b, start)) {
    // A late span of a trace kept here before: exported when it ends.
    store<i32>(slot, HOLD_NONE, S_HOLD);
    return;
  }
  if (free < 0) {
    // (Not reached: the table has an entry per slot.) Decided alone when it ends.
    store<i32>(slot, head ? HOLD_NONE : HOLD_DROP, S_HOLD);
    return;
  }
  const e = entryAt(free);
  if (load<u8>(e, E_STATE) == GONE) gone--;
  used++;
  store<u64>(e, a, E_TRACE);
  store<u64>(e, b, E_TRACE + 8);
  // The head decision keeps a trace whatever follows: its spans leave as they end.
  store<u8>(e, head ? KEEP : OPEN, E_STATE);
  store<u8>(e, head ? F_HEAD : 0, E_FLAGS);
  store<u16>(e, load<u16>(e, E_GEN) + 1, E_GEN);
  store<u16>(e, 1, E_LIVE);
  store<u16>(e, 0, E_HELD);
  store<i16>(e, -1, E_HEAD);
  store<i16>(e, -1, E_TAIL);
  store<i16>(e, root ? <i16>idx : -1, E_ROOT);
  store<f64>(e, startMs, E_BORN);
  store<i32>(slot, ref(free), S_HOLD);
  if (!head) openCount++;
}

/** Where the set of kept traces for a trace id's hash `h` starts: its top 4 bits pick one of 16. */
@inline function keptSet(h: i32): usize {
  return KEPT + <usize>((h >>> 28) * KEPT_WAYS * 16);
}

/** Whether trace id (a, b), of hash `h`, was kept here recently. */
function wasKept(a: u64, b: u64, h: i32): bool {
  const p = keptSet(h);
  for (let k = 0; k < KEPT_WAYS * 16; k += 16) {
    if (load<u64>(p + k) == a && load<u64>(p + k, 8) == b) return true;
  }
  return false;
}

/** Remembers entry `e`'s trace as kept, first in its set (a trace id is never zero, as unused ways are). */
function remember(e: usize): void {
  const a = load<u64>(e, E_TRACE);
  const b = load<u64>(e, E_TRACE + 8);
  const p = keptSet(hash(a, b));
  memory.copy(p + 16, p, (KEPT_WAYS - 1) * 16);
  store<u64>(p, a);
  store<u64>(p, b, 8);
}

/** A slot's reference to entry `i`: index and generation. */
@inline function ref(i: i32): i32 {
  return i | (<i32>load<u16>(entryAt(i), E_GEN) << 16);
}

/** The entry a slot's reference names, or -1 when it names none (HOLD_*) or the entry was reused since. */
@inline function deref(r: i32): i32 {
  const i = r & 0xffff; // a generation from 0x8000 makes `r` negative
  if (i >= TRACES) return -1;
  const state = load<u8>(entryAt(i), E_STATE);
  return <i32>load<u16>(entryAt(i), E_GEN) == (r >>> 16) && state != FREE && state != GONE ? i : -1;
}

/**
 * Gives an entry up for a new trace. Before a FREE entry it is FREE too (no
 * probe goes past it to a used one), and so are the GONE ones just before it:
 * probes stay short while the table never empties.
 */
function release(i: i32): void {
  const e = entryAt(i);
  if (load<u8>(e, E_STATE) == KEEP && !(load<u8>(e, E_FLAGS) & F_HEAD)) remember(e);
  used--;
  const mask = TRACES - 1;
  if (load<u8>(entryAt((i + 1) & mask), E_STATE) != FREE) {
    store<u8>(e, GONE, E_STATE);
    gone++;
    return;
  }
  store<u8>(e, FREE, E_STATE);
  for (let j = (i - 1) & mask; load<u8>(entryAt(j), E_STATE) == GONE; j = (j - 1) & mask) {
    store<u8>(entryAt(j), FREE, E_STATE);
    gone--;
  }
}

/** Marks a span, and its trace, as failed (status ERROR, or an exception recorded). */
export function markError(slot: usize): void {
  store<u8>(slot, 1, S_FAILED);
  const i = deref(load<i32>(slot, S_HOLD));
  if (i < 0) return;
  const e = entryAt(i);
  store<u8>(e, load<u8>(e, E_FLAGS) | F_ERROR, E_FLAGS);
  if (keepErrors) rescue(e);
}

/**
 * A trace a bound decided "drop" before it was complete turns out to be
 * kept: its later spans are exported, and the held ones that decision freed
 * are counted as dropped.
 */
function rescue(e: usize): void {
  if (load<u8>(e, E_STATE) != DROP) return;
  store<u8>(e, KEEP, E_STATE);
  countDroppedSpan(<i32>load<u16>(e, E_FREED));
}

/** An ended span: exported, freed, or held with its trace. */
export function ended(idx: i32): void {
  const slot = slotAt(idx);
  const r = load<i32>(slot, S_HOLD);
  if (r == HOLD_NONE) {
    pushEnded(idx);
    return;
  }
  const i = deref(r);
  if (i < 0) {
    // Not held: its own head decision, or its own failure, decides.
    if ((load<u8>(slot, S_FLAGS) & 1) != 0 || (keepErrors && load<u8>(slot, S_FAILED))) pushEnded(idx);
    else freeSlot(idx);
    return;
  }
  const e = entryAt(i);
  const live = <i32>load<u16>(e, E_LIVE) - 1;
  store<u16>(e, <u16>live, E_LIVE);
  if (localRoot(slot)) {
    if (<i32>load<i16>(e, E_ROOT) == idx) store<i16>(e, -1, E_ROOT);
    let flags = load<u8>(e, E_FLAGS) | F_ROOT;
    if (slowMs > 0 && load<f64>(slot, S_END) - load<f64>(slot, S_START) > slowMs) {
      flags |= F_SLOW;
      rescue(e);
    }
    store<u8>(e, flags, E_FLAGS);
  }
  const state = load<u8>(e, E_STATE);
  if (state == KEEP) pushEnded(idx);
  else if (state == DROP) freeSlot(idx);
  else {
    store<i32>(slot, -1, S_NEXT);
    const tail = <i32>load<i16>(e, E_TAIL);
    if (tail >= 0) store<i32>(slotAt(tail), idx, S_NEXT);
    else store<i16>(e, <i16>idx, E_HEAD);
    store<i16>(e, <i16>idx, E_TAIL);
    store<u16>(e, load<u16>(e, E_HELD) + 1, E_HELD);
    held++;
    // Complete here: decided. Else it waits, within the bound on held spans.
    if (!live && (load<u8>(e, E_FLAGS) & F_ROOT)) decide(i, false);
    else if (held > HOLD_MAX) evictOldest();
    return;
  }
  if (!live) release(i);
}

/** Decides an open trace and releases its held spans. */
function decide(i: i32, slow: bool): void {
  const e = entryAt(i);
  const flags = load<u8>(e, E_FLAGS);
  const keep = slow || (flags & (F_SLOW | F_HEAD)) != 0 || (keepErrors && (flags & F_ERROR) != 0);
  store<u8>(e, keep ? KEEP : DROP, E_STATE);
  openCount--;
  const n = load<u16>(e, E_HELD);
  held -= n;
  store<u16>(e, keep ? 0 : n, E_FREED);
  let s = <i32>load<i16>(e, E_HEAD);
  while (s >= 0) {
    const next = load<i32>(slotAt(s), S_NEXT);
    if (keep) pushEnded(s);
    else freeSlot(s);
    s = next;
  }
  store<i16>(e, -1, E_HEAD);
  store<i16>(e, -1, E_TAIL);
  store<u16>(e, 0, E_HELD);
  if (!load<u16>(e, E_LIVE)) release(i);
}

/** The open trace holding spans that started first, or -1. */
function oldestHolding(): i32 {
  let oldest: i32 = -1;
  let born: f64 = Infinity;
  for (let i = 0; i < TRACES; i++) {
    const e = entryAt(i);
    if (load<u8>(e, E_STATE) == OPEN && load<u16>(e, E_HELD) && load<f64>(e, E_BORN) < born) {
      born = load<f64>(e, E_BORN);
      oldest = i;
    }
  }
  return oldest;
}

/**
 * Makes room (too many spans held, or the pool full): decides the oldest
 * trace holding spans with what is known (a failure keeps it, else the head
 * decision). Decided traces are never given up while they have live spans.
 */
export function evictOldest(): void {
  const i = oldestHolding();
  if (i >= 0) decide(i, false);
}

/** When the oldest trace holding spans reaches maxHoldMs (ms), or -1 when none is held. */
export function holdDue(): f64 {
  const i = held ? oldestHolding() : -1;
  return i < 0 ? -1 : load<f64>(entryAt(i), E_BORN) + maxHoldMs;
}

/**
 * Decides traces held too long (`all`: every open trace, as on page hide or
 * shutdown). A trace whose local root is still live and has lasted longer
 * than slowMs counts as slow; without one, age proves nothing.
 */
export function settle(nowMs: f64, all: bool): void {
  if (!openCount) return;
  for (let i = 0; i < TRACES; i++) {
    const e = entryAt(i);
    if (load<u8>(e, E_STATE) != OPEN) continue;
    if (!all && nowMs - load<f64>(e, E_BORN) <= maxHoldMs) continue;
    const root = <i32>load<i16>(e, E_ROOT);
    decide(i, slowMs > 0 && root >= 0 && nowMs - load<f64>(slotAt(root), S_START) > slowMs);
  }
}

/** Spans held now (ended, waiting for their trace's decision). */
export function heldSpans(): i32 {
  return held;
}
