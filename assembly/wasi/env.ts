// The WASI environment, read once at start-up (configuration is not hot).
import { environ_get, environ_sizes_get, ESUCCESS } from "./sys";

let names: string[] = [];
let values: string[] = [];
let loaded = false;
const SIZES: usize = memory.data(8);

function load_(): void {
  loaded = true;
  const sizes = SIZES;
  if (environ_sizes_get(sizes, sizes + 4) != ESUCCESS) return;
  const count = <i32>load<u32>(sizes);
  const bytes = <i32>load<u32>(sizes, 4);
  if (count <= 0 || bytes <= 0) return;
  const ptrs = new ArrayBuffer(count << 2);
  const buf = new ArrayBuffer(bytes);
  if (environ_get(changetype<usize>(ptrs), changetype<usize>(buf)) != ESUCCESS) return;
  const end = changetype<usize>(buf) + <usize>bytes;
  for (let i = 0; i < count; i++) {
    const p = <usize>load<u32>(changetype<usize>(ptrs) + (<usize>i << 2));
    let q = p;
    while (q < end && load<u8>(q) != 0) q++;
    let eq = p;
    while (eq < q && load<u8>(eq) != 0x3d) eq++;
    if (eq == q) continue;
    names.push(String.UTF8.decodeUnsafe(p, <i32>(eq - p)));
    values.push(String.UTF8.decodeUnsafe(eq + 1, <i32>(q - eq - 1)));
  }
}

/** The value of an environment variable, or "" when it is unset. */
export function getenv(name: string): string {
  if (!loaded) load_();
  for (let i = 0; i < names.length; i++) {
    if (unchecked(names[i]) == name) return unchecked(values[i]);
  }
  return "";
}

/**
 * An enum-valued variable, trimmed and with ASCII letters lower-cased: the
 * specification reads enum values case-insensitively ("" when unset).
 */
export function getenvEnum(name: string): string {
  return asciiLower(getenv(name).trim());
}

/** `s` with ASCII letters lower-cased. */
export function asciiLower(s: string): string {
  // Into a buffer: a string grown a character at a time is quadratic in time and garbage.
  const n = s.length;
  const buf = new StaticArray<u16>(n);
  for (let i = 0; i < n; i++) {
    const c = <u16>s.charCodeAt(i);
    unchecked((buf[i] = c >= 65 && c <= 90 ? c + 32 : c));
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(buf), <usize>n << 1);
}
