// The host side of the boundary: views over Wasm memory, string writing,
// the intern cache, and the span source that delivery drains.
import type { Encoded, SpanSource, SpanStats } from './export/types.js';
import { IO_SIZE, OUT_SIZE, type WasmExports } from './wasm.js';
import { now } from './clock.js';

/** Strings longer than this are never interned (they rarely repeat). */
const INTERN_MAX_CHARS = 128;
/** Entries of the intern table (INTERN_MAX); names may take 3/4, the rest is kept for attribute keys. */
const INTERN_MAX = 2048;
const NAMES_MAX = INTERN_MAX * 0.75;
/** Entries of the cache of the string that follows each id (a power of two). */
const NEXT_SIZE = 256;

export interface Core {
  readonly x: WasmExports;
  /**
   * Writes a one-off string as UTF-8 into the IO area; returns its byte
   * length. What does not fit is cut, between characters.
   */
  str(s: string): number;
  /**
   * Writes `s` like `str`, whole, at byte `at` of the IO area; returns its
   * byte length, or a length past the IO area when it does not fit (`attr`
   * drops and counts the attribute then).
   */
  whole(s: string, at?: number): number;
  /** Characters kept of a string attribute value (`limits.attributeValueLength`). */
  readonly valueLimit: number;
  /**
   * The interned id of `s` (a name, or a key when `key` is set), or -1 when
   * it is not interned (long, or the table is full: the caller writes it out).
   */
  id(s: string, key?: boolean): number;
  /** Ids written by the last `start`: trace words 0-3, span words 4-5. */
  readonly ids: Int32Array;
  /** Trace flags written by the last `start`. */
  flags(): number;
  readonly u8: Uint8Array;
  readonly f64: Float64Array;
  readonly io: number;
  readonly source: SpanSource;
}

/**
 * `s` cut to at most `limit` UTF-16 units, never between the halves of a
 * surrogate pair (which would encode as U+FFFD).
 */
export function truncate(s: string, limit: number): string {
  if (s.length <= limit) return s;
  const c = s.charCodeAt(limit - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? limit - 1 : limit);
}

export function createCore(x: WasmExports, contentType: string, valueLimit: number): Core {
  // A .wasm of another release (a stale cached copy) would be written past its IO area: refused.
  if (x.ioSize?.() !== IO_SIZE) throw new Error('the Wasm module is not the one this script was built with (reload it from beside the script)');
  const buffer = x.memory.buffer; // fixed size: views never detach
  const u8 = new Uint8Array(buffer);
  const io = x.io();
  const ioView = new Uint8Array(buffer, io, IO_SIZE);
  const idsAt = x.ids();
  const ids = new Int32Array(buffer, idsAt, 6);
  const encoder = new TextEncoder();
  const interned = new Map<string, number>();
  let internFull = false;

  function str(s: string): number {
    const n = s.length;
    // Short ASCII strings: a plain loop beats encodeInto's call overhead.
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        u8[io + i] = c;
      }
      if (i === n) return n;
    }
    return encoder.encodeInto(s, ioView).written;
  }

  // Names and keys come in the same order span after span: each id remembers
  // the string looked up after it, and that string's id, which saves the Map
  // lookup (a hash probe) while the order repeats.
  const nextS: (string | undefined)[] = new Array(NEXT_SIZE);
  const nextK = new Int32Array(NEXT_SIZE);
  let last = 0; // 1 + the id looked up last, 0 for none, masked

  function id(s: string, key = false): number {
    const j = last;
    if (nextS[j] === s) {
      const k = nextK[j] as number;
      last = (k + 1) & (NEXT_SIZE - 1);
      return k;
    }
    let k = interned.get(s);
    if (k === undefined) {
      if (internFull || s.length > INTERN_MAX_CHARS || (!key && interned.size >= NAMES_MAX)) k = -1;
      else {
        k = x.intern(str(s));
        if (k < 0) internFull = true;
        else interned.set(s, k);
      }
    }
    if (k >= 0) {
      nextS[j] = s;
      nextK[j] = k;
    }
    last = (k + 1) & (NEXT_SIZE - 1);
    return k;
  }

  function whole(s: string, at = 0): number {
    const { read, written } = encoder.encodeInto(s, at ? ioView.subarray(Math.min(at, IO_SIZE)) : ioView);
    return read < s.length ? IO_SIZE + 1 : written;
  }

  const statsView = new Int32Array(buffer, x.stats(), 9);
  /** The module's counters, written by x.stats() into the view's place. */
  const counters = (): Int32Array => (x.stats(), statsView);

  const source: SpanSource = {
    contentType,
    pending() {
      try {
        x.settle(now(), 0); // traces held past their bound are decided now
      } catch {
        // a user clock that throws: what has ended still leaves
      }
      return x.pending();
    },
    drain(maxBytes: number, maxSpans = 0x7fffffff, keep?: (e: Encoded) => void): Encoded | null {
      let n = x.encode(maxBytes, maxSpans);
      if (n < 0) n = x.encode(OUT_SIZE, 1); // the oldest span alone is larger: it goes alone, the rest within maxBytes next
      if (n <= 0) return null;
      const spans = counters()[7] ?? 0;
      const at = x.out();
      const e = { body: u8.slice(at, at + n), spans };
      keep?.(e);
      x.commit();
      return e;
    },
    commit: () => x.commit(),
    stats(): SpanStats {
      const s = counters();
      return { droppedSpans: s[0] ?? 0, droppedData: s[1] ?? 0, droppedOversize: s[2] ?? 0, held: s[8] ?? 0 };
    },
  };

  return {
    x,
    str,
    whole,
    valueLimit,
    id,
    ids,
    flags: () => u8[idsAt + 24] ?? 0,
    u8,
    f64: new Float64Array(buffer, io, IO_SIZE / 8),
    io,
    source,
  };
}
