// The active span (a stack threaded through the spans), and the remote
// parent taken from TRACEPARENT/TRACESTATE.
import { Span, SpanContext } from "./span";
import { isSpace } from "~lib/util/string";
import { hexDigit, toHex, unhex, utf8 } from "./text";

let active: Span | null = null;

export function currentSpan(): Span | null {
  return active;
}

export function pushActive(span: Span): void {
  span._prev = active;
  span._active = true;
  active = span;
}

/** Takes `span` off the stack; spans ended out of order are unlinked where they are. */
export function popActive(span: Span): void {
  span._active = false;
  if (active === span) {
    active = span._prev;
    return;
  }
  let s = active;
  for (let i = 0; s !== null && i < 1000; i++) {
    const prev: Span | null = s._prev;
    if (prev === span) {
      s._prev = span._prev;
      return;
    }
    s = prev;
  }
}

/** The parent from TRACEPARENT: trace id, span id, flags (| 0x100: remote). */
export const REMOTE: usize = memory.data(24);
export let hasRemote = false;
export let remoteFlags: i32 = 0;
export const STATE_SIZE: i32 = 512;
/**
 * The caller's tracestate as checked (STATE_SIZE bytes), then the same
 * without a threshold (STATE_SIZE more), then the one `extract` read last.
 */
export const STATE: usize = memory.data(STATE_SIZE * 3);
const EXTRACTED: i32 = STATE_SIZE * 2;
export let stateLen: i32 = 0;
/**
 * The caller's tracestate a span it did not sample carries when tail sampling
 * keeps it: with no known probability, so with no threshold (as JS's spans):
 * `tailStateLen` bytes at STATE + STATE_SIZE.
 */
export let tailStateLen: i32 = 0;

const TP: usize = memory.data(56);

/**
 * The tracestate of the traces this program starts and keeps: `ot=th:…`,
 * the sampler's threshold in at most 14 hex digits without trailing zeros,
 * when its ratio is below 1, else "" (as JS's rootTraceState).
 */
export const ROOT: usize = memory.data(20);
/** Its length in bytes at ROOT (at most 20, ASCII), 0 when there is none; each span of such a trace copies it. */
export let rootLen: i32 = 0;

/** Sets the root tracestate from the sampler's 56-bit threshold (0: every trace kept). */
export function setRootState(threshold: u64): void {
  if (!threshold) {
    rootLen = 0;
    return;
  }
  store<u64>(RAND, bswap<u64>(min(threshold, (<u64>1 << 56) - 1)));
  const hex = toHex(RAND + 1, 7);
  let n = 14;
  while (hex.charCodeAt(n - 1) == 0x30) n--;
  rootLen = utf8("ot=th:" + hex.substring(0, n), ROOT, 20);
}

/**
 * Takes a W3C traceparent and its tracestate as the JS SDK does
 * (src/propagation.ts): a bad traceparent is ignored (see readTraceparent);
 * a bad tracestate is dropped, and a threshold in it the sampled flag
 * contradicts is erased.
 */
export function setRemoteParent(traceparent: string, tracestate: string): bool {
  const flags = readTraceparent(traceparent, REMOTE);
  hasRemote = flags >= 0;
  if (!hasRemote) return false;
  remoteFlags = flags | 0x100;
  stateLen = checkThreshold(0, checkTracestate(tracestate, STATE), (flags & 1) != 0, true, REMOTE);
  memory.copy(STATE + <usize>STATE_SIZE, STATE, stateLen);
  tailStateLen = checkThreshold(STATE_SIZE, stateLen, false, false, REMOTE);
  return true;
}

/** The ids `extract` read last. */
const IDS: usize = memory.data(24);

/**
 * The remote context a traceparent and tracestate carry, read as
 * setRemoteParent reads them (the traceparent trimmed, as JS trims it) and
 * as JS's `tracer.extract` returns it (`isRemote` true); null when the
 * traceparent is invalid.
 */
export function extract(traceparent: string, tracestate: string): SpanContext | null {
  const flags = readTraceparent(traceparent.trim(), IDS);
  if (flags < 0) return null;
  const len = checkThreshold(EXTRACTED, checkTracestate(tracestate, STATE + <usize>EXTRACTED), (flags & 1) != 0, true, IDS);
  return new SpanContext(toHex(IDS, 16), toHex(IDS + 16, 8), flags, String.UTF8.decodeUnsafe(STATE + <usize>EXTRACTED, len), true);
}

/**
 * Reads a W3C traceparent as the JS SDK does (src/propagation.ts):
 * `00-<32 hex>-<16 hex>-<2 hex>` in lowercase, ids not all zeros; a later
 * version may add fields after a dash, of any length, on one line. Writes
 * the trace and span ids (24 bytes) at `ids`; returns the flags defined so
 * far (sampled, and Level 2's random, as the JS SDK keeps), or -1 when invalid.
 * Inlined: a program that never calls `extract` pays no call for it.
 */
@inline function readTraceparent(traceparent: string, ids: usize): i32 {
  const n = traceparent.length;
  // A non-ASCII character among the first 55 fails a hex or dash check below.
  if (n < 55 || utf8(traceparent, TP, 55) != 55) return -1;
  if (load<u8>(TP, 2) != 0x2d || load<u8>(TP, 35) != 0x2d || load<u8>(TP, 52) != 0x2d) return -1;
  if (!unhex(TP, 1, ids)) return -1;
  const version = load<u8>(ids);
  if (version == 0xff || (version == 0 && n != 55) || (n > 55 && (traceparent.charCodeAt(55) != 0x2d || !oneLine(traceparent)))) return -1;
  if (!unhex(TP + 3, 16, ids) || !unhex(TP + 36, 8, ids + 16) || !unhex(TP + 53, 1, TP)) return -1;
  if ((load<u64>(ids) | load<u64>(ids, 8)) == 0 || load<u64>(ids, 16) == 0) return -1;
  return <i32>load<u8>(TP) & 3;
}

/** Whether `s` holds no line terminator (the JS SDK's pattern ends at one). */
function oneLine(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x0a || c == 0x0d || c == 0x2028 || c == 0x2029) return false;
  }
  return true;
}

// Tracestate is read through a pointer to its UTF-16 units (`at`): the
// helpers take no string, so they keep nothing on the GC's shadow stack.
@inline function at(p: usize, i: i32): i32 {
  return <i32>load<u16>(p + (<usize>i << 1));
}

// The list-member found by `member`: [mStart, mEnd), trimmed.
let mStart = 0;
let mEnd = 0;

/** Finds the member that starts at `i` (up to the next comma, or `n`) and trims it; returns where the next one starts. */
function member(p: usize, n: i32, i: i32): i32 {
  let end = i;
  while (end < n && at(p, end) != 0x2c) end++;
  const next = end + 1;
  while (i < end && isSpace(at(p, i))) i++;
  while (end > i && isSpace(at(p, end - 1))) end--;
  mStart = i;
  mEnd = end;
  return next;
}

/**
 * Writes `header` at `dst` (STATE_SIZE bytes) as the JS SDK validates a
 * tracestate (src/propagation.ts parseTracestate) and returns its length:
 * empty members removed, nothing when a member is invalid, a key repeats or
 * there are more than 32; over 512 characters, members longer than 128 go
 * first, then members from the end.
 */
export function checkTracestate(header: string, dst: usize): i32 {
  const p = changetype<usize>(header);
  const n = header.length;
  let count = 0;
  let total = -1; // the members joined by commas
  for (let i = 0; i <= n; ) {
    i = member(p, n, i);
    const a = mStart;
    const b = mEnd;
    if (a == b) continue;
    const eq = stateKeyEnd(p, a, b);
    if (++count > 32 || eq < 0 || !stateValue(p, eq + 1, b) || repeated(p, a, eq)) return 0;
    total += b - a + 1;
  }
  let o = 0;
  for (let i = 0; i <= n; ) {
    i = member(p, n, i);
    const len = mEnd - mStart;
    if (!len || (total > STATE_SIZE && len > 128)) continue;
    if (o + (o ? 1 : 0) + len > STATE_SIZE) break; // this one and all after it
    if (o) store<u8>(dst + <usize>(o++), 0x2c);
    for (let k = mStart; k < mEnd; k++) store<u8>(dst + <usize>(o++), <u8>at(p, k));
  }
  return o;
}

/** Whether a member before [a..] has the key [a, eq) (those members are valid: their key ends at their first `=`). */
function repeated(p: usize, a: i32, eq: i32): bool {
  const len = eq - a;
  for (let i = 0; i < a; ) {
    i = member(p, a, i);
    if (mEnd - mStart > len && at(p, mStart + len) == 0x3d &&
      memory.compare(p + (<usize>mStart << 1), p + (<usize>a << 1), <usize>len << 1) == 0) return true;
  }
  return false;
}

/** lcalpha, digits and `_-*` `/`: the characters of a tracestate key. */
function isKeyChar(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d || c == 0x2a || c == 0x2f;
}

/**
 * The index of the `=` after the key of member [a, b), or -1 when the key is
 * bad: a simple key (lcalpha, then up to 255 key characters) or a
 * multi-tenant one (a tenant of up to 241 starting with lcalpha or a digit,
 * `@`, a system of up to 14 starting with lcalpha).
 */
function stateKeyEnd(p: usize, a: i32, b: i32): i32 {
  let i = a;
  while (i < b && isKeyChar(at(p, i))) i++;
  if (i == a || i == b) return -1;
  const first = at(p, a);
  const c = at(p, i);
  if (c == 0x3d) return first >= 0x61 && i - a <= 256 ? i : -1;
  if (c != 0x40 || i - a > 241 || first < 0x30 || first == 0x5f) return -1; // a tenant starts with lcalpha or a digit
  let j = i + 1;
  while (j < b && isKeyChar(at(p, j))) j++;
  return j < b && at(p, j) == 0x3d && at(p, i + 1) >= 0x61 && j - i - 1 <= 14 ? j : -1;
}

/** Whether [a, b) is a value: 1 to 256 printable ASCII characters but `,` and `=`, not ending in a space. */
function stateValue(p: usize, a: i32, b: i32): bool {
  if (b - a < 1 || b - a > 256 || at(p, b - 1) == 0x20) return false;
  for (let i = a; i < b; i++) {
    const c = at(p, i);
    if (c < 0x20 || c > 0x7e || c == 0x2c || c == 0x3d) return false;
  }
  return true;
}

// The first three characters of a tracestate member or `ot` value, as a little-endian u32's low bytes.
const OT: u32 = 0x3d746f; // "ot="
const TH: u32 = 0x3a6874; // "th:"
const RV: u32 = 0x3a7672; // "rv:"

/** Whether STATE[i, e) starts with the three characters `word`. */
@inline function startsWith(i: i32, e: i32, word: u32): bool {
  return e - i >= 3 && (load<u32>(STATE + <usize>i) & 0xffffff) == word;
}

/** Where the part of STATE[i, e) that ends at `sep` (or e) ends. */
function partEnd(i: i32, e: i32, sep: u8): i32 {
  while (i < e && load<u8>(STATE + <usize>i) != sep) i++;
  return i;
}

/** The hex digits STATE[i, e), in either case, as a number; negative when one is not a hex digit. */
function hexValue(i: i32, e: i32): i64 {
  let v: i64 = 0;
  for (; i < e; i++) v = (v << 4) | hexDigit(load<u8>(STATE + <usize>i));
  return v;
}

/** The randomness a threshold is compared with: 7 bytes, big-endian, after a zero byte. */
const RAND: usize = memory.data(8);

/**
 * Erases the OpenTelemetry threshold (`th:` in the `ot` member) from the
 * tracestate in STATE[at, at + len) where the JS SDK does (src/sampler.ts
 * checkThreshold), and returns the new length: when it is malformed (not 1
 * to 14 hex digits), or disagrees with the sampled flag (sampled exactly
 * when the randomness, `rv:` or the last 56 bits of the trace id at `ids`,
 * is at least the threshold), or, without a `known` sampled flag, always.
 */
function checkThreshold(at: i32, len: i32, sampled: bool, known: bool, ids: usize): i32 {
  let end = at + len;
  let a = at;
  let b = 0;
  for (; a < end; a = b + 1) {
    b = partEnd(a, end, 0x2c);
    if (startsWith(a, b, OT)) break;
  }
  if (a >= end) return len;
  // The first th: and rv: of the member's `;`-separated values.
  let th: i64 = -2;
  let rv = 0; // 1: read, -1: malformed
  memory.copy(RAND, ids + 8, 8);
  store<u8>(RAND, 0);
  for (let v = a + 3, e = 0; v <= b; v = e + 1) {
    e = partEnd(v, b, 0x3b);
    const n = e - v - 3;
    if (th == -2 && startsWith(v, e, TH)) th = n >= 1 && n <= 14 ? hexValue(v + 3, e) << (4 * (14 - n)) : -1;
    if (!rv && startsWith(v, e, RV)) rv = n == 14 && unhex(STATE + <usize>(v + 3), 7, RAND + 1) ? 1 : -1;
  }
  if (th == -2) return len;
  if (known && th >= 0 && rv >= 0 && (bswap<u64>(load<u64>(RAND)) >= <u64>th) == sampled) return len;
  // Each th: value goes with a `;` beside it; with nothing left, the member goes with a comma.
  for (let v = a + 3, e = 0; v <= b; ) {
    e = partEnd(v, b, 0x3b);
    if (!startsWith(v, e, TH)) {
      v = e + 1;
      continue;
    }
    const from = e < b ? v : v > a + 3 ? v - 1 : v;
    const to = e < b ? e + 1 : e;
    memory.copy(STATE + <usize>from, STATE + <usize>to, <usize>(end - to));
    end -= to - from;
    b -= to - from;
    v = from;
  }
  if (b == a + 3) {
    if (b < end) b++;
    else if (a > at) a--;
    memory.copy(STATE + <usize>a, STATE + <usize>b, <usize>(end - b));
    end -= b - a;
  }
  return end - at;
}
