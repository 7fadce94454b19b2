// What a collector's answer says besides its status: how long to wait before
// a retry (Retry-After, RFC 9110 §10.2.3) and how many spans it refused (the
// OTLP partial success). Read from bytes as received, trusting none of them:
// a malformed value says nothing.
import { hexDigit, putUtf8 } from "./text";

// The bytes being read: [p, lim).
let p: usize = 0;
let lim: usize = 0;
let bad = false;

@inline function peek(): i32 {
  return p < lim ? <i32>load<u8>(p) : -1;
}

function eat(c: i32): bool {
  if (peek() != c) return false;
  p++;
  return true;
}

/** Exactly `n` digits (0: one or more, saturating) as a number; -1 when they are not there. */
function digits(n: i32): i64 {
  let v: i64 = 0;
  let k = 0;
  for (; (n == 0 || k < n) && <u32>(peek() - 0x30) < 10; k++) v = min(v * 10 + <i64>(load<u8>(p++) - 0x30), <i64>1 << 40);
  return k > 0 && (n == 0 || k == n) ? v : -1;
}

// ---- Retry-After -------------------------------------------------------------

/**
 * The wait a Retry-After value [a, b) (trimmed) asks for, in ms from
 * `nowUnixMs`: delta-seconds, or an HTTP-date in any of its three forms
 * (IMF-fixdate, rfc850-date, asctime-date; GMT all), as RFC 9110 asks a
 * recipient to accept; a date past is 0 (as JS); -1 when malformed.
 */
export function retryAfterMs(a: usize, b: usize, nowUnixMs: f64): f64 {
  p = a;
  lim = b;
  const s = digits(0);
  if (s >= 0) return p == lim ? <f64>s * 1000 : -1;
  const at = httpDate(nowUnixMs);
  return at < 0 || p != lim ? -1 : max(0, at - nowUnixMs);
}

const MONTHS = "janfebmaraprmayjunjulaugsepoctnovdec";

/** A month's three letters (any case) as 1 to 12; -1 when none. */
function month(): i32 {
  if (lim - p < 3) return -1;
  for (let m = 0; m < 12; m++) {
    let k = 0;
    while (k < 3 && (<i32>load<u8>(p + <usize>k) | 0x20) == MONTHS.charCodeAt(m * 3 + k)) k++;
    if (k == 3) {
      p += 3;
      return m + 1;
    }
  }
  return -1;
}

// hh:mm:ss of the date being read.
let seconds: i64 = -1;

function timeOfDay(): bool {
  const h = digits(2);
  if (h < 0 || h > 23 || !eat(0x3a)) return false;
  const m = digits(2);
  if (m < 0 || m > 59 || !eat(0x3a)) return false;
  const s = digits(2);
  seconds = h * 3600 + m * 60 + s;
  return s >= 0 && s <= 60; // 60: a leap second
}

/** An HTTP-date at p as unix ms; -1 when malformed. */
function httpDate(nowUnixMs: f64): f64 {
  const from = p;
  while (<u32>((peek() | 0x20) - 0x61) < 26) p++; // the day's name, which says nothing more
  if (p - from < 3) return -1;
  let day: i64 = -1;
  let mon = -1;
  let year: i64 = -1;
  if (eat(0x2c)) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT"
    if (!eat(0x20)) return -1;
    day = digits(2);
    const sep = peek();
    if (sep != 0x20 && sep != 0x2d) return -1;
    p++;
    mon = month();
    if (!eat(sep)) return -1;
    year = digits(sep == 0x20 ? 4 : 2);
    if (sep == 0x2d && year >= 0) year = fullYear(year, nowUnixMs);
    if (!eat(0x20) || !timeOfDay() || !eat(0x20) || !eat(0x47) || !eat(0x4d) || !eat(0x54)) return -1; // " GMT"
  } else {
    // asctime-date "Sun Nov  6 08:49:37 1994"
    if (!eat(0x20)) return -1;
    mon = month();
    if (!eat(0x20)) return -1;
    day = eat(0x20) ? digits(1) : digits(2);
    if (!eat(0x20) || !timeOfDay() || !eat(0x20)) return -1;
    year = digits(4);
  }
  if (mon < 0 || year < 0 || day < 1 || day > 31) return -1;
  return (<f64>daysFromCivil(year, mon, day) * 86400 + <f64>seconds) * 1000;
}

/**
 * A two-digit year (rfc850-date): the one of this century, or of the last
 * when that would be more than 50 years ahead (RFC 9110 §5.6.7).
 */
function fullYear(yy: i64, nowUnixMs: f64): i64 {
  const now = 1970 + <i64>Math.floor(nowUnixMs / 31_556_952_000); // mean Gregorian years: near enough here
  const y = now - now % 100 + yy;
  return y > now + 50 ? y - 100 : y;
}

/** Days since 1970-01-01 of a Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: i64, m: i32, d: i64): i64 {
  if (m <= 2) y--;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * <i64>(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

// ---- partial success -----------------------------------------------------------

/** Spans the collector refused in the answer read last (OTLP partial success); 0 when it says none. */
export let rejected: i64 = 0;
/** Its error_message, control characters as spaces, at most MAX_MESSAGE bytes; "" when none. */
export let rejectedMessage = "";
const MAX_MESSAGE: i32 = 512;
// The message's bytes: [msgA, msgB).
let msgA: usize = 0;
let msgB: usize = 0;

/**
 * Reads an ExportTraceServiceResponse body [a, b), protobuf or OTLP/JSON,
 * into `rejected` and `rejectedMessage`. A body that is malformed says
 * nothing, as in JS (src/export/send.ts rejectedSpans). Rewrites the bytes.
 */
export function readPartialSuccess(a: usize, b: usize, json: bool): void {
  clearPartialSuccess();
  msgA = msgB = 0;
  p = a;
  lim = b;
  bad = false;
  const ok = json ? jsonDocument() : protoResponse();
  if (!ok || rejected <= 0) {
    rejected = 0;
    return;
  }
  let n = json && msgB > msgA ? unescape(msgA, msgB) : <i32>(msgB - msgA);
  for (let i = 0; i < n; i++) {
    const c = load<u8>(msgA + <usize>i);
    if (c < 0x20 || c == 0x7f) store<u8>(msgA + <usize>i, 0x20);
  }
  if (n > MAX_MESSAGE) {
    n = MAX_MESSAGE;
    while (n > 0 && (load<u8>(msgA + <usize>n) & 0xc0) == 0x80) n--; // not inside a character
  }
  rejectedMessage = String.UTF8.decodeUnsafe(msgA, n).trim();
}

export function clearPartialSuccess(): void {
  rejected = 0;
  rejectedMessage = "";
}

function varint(): u64 {
  let v: u64 = 0;
  for (let shift: u64 = 0; shift < 64; shift += 7) {
    if (p >= lim) break;
    const c = load<u8>(p++);
    v |= <u64>(c & 0x7f) << shift;
    if (c < 0x80) return v;
  }
  bad = true;
  return 0;
}

/** Skips a field's value of wire type `wire`. */
function skip(wire: u64): void {
  const n: u64 = wire == 0 ? (varint(), 0) : wire == 1 ? 8 : wire == 2 ? varint() : wire == 5 ? 4 : <u64>-1;
  if (n > <u64>(lim - p)) bad = true;
  else p += <usize>n;
}

/** ExportTraceServiceResponse: partial_success (1) { rejected_spans (1), error_message (2) }; the last of each wins. */
function protoResponse(): bool {
  while (p < lim && !bad) {
    const tag = varint();
    if (tag != 10) {
      skip(tag & 7);
      continue;
    }
    const n = varint();
    if (bad || n > <u64>(lim - p)) return false;
    const outer = lim;
    lim = p + <usize>n;
    while (p < lim && !bad) {
      const t = varint();
      if (t == 8) rejected = <i64>varint();
      else if (t == 18) {
        const len = varint();
        if (bad || len > <u64>(lim - p)) return false;
        msgA = p;
        p += <usize>len;
        msgB = p;
      } else skip(t & 7);
    }
    lim = outer;
  }
  return !bad;
}

function space(): void {
  for (let c = peek(); c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; c = peek()) p++;
}

/** An ExportTraceServiceResponse in OTLP/JSON: one object and nothing after it but whitespace. */
function jsonDocument(): bool {
  if (!jsonObject(true)) return false;
  space();
  return p == lim;
}

/**
 * A JSON object at p. At the top, its "partialSuccess" object is read as
 * one (`top` false): its "rejectedSpans" (an integer, as a number or a
 * string) and "errorMessage"; any other value is skipped.
 */
function jsonObject(top: bool): bool {
  space();
  if (!eat(0x7b)) return false;
  space();
  if (eat(0x7d)) return true;
  do {
    space();
    const k = p;
    if (!jsonString()) return false;
    const n = <i32>(p - k) - 2; // the key's length, escapes unread
    space();
    if (!eat(0x3a)) return false;
    space();
    if (top && isKey(k, n, "partialSuccess") && peek() == 0x7b) {
      if (!jsonObject(false)) return false;
    } else if (!top && isKey(k, n, "rejectedSpans")) {
      const from = p;
      if (!jsonValue()) return false;
      rejected = count(from);
    } else if (!top && isKey(k, n, "errorMessage") && peek() == 0x22) {
      msgA = p;
      if (!jsonString()) return false;
      msgB = p;
    } else if (!jsonValue()) return false;
    space();
  } while (eat(0x2c));
  return eat(0x7d);
}

/**
 * The JSON value [from, p) as a count: an integer, as a number or a string
 * (OTLP/JSON's int64); -1 for anything else (a negative, a fraction, null),
 * which counts none.
 */
function count(from: usize): i64 {
  const end = p;
  const outer = lim;
  const quoted = load<u8>(from) == 0x22;
  p = from + <usize>quoted;
  lim = end - <usize>quoted;
  const n = digits(0);
  const whole = p == lim;
  lim = outer;
  p = end;
  return whole ? n : -1;
}

/** Whether the JSON string at `k`, of `n` bytes between its quotes, is `name` written without escapes. */
function isKey(k: usize, n: i32, name: string): bool {
  if (n != name.length) return false;
  for (let i = 0; i < n; i++) if (<i32>load<u8>(k + 1 + <usize>i) != name.charCodeAt(i)) return false;
  return true;
}

/** Skips a JSON string at p (escapes whole, no raw control character). */
function jsonString(): bool {
  if (!eat(0x22)) return false;
  while (p < lim) {
    const c = <i32>load<u8>(p++);
    if (c == 0x22) return true;
    if (c < 0x20) return false;
    if (c == 0x5c) p += peek() == 0x75 ? 5 : 1;
  }
  return false;
}

/** Skips any JSON value at p: a string, a number or literal, or an object or array (nested ones counted, their strings skipped whole). */
function jsonValue(): bool {
  const c = peek();
  if (c == 0x22) return jsonString();
  if (c != 0x7b && c != 0x5b) {
    const from = p;
    while (p < lim && (<u32>((peek() | 0x20) - 0x61) < 26 || <u32>(peek() - 0x30) < 10 || peek() == 0x2d || peek() == 0x2b || peek() == 0x2e)) p++;
    return p > from;
  }
  let depth = 0;
  while (p < lim) {
    const d = peek();
    if (d == 0x22) {
      if (!jsonString()) return false;
      continue;
    }
    p++;
    if (d == 0x7b || d == 0x5b) depth++;
    else if ((d == 0x7d || d == 0x5d) && --depth == 0) return true;
  }
  return false;
}

/** Decodes the JSON string [a, b) (quotes included) in place, as UTF-8 from a; returns its length. */
function unescape(a: usize, b: usize): i32 {
  let o = a;
  let i = a + 1;
  const end = b - 1;
  while (i < end) {
    let c = <u32>load<u8>(i++);
    if (c != 0x5c) {
      store<u8>(o++, <u8>c);
      continue;
    }
    const e = <u32>load<u8>(i++);
    if (e != 0x75) {
      c = e == 0x6e ? 0x0a : e == 0x74 ? 0x09 : e == 0x72 ? 0x0d : e == 0x62 ? 0x08 : e == 0x66 ? 0x0c : e; // \" \\ \/ as themselves
      store<u8>(o++, <u8>c);
      continue;
    }
    c = hex4(i);
    i += 4;
    // A surrogate pair is one character; a lone surrogate becomes U+FFFD.
    if (c >= 0xd800 && c < 0xdc00 && i + 6 <= end && load<u8>(i) == 0x5c && load<u8>(i + 1) == 0x75) {
      const lo = hex4(i + 2);
      if (lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i += 6;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    o = putUtf8(o, c);
  }
  return <i32>(o - a);
}

/** The 4 hex digits at `at` (any other character read as f). */
function hex4(at: usize): u32 {
  let v: u32 = 0;
  for (let k: usize = 0; k < 4; k++) v = (v << 4) | (<u32>hexDigit(load<u8>(at + k)) & 15);
  return v;
}
