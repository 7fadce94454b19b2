// Span operations called by the host. Every call takes and returns numbers
// only; strings arrive in the IO area. Bad handles and full buffers are
// answered with a status code, never a trap.
import {
  BLOCK_SIZE, IDS, IO, IO_SIZE, MAX_SPAN_BYTES, SLOTS, S_BYTES, S_TAIL, S_TAILOFF, S_DATTR, S_DEVENT, S_DLINK, S_END, S_FLAGS, S_GEN, S_KIND,
  S_NAME, S_NATTR, S_NESTED, S_NEVENT, S_NLINK, S_PARENT, S_REMOTE, S_SPAN, S_START,
  S_HOLD, S_KEYS, S_STATE, S_STATUS, S_TRACE, STATE_ENDED, STATE_LIVE, blockAt, slotAt,
} from "./layout";
import {
  H_ATTR, H_EVENT, H_LINK, H_STR, R_ATTR, R_DEAD, R_EVENT, R_LINK, R_NAME, R_NATTR, R_STATUS,
  allocSlot, commitHeader, freeSlotCount, findRecord, nextRecord, openRecords, payloadStarts, readPayload, peekFreeBlock,
  reserve, skipHeader, skipRecord, writePayload,
} from "./pool";
import { newSpanId, newTraceId, randomness } from "./ids";
import { internLen, internPtr, isInterned } from "./intern";
import { kvEncode } from "./kv";
import { HOLD_NONE, ended, evictOldest, heldSpans, join, markError, tailOn } from "./hold";
import { KV, KV_SIZE, kvKey, kvTarget } from "./out";
import {
  attrCountLimit, countDroppedData, countDroppedSpan, eventCountLimit, linkCountLimit,
  nestedAttrLimit, threshold,
} from "./config";

// Attribute value types.
export const V_STR: u8 = 1;
export const V_BOOL: u8 = 2;
export const V_INT: u8 = 3;
export const V_DBL: u8 = 4;
export const V_STRID: u8 = 5; // interned string, id in the number field
export const V_ARR_STR: u8 = 6; // payload: [u16 len][bytes] per element
export const V_ARR_BOOL: u8 = 7; // payload: u8 per element
export const V_ARR_INT: u8 = 8; // payload: f64 per element, integral (no BigInt at the boundary)
export const V_ARR_DBL: u8 = 9; // payload: f64 per element
// A null array element (kept as an empty AnyValue): a string's length, a
// bool's byte, a number's bits (a NaN that JavaScript does not make).
export const NULL_STR: i32 = 0xffff;
export const NULL_BOOL: u8 = 2;
export const NULL_NUM: u64 = -1;

/** Added to a key id: the attribute belongs to the span's last event or link. */
export const NESTED: i32 = 1 << 24;

// Results of the span calls.
export const OK: i32 = 1;
export const INVALID: i32 = 0; // unknown or ended handle, bad argument
export const LIMITED: i32 = -1; // over a count limit: dropped and counted
export const FULL: i32 = -2; // no room left: dropped and counted
export const HELD: i32 = 2; // end: OK, and spans are held for their trace's decision

export { IDS }; // the WASI library reads the ids here

const INDEX_BITS: i32 = 12;
const INDEX_MASK: i32 = (1 << INDEX_BITS) - 1;

/** The resource is slot 0; its handle is 0. */
export const RESOURCE: i32 = 0;

/** The slot address of a live span handle (or the resource), else 0. */
export function slotOf(h: i32): usize {
  return liveSlot(h);
}

/** slotOf, inlined where every span calls it (attr, end). */
@inline function liveSlot(h: i32): usize {
  const i = h & INDEX_MASK;
  if (h < 0 || i >= SLOTS) return 0;
  const slot = slotAt(i);
  if (i == 0) return h == 0 ? slot : 0;
  if (<i32>load<u16>(slot, S_GEN) != (h >>> INDEX_BITS)) return 0;
  if (load<u8>(slot, S_STATE) != STATE_LIVE) return 0;
  return slot;
}

/**
 * Starts a span. A parent is given by its trace id words (t0..t3, all zero for
 * a new trace) and span id words (p0, p1); `flags` holds the parent's trace
 * flags, plus 0x100 when the parent is marked remote and 0x200 when it is not a
 * span of this tracer (a context given or copied: a local root). The new ids
 * are written at IDS. Returns a handle, -1 when the trace is not sampled, or
 * FULL when no slot is free (the span is dropped and counted).
 */
export function start(
  nameId: i32, kind: i32, flags: i32,
  t0: i32, t1: i32, t2: i32, t3: i32, p0: i32, p1: i32, startMs: f64,
): i32 {
  const root = (t0 | t1 | t2 | t3) == 0;
  if (root) {
    newTraceId(IDS);
    flags = randomness(IDS) >= threshold ? 1 : 0;
  } else {
    store<i32>(IDS, t0);
    store<i32>(IDS, t1, 4);
    store<i32>(IDS, t2, 8);
    store<i32>(IDS, t3, 12);
  }
  if (!isFinite(startMs)) startMs = 0;
  newSpanId(IDS + 16);
  store<u8>(IDS, <u8>flags, 24);
  const head = (flags & 1) != 0;
  const tail = tailOn();
  if (!head && !tail) return -1;
  if (tail && !freeSlotCount()) evictOldest(); // the hold gives way before a new span is dropped
  const i = allocSlot();
  if (i < 0) {
    countDroppedSpan();
    return FULL;
  }
  const slot = slotAt(i);
  store<i32>(slot, HOLD_NONE, S_HOLD);
  store<u64>(slot, load<u64>(IDS), S_TRACE);
  store<u64>(slot, load<u64>(IDS, 8), S_TRACE + 8);
  store<u64>(slot, load<u64>(IDS, 16), S_SPAN);
  if (!root) {
    store<i32>(slot, p0, S_PARENT);
    store<i32>(slot, p1, S_PARENT + 4);
    store<u8>(slot, (flags >> 8) & 3, S_REMOTE);
  }
  store<u8>(slot, <u8>flags, S_FLAGS);
  store<f64>(slot, startMs, S_START);
  store<i32>(slot, isInterned(nameId) ? nameId : -1, S_NAME);
  store<u8>(slot, <u8>(kind >= 0 && kind <= 4 ? kind + 1 : 1), S_KIND);
  store<u8>(slot, STATE_LIVE, S_STATE);
  if (tail) join(i, head, startMs);
  return (<i32>load<u16>(slot, S_GEN) << INDEX_BITS) | i;
}

/**
 * Added to a key's UTF-8 length in place of a key id: the key was not
 * interned (the table is full, or it is long) and its bytes follow the
 * value's `len` bytes in the IO area.
 */
export const INLINE: i32 = 1 << 25;
/** The header's key field for an inline key: this bit plus 15 bits of the key's hash. */
const INLINE_KEY: i32 = 0x8000;

/**
 * Sets an attribute. `vtype` says how the value arrives: a number in `num`
 * (bool, int, double, interned string id, array element count) and/or `len`
 * payload bytes in the IO area (string, array elements). The key is an
 * interned id, or INLINE plus its length. The value is encoded now, in the
 * module's wire format, and stored as the record payload. Lengths past the
 * IO area mean the value (or key) did not fit there: dropped and counted.
 */
export function attr(h: i32, keyId: i32, vtype: i32, num: f64, len: i32): i32 {
  const slot = liveSlot(h);
  if (!slot || vtype < <i32>V_STR || vtype > <i32>V_ARR_DBL) return INVALID;
  if (vtype == <i32>V_STRID && !isInterned(<i32>num)) return INVALID;
  const nested = (keyId & NESTED) != 0;
  const owner = nested ? <usize>load<i32>(slot, S_NESTED) : 0;
  if (nested && !owner) return INVALID;
  const key = keyId & ~NESTED;
  let kp: usize;
  let kl: i32;
  let k16 = key;
  if (isInterned(key)) {
    if (<u32>len > <u32>IO_SIZE) return dropped(nested ? owner + 6 : slot + S_DATTR, FULL);
    kp = internPtr(key);
    kl = internLen(key);
  } else {
    kl = key ^ INLINE; // its length, 1 to 0xffffff
    if (<u32>(kl - 1) >= 0xffffff) return INVALID;
    if (<u64><u32>len + <u64>kl > <u64>IO_SIZE) return dropped(nested ? owner + 6 : slot + S_DATTR, FULL);
    kp = IO + <usize>len;
    k16 = INLINE_KEY | (keyHash(kp, kl) & 0x7fff);
  }
  let replaced: usize = 0;
  let late = false; // an inline key that may be set already: looked up once encoded
  // The span limits are not the resource's (the specification exempts it): its bound is its bytes.
  const countLimit = h == RESOURCE ? 0xffff : attrCountLimit;
  if (nested) {
    if (<i32>load<u16>(owner, 2) >= nestedAttrLimit) return dropped(owner + 6, LIMITED);
  } else {
    const bit: u32 = 1 << (<u32>k16 & 31);
    const keys = load<u32>(slot, S_KEYS);
    if (keys & bit) {
      // only when the key may be set already
      if (k16 & INLINE_KEY) late = true;
      else replaced = findAttr(slot, k16, 0, 0);
    } else {
      store<u32>(slot, keys | bit, S_KEYS);
    }
    if (!replaced && !late && <i32>load<u16>(slot, S_NATTR) >= countLimit) return dropped(slot + S_DATTR, LIMITED);
  }
  const vlen = vtype == <i32>V_STR || vtype >= <i32>V_ARR_STR ? len : 0;
  // Encode straight into where the record's payload will go when it fits in
  // one block: the tail block, or the block `reserve` would link next.
  let at: usize = 0;
  let cap: i32 = 0;
  const tail = load<i32>(slot, S_TAIL);
  const off = load<i32>(slot, S_TAILOFF);
  const inTail = tail >= 0 && off + H_ATTR <= BLOCK_SIZE;
  if (inTail) {
    at = blockAt(tail) + <usize>(off + H_ATTR);
    cap = BLOCK_SIZE - off - H_ATTR;
  } else {
    const b = peekFreeBlock();
    if (b >= 0) {
      at = blockAt(b) + <usize>(4 + H_ATTR);
      cap = BLOCK_SIZE - 4 - H_ATTR;
    }
  }
  let n: i32 = -1;
  if (at) {
    kvTarget(at, cap);
    n = kvEncode(kp, kl, vtype, num, vlen);
  }
  if (n < 0) {
    at = KV;
    kvTarget(KV, KV_SIZE);
    n = kvEncode(kp, kl, vtype, num, vlen);
  }
  if (n < 0) return dropped(nested ? owner + 6 : slot + S_DATTR, FULL);
  if (late) {
    replaced = findAttr(slot, k16, at, kvKey);
    if (!replaced && <i32>load<u16>(slot, S_NATTR) >= countLimit) return dropped(slot + S_DATTR, LIMITED);
  }
  if (replaced && n <= <i32>load<u16>(replaced, 4)) {
    store<u8>(replaced, <u8>vtype, 1);
    store<u16>(replaced, <u16>n, 6);
    skipHeader(replaced);
    readPayload(at, n, true); // over the old value
    return OK;
  }
  // Encoded in the tail block: the record fits there, so reserve() has
  // nothing to decide beyond the span's byte budget.
  const rec = at != KV && inTail
    && load<i32>(slot, S_BYTES) + H_ATTR + n <= MAX_SPAN_BYTES
    ? at - H_ATTR : reserve(slot, H_ATTR, n);
  if (!rec) {
    countDroppedData();
    return replaced ? FULL : dropped(nested ? owner + 6 : slot + S_DATTR, FULL); // replaced: never nested
  }
  if (replaced) store<u8>(replaced, load<u8>(replaced) | R_DEAD);
  store<u8>(rec, nested ? R_NATTR : R_ATTR);
  store<u8>(rec, <u8>vtype, 1);
  store<u16>(rec, <u16>k16, 2);
  store<u16>(rec, <u16>n, 4); // capacity
  store<u16>(rec, <u16>n, 6); // length
  if (at == rec + H_ATTR) {
    // Already in place: the payload lies inside the block the header is in.
    store<i32>(slot, load<i32>(slot, S_BYTES) + H_ATTR + n, S_BYTES);
    store<i32>(slot, load<i32>(slot, S_TAILOFF) + H_ATTR + n, S_TAILOFF);
  } else {
    commitHeader(slot, H_ATTR);
    writePayload(slot, at, n); // at is KV here: in-block targets always match
  }
  if (nested) store<u16>(owner, load<u16>(owner, 2) + 1, 2);
  else if (!replaced) store<u16>(slot, load<u16>(slot, S_NATTR) + 1, S_NATTR);
  return OK;
}

/** FNV-1a over an inline key's bytes (not the hot path: interned keys have ids). */
function keyHash(p: usize, n: i32): i32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 0x01000193;
  return <i32>(h ^ (h >>> 15));
}

/**
 * Counts one dropped item in the u16 counter at `at` (S_DATTR, S_DEVENT,
 * S_DLINK, or an event/link's); returns `result`. It stops at 65535: a
 * span that drops more says at least that many, never a wrapped count.
 */
function dropped(at: usize, result: i32): i32 {
  const n = load<u16>(at);
  if (n != 0xffff) store<u16>(at, n + 1);
  return result;
}

/** Ends an event or link record: payload from IO, counted at `count`, and the owner of the attributes set next with NESTED. */
@inline function commitNested(slot: usize, rec: usize, header: i32, n: i32, count: usize): void {
  commitHeader(slot, header);
  writePayload(slot, IO, n);
  store<u16>(count, load<u16>(count) + 1);
  store<i32>(slot, <i32>rec, S_NESTED);
}

/**
 * The live ATTR record with key field `k16`, leaving the reader on it; else
 * 0. An inline key's record must also begin with the `prefix` bytes at
 * `enc` (the new value's encoding up to the end of its key): hashes collide.
 */
function findAttr(slot: usize, k16: i32, enc: usize, prefix: i32): usize {
  if (!load<u16>(slot, S_NATTR)) return 0;
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == R_ATTR && <i32>load<u16>(rec, 2) == k16 && (!enc || payloadStarts(rec, enc, prefix))) return rec;
    skipRecord(rec);
    rec = nextRecord();
  }
  return 0;
}

/** Adds an event named by `nameId`, or by `len` bytes in IO when nameId < 0. */
export function event(h: i32, nameId: i32, timeMs: f64, len: i32): i32 {
  const slot = slotOf(h);
  if (!slot) return INVALID;
  store<i32>(slot, 0, S_NESTED);
  if (<i32>load<u16>(slot, S_NEVENT) >= eventCountLimit) return dropped(slot + S_DEVENT, LIMITED);
  const interned = isInterned(nameId);
  const n = interned ? 0 : fit(slot, H_EVENT, len);
  const rec = reserve(slot, H_EVENT, n);
  if (!rec) {
    countDroppedData();
    return dropped(slot + S_DEVENT, FULL);
  }
  store<u8>(rec, R_EVENT);
  store<u16>(rec, 0, 2); // attributes
  store<u16>(rec, <u16>n, 4);
  store<u16>(rec, 0, 6); // attributes dropped
  store<i32>(rec, interned ? nameId : -1, 8);
  store<f64>(rec, timeMs, 16);
  commitNested(slot, rec, H_EVENT, n, slot + S_NEVENT);
  return OK;
}

/** Adds a link; its tracestate is `len` bytes in IO. */
/**
 * A link record's OTLP Link.flags: the W3C trace flags (bits 0-6 of its flags
 * byte), bit 8 (whether the context is remote is known) and bit 9, remote:
 * bit 7 of the byte as link() was given it.
 */
export function linkFlags(rec: usize): u32 {
  const f = <u32>load<u8>(rec, 1);
  return (f & 0x7f) | 0x100 | ((f & 0x80) << 2);
}

export function link(
  h: i32, t0: i32, t1: i32, t2: i32, t3: i32, s0: i32, s1: i32, flags: i32, len: i32,
): i32 {
  const slot = slotOf(h);
  if (!slot) return INVALID;
  store<i32>(slot, 0, S_NESTED);
  if ((t0 | t1 | t2 | t3) == 0 || (s0 | s1) == 0) return INVALID;
  if (<i32>load<u16>(slot, S_NLINK) >= linkCountLimit) return dropped(slot + S_DLINK, LIMITED);
  const n = fit(slot, H_LINK, len);
  const rec = reserve(slot, H_LINK, n);
  if (!rec) {
    countDroppedData();
    return dropped(slot + S_DLINK, FULL);
  }
  store<u8>(rec, R_LINK);
  store<u8>(rec, <u8>flags, 1);
  store<u16>(rec, 0, 2);
  store<u16>(rec, <u16>n, 4);
  store<u16>(rec, 0, 6);
  store<i32>(rec, t0, 8);
  store<i32>(rec, t1, 12);
  store<i32>(rec, t2, 16);
  store<i32>(rec, t3, 20);
  store<i32>(rec, s0, 24);
  store<i32>(rec, s1, 28);
  commitNested(slot, rec, H_LINK, n, slot + S_NLINK);
  return OK;
}

/** Replaces a string record of `type` (name, status message, tracestate). */
export function setString(h: i32, type: u8, len: i32): i32 {
  const slot = slotOf(h);
  if (!slot) return INVALID;
  const n = fit(slot, H_STR, len);
  const old = findRecord(slot, type);
  const rec = reserve(slot, H_STR, n);
  if (!rec) {
    countDroppedData();
    return FULL;
  }
  if (old) store<u8>(old, type | R_DEAD);
  store<u8>(rec, type);
  store<u16>(rec, <u16>n, 4);
  commitHeader(slot, H_STR);
  writePayload(slot, IO, n);
  return OK;
}

/** Renames a span: to an interned name, or to `len` bytes in IO when nameId < 0. */
export function rename(h: i32, nameId: i32, len: i32): i32 {
  const slot = slotOf(h);
  if (!slot || h == RESOURCE) return INVALID;
  if (isInterned(nameId)) {
    store<i32>(slot, nameId, S_NAME);
    forget(slot, R_NAME);
    return OK;
  }
  const r = setString(h, R_NAME, len);
  if (r == OK) store<i32>(slot, -1, S_NAME);
  return r;
}

/** Sets the status: OK is final, UNSET is ignored, a message goes with ERROR only. */
export function status(h: i32, code: i32, len: i32): i32 {
  const slot = slotOf(h);
  if (!slot || h == RESOURCE || code < 0 || code > 2) return INVALID;
  if (code == 0 || load<u8>(slot, S_STATUS) == 1) return OK;
  store<u8>(slot, <u8>code, S_STATUS);
  if (code != 2) return OK;
  markError(slot);
  if (len > 0) return setString(h, R_STATUS, len);
  // An ERROR without a message replaces the one before it.
  forget(slot, R_STATUS);
  return OK;
}

/** Marks the slot's record of `type` dead, if it has one. */
function forget(slot: usize, type: u8): void {
  const old = findRecord(slot, type);
  if (old) store<u8>(old, type | R_DEAD);
}

/**
 * Ends a span; an end before its start (or NaN) is taken as its start.
 * HELD instead of OK while any span waits for its trace's decision.
 */
export function end(h: i32, endMs: f64): i32 {
  const slot = liveSlot(h);
  if (!slot || h == RESOURCE) return INVALID;
  const startMs = load<f64>(slot, S_START);
  store<f64>(slot, endMs >= startMs ? endMs : startMs, S_END);
  store<i32>(slot, 0, S_NESTED);
  store<u8>(slot, STATE_ENDED, S_STATE);
  ended(h & INDEX_MASK);
  return heldSpans() ? HELD : OK;
}

/** Marks a span's trace as failed without a status (an exception was recorded). */
export function flagError(h: i32): i32 {
  const slot = slotOf(h);
  if (!slot || h == RESOURCE) return INVALID;
  markError(slot);
  return OK;
}

/**
 * Bytes kept of a one-off string of `len` bytes in IO (a name, message or
 * tracestate) in a record of `header` bytes: all that the span has room
 * for, cut between UTF-8 characters.
 */
function fit(slot: usize, header: i32, len: i32): i32 {
  const room = MAX_SPAN_BYTES - load<i32>(slot, S_BYTES) - header;
  let n = len < 0 ? 0 : len > IO_SIZE ? IO_SIZE : len;
  if (n <= room) return n;
  n = room > 0 ? room : 0;
  while (n > 0 && (load<u8>(IO + <usize>n) & 0xc0) == 0x80) n--; // IO[n] continues a character
  return n;
}

