// Attribute values and interned strings, written into the core's IO area.
import { IO, IO_SIZE } from "../core/layout";
import { internBytes } from "../core/intern";
import {
  attr, RESOURCE, V_ARR_BOOL, V_ARR_DBL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR,
} from "../core/span";
import { utf8 } from "./text";

const ids = new Map<string, i32>();

/** Characters kept of a string attribute value (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; 4096 as in JS, at most 16384). */
let valueLimit: i32 = 4096;

export function setValueLimit(n: i32): void {
  valueLimit = min(n, 16384); // as in JS (docs/wasi.md)
}

/** `s` cut to `valueLimit` UTF-16 units, never between the halves of a surrogate pair. */
function cut(s: string): string {
  if (s.length <= valueLimit) return s;
  const c = s.charCodeAt(valueLimit - 1);
  return s.substring(0, c >= 0xd800 && c <= 0xdbff ? valueLimit - 1 : valueLimit);
}

/** The intern id of `s` (span names, attribute keys), interning it once; -1 when the table is full. */
export function internId(s: string): i32 {
  if (ids.has(s)) return ids.get(s);
  const id = internBytes(IO, utf8(s, IO, IO_SIZE));
  if (id >= 0) ids.set(s, id);
  return id;
}

/** Writes `s` into IO; returns its UTF-8 length. */
@inline export function toIO(s: string): i32 {
  return utf8(s, IO, IO_SIZE);
}

/** Sets attribute `keyId` (already interned, maybe with NESTED) on handle `h`. */
export function setValue<T>(h: i32, keyId: i32, value: T): i32 {
  if (isString<T>()) {
    const s = changetype<string>(value);
    return attr(h, keyId, V_STR, 0, toIO(h == RESOURCE ? s : cut(s))); // the resource is exempt, as the specification says
  } else if (isBoolean<T>()) {
    return attr(h, keyId, V_BOOL, value ? 1 : 0, 0);
  } else if (isInteger<T>()) {
    return attr(h, keyId, V_INT, <f64>value, 0);
  } else if (isFloat<T>()) {
    return attr(h, keyId, V_DBL, <f64>value, 0);
  } else if (isArray<T>()) {
    return setArray<valueof<T>>(h, keyId, changetype<Array<valueof<T>>>(value));
  } else {
    ERROR("setAttribute takes a string, bool, integer, float, or an array of these");
    return 0;
  }
}

function setArray<E>(h: i32, keyId: i32, values: Array<E>): i32 {
  let o: i32 = 0;
  let n: i32 = 0;
  const count = values.length;
  for (let i = 0; i < count; i++) {
    const v = unchecked(values[i]);
    if (isString<E>()) {
      if (o + 2 > IO_SIZE) break;
      const s = changetype<string>(v);
      const len = utf8(h == RESOURCE ? s : cut(s), IO + <usize>(o + 2), IO_SIZE - o - 2);
      store<u16>(IO + <usize>o, <u16>len);
      o += 2 + len;
    } else if (isBoolean<E>()) {
      if (o + 1 > IO_SIZE) break;
      store<u8>(IO + <usize>o, v ? 1 : 0);
      o += 1;
    } else if (isInteger<E>()) {
      if (o + 8 > IO_SIZE) break;
      store<f64>(IO + <usize>o, <f64>v); // V_ARR_INT elements cross as f64, as from the host
      o += 8;
    } else {
      if (o + 8 > IO_SIZE) break;
      store<f64>(IO + <usize>o, <f64>v);
      o += 8;
    }
    n++;
  }
  const vtype = isString<E>() ? V_ARR_STR : isBoolean<E>() ? V_ARR_BOOL : isInteger<E>() ? V_ARR_INT : V_ARR_DBL;
  return attr(h, keyId, vtype, <f64>n, o);
}
