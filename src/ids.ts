// Ids cross the boundary as 32-bit words: little-endian loads of the wire
// bytes. These turn them into lowercase hex and back.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

/** Hex of one word's four bytes, in wire order. */
export function wordHex(w: number): string {
  return (HEX[w & 255] as string) + HEX[(w >>> 8) & 255] + HEX[(w >>> 16) & 255] + HEX[w >>> 24];
}

/** Words of a lowercase hex id (16 or 32 chars already validated). */
export function hexWords(hex: string, out: number[]): void {
  for (let i = 0; i < hex.length; i += 8) {
    out.push(
      (parseInt(hex.slice(i, i + 2), 16) |
        (parseInt(hex.slice(i + 2, i + 4), 16) << 8) |
        (parseInt(hex.slice(i + 4, i + 6), 16) << 16) |
        (parseInt(hex.slice(i + 6, i + 8), 16) << 24)) |
        0,
    );
  }
}

export const INVALID_TRACE_ID = '00000000000000000000000000000000';
export const INVALID_SPAN_ID = '0000000000000000';
