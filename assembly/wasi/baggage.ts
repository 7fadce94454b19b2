// W3C Baggage (https://www.w3.org/TR/baggage/) as the JS SDK reads it
// (src/baggage.ts parseBaggage): each list-member checked against the
// grammar (values as baggage-octets, their escapes not decoded), malformed members dropped, OWS removed, properties kept, within
// the limits. One left-to-right pass per member: no backtracking.
import { hexDigit } from "./text";

const MAX_MEMBERS = 180;
const MAX_BYTES = 8192;
/** A longer header is ignored whole rather than parsed. */
const MAX_HEADER_CHARS = 65536;

/** RFC 7230 tchar: letters, digits and !#$%&'*+-.^_`|~ (a bit per ASCII code). */
export function isTchar(c: i32): bool {
  if (c >= 0x80) return false;
  const bits: u64 = c < 64 ? 0x03ff6cfa00000000 : 0x57ffffffc7fffffe;
  return ((bits >> <u64>(c & 63)) & 1) != 0;
}

/** baggage-octet: printable ASCII but `"`, `,`, `;` and `\`. */
function isOctet(c: i32): bool {
  return c >= 0x21 && c <= 0x7e && c != 0x22 && c != 0x2c && c != 0x3b && c != 0x5c;
}

function skipOws(s: string, i: i32, end: i32): i32 {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c != 0x20 && c != 0x09) break;
    i++;
  }
  return i;
}

function skipTchars(s: string, i: i32, end: i32): i32 {
  while (i < end && isTchar(s.charCodeAt(i))) i++;
  return i;
}

function skipOctets(s: string, i: i32, end: i32): i32 {
  while (i < end && isOctet(s.charCodeAt(i))) i++;
  return i;
}

/** A continuation byte `%XX` (0x80..0xBF, narrowed to lo..hi) at `i`, or -1. */
function contByte(s: string, i: i32, end: i32, lo: i32, hi: i32): i32 {
  const b = escByte(s, i, end);
  return b >= lo && b <= hi ? b : -1;
}

/** The byte of `%XX` at `i`, or -1. */
function escByte(s: string, i: i32, end: i32): i32 {
  if (i + 2 >= end || s.charCodeAt(i) != 0x25) return -1;
  const hi = hexDigit(s.charCodeAt(i + 1));
  const lo = hexDigit(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/**
 * Whether decodeURIComponent would accept s[i..end): every `%` starts two hex
 * digits, and the escaped bytes form well-formed UTF-8 (no overlong form, no
 * surrogate, nothing above U+10FFFF).
 */
export function decodes(s: string, i: i32, end: i32): bool {
  while (i < end) {
    if (s.charCodeAt(i) != 0x25) {
      i++;
      continue;
    }
    const b = escByte(s, i, end);
    if (b < 0) return false;
    i += 3;
    if (b < 0x80) continue;
    let n = 0; // continuation bytes
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b == 0xe0) lo = 0xa0;
      else if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b == 0xf0) lo = 0x90;
      else if (b == 0xf4) hi = 0x8f;
    } else return false;
    // Only the first continuation byte has a narrowed range.
    for (let k = 0; k < n; k++, i += 3) {
      if (contByte(s, i, end, k ? 0x80 : lo, k ? 0xbf : hi) < 0) return false;
    }
  }
  return true;
}

/** Whether s[i..end) is a list-member. */
function valid(s: string, i: i32, end: i32): bool {
  i = skipOws(s, i, end);
  let j = skipTchars(s, i, end);
  if (j == i) return false;
  i = skipOws(s, j, end);
  if (i == end || s.charCodeAt(i) != 0x3d) return false;
  i = skipOws(s, i + 1, end);
  // A value's escapes need not be UTF-8: a reader decodes such bytes to U+FFFD (the spec), so the member goes on.
  i = skipOws(s, skipOctets(s, i, end), end);
  while (i < end) {
    if (s.charCodeAt(i) != 0x3b) return false;
    i = skipOws(s, i + 1, end);
    j = skipTchars(s, i, end);
    if (j == i) return false;
    i = skipOws(s, j, end);
    if (i < end && s.charCodeAt(i) == 0x3d) i = skipOws(s, skipOctets(s, skipOws(s, i + 1, end), end), end);
  }
  return true;
}

/** The list-member s[start..end) without its OWS (tokens and octets hold no blank: every one goes); "" when malformed. */
function member(s: string, start: i32, end: i32): string {
  if (!valid(s, start, end)) return "";
  const buf = new StaticArray<u16>(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = <u16>s.charCodeAt(i);
    if (c != 0x20 && c != 0x09) unchecked((buf[o++] = c));
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(buf), <usize>o << 1);
}

/**
 * A `baggage` header with malformed members removed, within the limits (180
 * members, 8192 bytes; members that do not fit are dropped whole): "" when
 * nothing is left.
 */
export function parseBaggage(header: string): string {
  const n = header.length;
  if (n > MAX_HEADER_CHARS) return "";
  let out = "";
  let count = 0;
  for (let start = 0; start <= n && count < MAX_MEMBERS; ) {
    let end = header.indexOf(",", start);
    if (end < 0) end = n;
    const m = member(header, start, end);
    start = end + 1;
    // A valid member is ASCII: its length is its size in bytes.
    if (!m.length || out.length + m.length + (count > 0 ? 1 : 0) > MAX_BYTES) continue;
    out += count++ > 0 ? "," + m : m;
  }
  return out;
}
