// The bounded output writer shared by the encoders. Writes past `end` are
// not made; they set `over`, and the encoder rolls the span back.
import { MAX_SPAN_BYTES, OUT } from "./layout";

/**
 * Scratch where one attribute is encoded when it is set (see kv): the output
 * buffer, which holds a request only from `encode` until the host has copied
 * it, and no attribute is set in between. No larger attribute fits a span.
 */
export const KV_SIZE: i32 = MAX_SPAN_BYTES;
export const KV: usize = OUT;

/** Where the next attribute is encoded: out.KV, or straight into its record. */
export let kvAt: usize = KV;
export let kvCap: i32 = KV_SIZE;
/** Bytes at the start of the last encoded attribute that name its key (the same bytes for the same key). */
export let kvKey: i32 = 0;

@inline export function setKVKey(n: i32): void {
  kvKey = n;
}

export let pos: usize = OUT;
/** First byte of the last encoded request (the encoder may start it past OUT). */
export let start: usize = OUT;
export let end: usize = OUT;
export let over: bool = false;
/** Spans in the last encoded request. */
export let lastCount: i32 = 0;

export function setCount(n: i32): void {
  lastCount = n;
}

export function reset(limit: usize): void {
  pos = start = OUT;
  end = OUT + limit;
  over = false;
}

/** Sets where the next attribute is encoded (`kvAt`, at most `cap` bytes). */
@inline export function kvTarget(at: usize, cap: i32): void {
  kvAt = at;
  kvCap = cap;
}

/** Points the writer at the attribute target (see kvTarget). */
@inline export function toKV(): void {
  pos = kvAt;
  end = kvAt + <usize>kvCap;
  over = false;
}

export function setStart(at: usize): void {
  start = at;
}

export function setEnd(limit: usize): void {
  end = OUT + limit;
}

export function rollback(to: usize): void {
  pos = to;
  over = false;
}

/** True when `n` more bytes fit; otherwise marks the output as over. */
@inline export function room(n: i32): bool {
  if (pos + <usize>n > end) {
    over = true;
    return false;
  }
  return true;
}

@inline export function byte(b: u32): void {
  if (room(1)) store<u8>(pos++, <u8>b);
}

export function copy(src: usize, n: i32): void {
  if (n > 0 && room(n)) {
    copyBytes(pos, src, n);
    pos += n;
  }
}

/**
 * memory.copy (a call out of the Wasm code in V8), but short copies (most
 * names, keys, values) inline: two or four words that may overlap each
 * other, never a byte past `n`. `src` and `dst` must not overlap.
 */
@inline export function copyBytes(dst: usize, src: usize, n: i32): void {
  if (n <= 32) {
    const e = <usize>n;
    if (n >= 8) {
      if (n > 16) {
        store<u64>(dst, load<u64>(src));
        store<u64>(dst, load<u64>(src, 8), 8);
        store<u64>(dst + e - 16, load<u64>(src + e - 16));
      } else {
        store<u64>(dst, load<u64>(src));
      }
      store<u64>(dst + e - 8, load<u64>(src + e - 8));
    } else if (n >= 4) {
      store<u32>(dst, load<u32>(src));
      store<u32>(dst + e - 4, load<u32>(src + e - 4));
    } else {
      for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, load<u8>(src + <usize>i));
    }
  } else {
    memory.copy(dst, src, n);
  }
}

/** Bytes of an ASCII literal (a static UTF-16 string) as UTF-8. */
export function ascii(s: string): void {
  const n = s.length;
  if (!room(n)) return;
  const src = changetype<usize>(s);
  for (let i = 0; i < n; i++) store<u8>(pos + <usize>i, load<u16>(src + (<usize>i << 1)));
  pos += n;
}
