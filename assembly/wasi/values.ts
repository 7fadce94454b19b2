// Attribute values and interned strings, written into the core's IO area.
import { IO, IO_SIZE, INTERN_MAX } from "../core/layout";
import { internBytes } from "../core/intern";
import {
  attr, INLINE, RESOURCE, V_ARR_BOOL, V_ARR_DBL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR,
} from "../core/span";
import { utf8 } from "./text";

/** Strings longer than this are never interned (they rarely repeat), as in JS (src/core.ts). */
const INTERN_MAX_CHARS = 128;
/** Names may take 3/4 of the intern table; the rest is kept for attribute keys. */
const NAMES_MAX = INTERN_MAX * 3 / 4;

const ids = new Map<string, i32>();
let internFull = false;

/** Characters kept of a string attribute value (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; 4096 as in JS, at most 16384). */
let valueLimit: i32 = 4096;

/** The most characters a value limit keeps, as in JS (src/limits.ts). */
export const MAX_VALUE_LENGTH: i32 = 16384;

export function setValueLimit(n: i32): void {
  valueLimit = min(n, MAX_VALUE_LENGTH);
}

/** `s` cut to `valueLimit` UTF-16 units, never between the halves of a surrogate pair. */
function cut(s: string): string {
  if (s.length <= valueLimit) return s;
  const c = s.charCodeAt(valueLimit - 1);
  return s.substring(0, c >= 0xd800 && c <= 0xdbff ? valueLimit - 1 : valueLimit);
}

/**
 * The intern id of `s` (a name, or an attribute key when `key` is set),
 * interning it once; -1 when it is not interned (long, the names' share used
 * up, or the table full): the caller writes it out.
 */
export function internId(s: string, key: bool = false): i32 {
  if (ids.has(s)) return ids.get(s);
  if (internFull || s.length > INTERN_MAX_CHARS || (!key && ids.size >= NAMES_MAX)) return -1;
  const id = internBytes(IO, toIO(s));
  if (id < 0) internFull = true;
  else ids.set(s, id);
  return id;
}

/** Writes `s` into IO; returns its UTF-8 length. */
@inline export function toIO(s: string): i32 {
  return utf8(s, IO, IO_SIZE);
}

/** `s` written whole at byte `at` of IO; its length, or past the IO area when it does not fit (`attr` drops and counts that). */
function whole(s: string, at: i32): i32 {
  return at > IO_SIZE ? IO_SIZE + 1 : utf8(s, IO + <usize>at, IO_SIZE - at, true);
}

/**
 * The key argument of `attr`: the interned id `k`, or (-1: not interned) the
 * key written inline after the value's `len` bytes; with `nested`.
 */
function keyArg(key: string, k: i32, nested: i32, len: i32): i32 {
  return (k < 0 ? INLINE | whole(key, len) : k) | nested;
}

/** Sets attribute `key` on handle `h`; `nested` (NESTED or 0) targets the last event. An empty key is dropped, as in JS. */
export function setAttr<T>(h: i32, key: string, nested: i32, value: T): void {
  if (!key.length) return;
  const k = internId(key, true); // before the value: interning writes the key into IO
  if (isString<T>()) {
    const s = changetype<string>(value);
    const n = whole(h == RESOURCE ? s : cut(s), 0); // the resource is exempt, as the specification says
    attr(h, keyArg(key, k, nested, n), V_STR, 0, n);
  } else if (isBoolean<T>()) {
    attr(h, keyArg(key, k, nested, 0), V_BOOL, value ? 1 : 0, 0);
  } else if (isInteger<T>()) {
    // A u64 past int64 goes as a double, as JS sends integers past int64.
    attr(h, keyArg(key, k, nested, 0), overInt64<T>(value) ? V_DBL : V_INT, <f64>value, 0);
  } else if (isFloat<T>()) {
    attr(h, keyArg(key, k, nested, 0), V_DBL, <f64>value, 0);
  } else if (isArray<T>()) {
    setArray<valueof<T>>(h, key, k, nested, changetype<Array<valueof<T>>>(value));
  } else {
    ERROR("setAttribute takes a string, bool, integer, float, or an array of these");
  }
}

/** True for a u64 above the int64 maximum (OTLP's intValue is an int64). */
@inline function overInt64<T>(v: T): bool {
  return sizeof<T>() == 8 && !isSigned<T>() && <u64>v > <u64>I64.MAX_VALUE;
}

/** Arrays larger than the IO area, so larger than a span holds, are dropped and counted by `attr`, as in JS. */
function setArray<E>(h: i32, key: string, k: i32, nested: i32, values: Array<E>): void {
  let o: i32 = 0;
  let ints = true;
  const count = values.length;
  const size = isString<E>() ? 2 : isBoolean<E>() ? 1 : 8; // bytes per element (strings: their length's)
  for (let i = 0; i < count; i++) {
    const v = unchecked(values[i]);
    const at = IO + <usize>o;
    o += size;
    if (o > IO_SIZE) break;
    if (isString<E>()) {
      const s = changetype<string>(v);
      const len = utf8(h == RESOURCE ? s : cut(s), at + 2, IO_SIZE - o, true); // past the IO area when it does not fit
      store<u16>(at, <u16>len);
      o += len;
    } else if (isBoolean<E>()) {
      store<u8>(at, v ? 1 : 0);
    } else {
      store<f64>(at, <f64>v); // V_ARR_INT elements cross as f64, as from the host
      if (isInteger<E>() && overInt64<E>(v)) ints = false;
    }
  }
  const vtype = isString<E>() ? V_ARR_STR : isBoolean<E>() ? V_ARR_BOOL : isInteger<E>() && ints ? V_ARR_INT : V_ARR_DBL;
  const len = o > IO_SIZE ? IO_SIZE + 1 : o;
  attr(h, keyArg(key, k, nested, len), vtype, <f64>count, len);
}
