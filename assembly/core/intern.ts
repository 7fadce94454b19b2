// The intern table: strings that repeat (span names, attribute keys, common
// values) are copied into Wasm memory once and referred to by a small id.
import { INTERN_BYTES, INTERN_DATA, INTERN_INDEX, INTERN_MAX } from "./layout";

let count: i32 = 0;
let used: i32 = 0;

/** Copies `len` bytes at `src` into the table; returns the id, or -1 when full. */
export function internBytes(src: usize, len: i32): i32 {
  if (len < 0 || count >= INTERN_MAX || used + len > INTERN_BYTES) return -1;
  const entry = INTERN_INDEX + <usize>(count << 3);
  store<u32>(entry, used);
  store<u32>(entry, len, 4);
  memory.copy(INTERN_DATA + <usize>used, src, len);
  used += len;
  return count++;
}

@inline export function isInterned(id: i32): bool {
  return <u32>id < <u32>count;
}

@inline export function internPtr(id: i32): usize {
  return INTERN_DATA + <usize>load<u32>(INTERN_INDEX + <usize>(id << 3));
}

@inline export function internLen(id: i32): i32 {
  return load<i32>(INTERN_INDEX + <usize>(id << 3), 4);
}

export function internCount(): i32 {
  return count;
}
