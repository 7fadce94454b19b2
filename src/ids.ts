// Ids cross the boundary as 32-bit words: little-endian loads of the wire
// bytes. These turn them into lowercase hex and back.

const HEX: string[] = [];
for (let i = 256; i < 512; i++) HEX.push(i.toString(16).slice(1));

/** Hex of one word's four bytes, in wire order. */
export function wordHex(w: number): string {
  return (HEX[w & 255] as string) + HEX[(w >>> 8) & 255] + HEX[(w >>> 16) & 255] + HEX[w >>> 24];
}

/** Words of a lowercase hex id (16 or 32 chars already validated). */
export function hexWords(hex: string, out: number[]): void {
  for (let i = 0; i < hex.length; i += 8) {
    // Eight hex digits read big-endian, stored as the little-endian load of their bytes.
    const v = parseInt(hex.slice(i, i + 8), 16);
    out.push((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24));
  }
}

/** Lowercase hex of the right length (W3C Trace Context ids). */
export const TRACE_ID = /^[0-9a-f]{32}$/;
export const SPAN_ID = /^[0-9a-f]{16}$/;
/** All zeros: the invalid id (W3C Trace Context §3.2.2.3, §3.2.2.4). */
export const ZEROS = /^0+$/;

/** True for a trace id and span id that may name a parent: well formed and not all zero. */
export function validIds(traceId: unknown, spanId: unknown): traceId is string {
  return typeof traceId === 'string' && TRACE_ID.test(traceId) && typeof spanId === 'string' && SPAN_ID.test(spanId) && !ZEROS.test(traceId) && !ZEROS.test(spanId);
}

/** The span id of no span: a span started in a given trace without a parent. */
export const INVALID_SPAN_ID = '0'.repeat(16);
/** The trace id of no trace: a context that carries only baggage. */
export const ZERO_TRACE_ID = '0'.repeat(32);
