// Packs bytes into a string for localStorage, 15 bits per UTF-16 code unit.
// localStorage quota is counted in code units (PLATFORM-FACTS.md), so this
// stores 1.875 bytes per unit where base64 stores 0.75. Every unit lies in
// U+0800..U+87FF: no controls, no surrogates (a lone surrogate may be
// replaced by U+FFFD when the browser writes the value to disk).

const BASE = 0x0800;
const MASK = 0x7fff;
const CHUNK = 8192;

/** Code units `pack` produces for `byteLength` bytes. */
export function packedLength(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 15);
}

/** Bytes → string of `packedLength(bytes.length)` code units. */
export function pack(bytes: Uint8Array): string {
  const n = bytes.length;
  const units = new Uint16Array(packedLength(n));
  // 15 bytes are exactly 8 units: whole groups without a bit accumulator.
  const whole = n - (n % 15);
  let i = 0;
  let j = 0;
  for (; i < whole; i += 15, j += 8) {
    const b1 = bytes[i + 1]!;
    const b3 = bytes[i + 3]!;
    const b5 = bytes[i + 5]!;
    const b7 = bytes[i + 7]!;
    const b9 = bytes[i + 9]!;
    const b11 = bytes[i + 11]!;
    const b13 = bytes[i + 13]!;
    units[j] = BASE + ((bytes[i]! << 7) | (b1 >> 1));
    units[j + 1] = BASE + (((b1 & 1) << 14) | (bytes[i + 2]! << 6) | (b3 >> 2));
    units[j + 2] = BASE + (((b3 & 3) << 13) | (bytes[i + 4]! << 5) | (b5 >> 3));
    units[j + 3] = BASE + (((b5 & 7) << 12) | (bytes[i + 6]! << 4) | (b7 >> 4));
    units[j + 4] = BASE + (((b7 & 15) << 11) | (bytes[i + 8]! << 3) | (b9 >> 5));
    units[j + 5] = BASE + (((b9 & 31) << 10) | (bytes[i + 10]! << 2) | (b11 >> 6));
    units[j + 6] = BASE + (((b11 & 63) << 9) | (bytes[i + 12]! << 1) | (b13 >> 7));
    units[j + 7] = BASE + (((b13 & 127) << 8) | bytes[i + 14]!);
  }
  let acc = 0;
  let bits = 0;
  for (; i < n; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    if (bits >= 15) {
      bits -= 15;
      units[j++] = BASE + ((acc >>> bits) & MASK);
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) units[j] = BASE + ((acc << (15 - bits)) & MASK);
  return unitsToString(units);
}

let utf16: TextDecoder | null | undefined;

/** The units as a string: TextDecoder where it knows UTF-16 (several times faster), else fromCharCode. */
function unitsToString(units: Uint16Array): string {
  if (utf16 === undefined) {
    try {
      // Every unit is in U+0800..U+87FF: no surrogate, no BOM, so decoding is exact.
      utf16 = new TextDecoder('utf-16le', { ignoreBOM: true });
    } catch {
      utf16 = null; // no TextDecoder, or no UTF-16 in it
    }
  }
  if (utf16) return utf16.decode(units);
  let s = '';
  for (let i = 0; i < units.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, units.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return s;
}

/** String from `pack` → bytes; null when `s` was not packed from `byteLength` bytes. */
export function unpack(s: string, byteLength: number): Uint8Array | null {
  if (!Number.isInteger(byteLength) || byteLength < 0 || s.length !== packedLength(byteLength)) return null;
  const out = new Uint8Array(byteLength);
  // 8 units are exactly 15 bytes: whole groups first.
  const groups = Math.floor(byteLength / 15);
  let i = 0;
  let j = 0;
  for (let g = 0; g < groups; g++, i += 8, j += 15) {
    const u0 = s.charCodeAt(i) - BASE;
    const u1 = s.charCodeAt(i + 1) - BASE;
    const u2 = s.charCodeAt(i + 2) - BASE;
    const u3 = s.charCodeAt(i + 3) - BASE;
    const u4 = s.charCodeAt(i + 4) - BASE;
    const u5 = s.charCodeAt(i + 5) - BASE;
    const u6 = s.charCodeAt(i + 6) - BASE;
    const u7 = s.charCodeAt(i + 7) - BASE;
    if ((u0 | u1 | u2 | u3 | u4 | u5 | u6 | u7) & ~MASK) return null; // a unit out of range (negative too)
    out[j] = u0 >> 7;
    out[j + 1] = (u0 << 1) | (u1 >> 14);
    out[j + 2] = u1 >> 6;
    out[j + 3] = (u1 << 2) | (u2 >> 13);
    out[j + 4] = u2 >> 5;
    out[j + 5] = (u2 << 3) | (u3 >> 12);
    out[j + 6] = u3 >> 4;
    out[j + 7] = (u3 << 4) | (u4 >> 11);
    out[j + 8] = u4 >> 3;
    out[j + 9] = (u4 << 5) | (u5 >> 10);
    out[j + 10] = u5 >> 2;
    out[j + 11] = (u5 << 6) | (u6 >> 9);
    out[j + 12] = u6 >> 1;
    out[j + 13] = (u6 << 7) | (u7 >> 8);
    out[j + 14] = u7;
  }
  let acc = 0;
  let bits = 0;
  for (; i < s.length; i++) {
    const v = s.charCodeAt(i) - BASE;
    if (v < 0 || v > MASK) return null;
    acc = (acc << 15) | v;
    bits += 15;
    while (bits >= 8 && j < byteLength) {
      bits -= 8;
      out[j++] = (acc >>> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return out;
}
