// Strings to UTF-8 in place, without allocating: the library writes span
// names, keys and values straight into the core's IO area.

/**
 * Writes `s` as UTF-8 at `dst`, at most `max` bytes, never splitting a
 * character; lone surrogates become U+FFFD. Returns the bytes written, or
 * with `whole`, `max + 1` when not all of `s` fits.
 */
export function utf8(s: string, dst: usize, max: i32, whole: bool = false): i32 {
  const src = changetype<usize>(s);
  const n = s.length;
  const lim = <usize>max;
  let o: usize = 0;
  let i = 0;
  for (; i < n; i++) {
    let c = <u32>load<u16>(src + (<usize>i << 1));
    let pair = false;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const d = <u32>load<u16>(src + (<usize>(i + 1) << 1));
      if ((pair = d >= 0xdc00 && d < 0xe000)) c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    if (o + <usize>(c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4) > lim) break;
    o = putUtf8(dst + o, c) - dst;
    if (pair) i++;
  }
  return whole && i < n ? max + 1 : <i32>o;
}

/** Writes the code point `c` (not a surrogate) as UTF-8 at `o`; returns the end. */
export function putUtf8(o: usize, c: u32): usize {
  if (c < 0x80) {
    store<u8>(o, <u8>c);
    return o + 1;
  }
  if (c < 0x800) {
    store<u8>(o, <u8>(0xc0 | (c >> 6)));
    store<u8>(o + 1, <u8>(0x80 | (c & 63)));
    return o + 2;
  }
  if (c < 0x10000) {
    store<u8>(o, <u8>(0xe0 | (c >> 12)));
    store<u8>(o + 1, <u8>(0x80 | ((c >> 6) & 63)));
    store<u8>(o + 2, <u8>(0x80 | (c & 63)));
    return o + 3;
  }
  store<u8>(o, <u8>(0xf0 | (c >> 18)));
  store<u8>(o + 1, <u8>(0x80 | ((c >> 12) & 63)));
  store<u8>(o + 2, <u8>(0x80 | ((c >> 6) & 63)));
  store<u8>(o + 3, <u8>(0x80 | (c & 63)));
  return o + 4;
}

/** Value of one hex digit, or -1. */
export function hexDigit(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}

/** Value of one lowercase hex digit (W3C Trace Context allows no other), or -1. */
function lowerHexDigit(c: u32): i32 {
  return c >= 0x41 && c <= 0x46 ? -1 : hexDigit(c);
}

/** Decodes `2n` lowercase hex characters at `src` into `n` bytes at `dst`. */
export function unhex(src: usize, n: i32, dst: usize): bool {
  for (let i = 0; i < n; i++) {
    const hi = lowerHexDigit(load<u8>(src + <usize>(i << 1)));
    const lo = lowerHexDigit(load<u8>(src + <usize>(i << 1) + 1));
    if (hi < 0 || lo < 0) return false;
    store<u8>(dst + <usize>i, <u8>((hi << 4) | lo));
  }
  return true;
}

const HEX = "0123456789abcdef";

/** `n` bytes at `src` as lowercase hex. */
export function toHex(src: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = <i32>load<u8>(src + <usize>i);
    s += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return s;
}
