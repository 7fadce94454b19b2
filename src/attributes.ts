// Attribute values into Wasm: numbers cross as arguments, strings and arrays
// through the IO area. Values the OpenTelemetry API would not accept are
// dropped here, quietly (a debug-mode warning).
import { truncate, type Core } from './core.js';
import { internalError } from './diag.js';
import { INLINE, IO_SIZE, V_ARR_BOOL, V_ARR_DBL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR } from './wasm.js';

/** The handle of the resource: its attributes are exempt from the value length limit, as the specification says. */
const RESOURCE = 0;

/** Largest |n| sent as an OTLP int (int64); larger integers go as doubles. */
const INT64_SAFE = 9.2e18;

/**
 * `n` sent as an OTLP double even when integral: a measurement whose type
 * must not change from span to span. (A Number object, which the API's
 * attribute types do not admit: the SDK's own instrumentations make them.)
 */
export const double = (n: number): number => Object(n) as number;

/**
 * The key argument of `attr`: the interned id `k`, or (-1: not interned, the
 * table full or the key long) the key written after the value's `len` bytes.
 */
const keyArg = (core: Core, key: string, k: number, nested: number, len = 0): number => (k < 0 ? INLINE | core.whole(key, len) : k) | nested;

/** Sets one attribute on span/resource `h`; `nested` targets the last event or link. */
export function setAttr(core: Core, h: number, key: unknown, value: unknown, nested: number): void {
  if (typeof key !== 'string' || key === '') return;
  const k = core.id(key, true);
  const x = core.x;
  switch (typeof value) {
    case 'string': {
      const v = h === RESOURCE ? value : truncate(value, core.valueLimit);
      const n = v.length > IO_SIZE / 3 ? core.whole(v) : core.str(v); // 3 bytes per UTF-16 unit at most
      x.attr(h, keyArg(core, key, k, nested, n), V_STR, 0, n);
      return;
    }
    case 'number':
      x.attr(h, keyArg(core, key, k, nested), Number.isInteger(value) && Math.abs(value) < INT64_SAFE ? V_INT : V_DBL, value, 0);
      return;
    case 'boolean':
      x.attr(h, keyArg(core, key, k, nested), V_BOOL, value ? 1 : 0, 0);
      return;
    default:
      if (value instanceof Number) x.attr(h, keyArg(core, key, k, nested), V_DBL, value.valueOf(), 0);
      else if (Array.isArray(value)) setArray(core, h, key, k, nested, value);
      else if (value !== undefined && value !== null) internalError(`attribute ${key}: unsupported value type ${typeof value}`);
  }
}

/**
 * Homogeneous arrays of strings, numbers or booleans, where null (or
 * undefined) elements are kept as empty values; anything else is dropped.
 */
function setArray(core: Core, h: number, name: string, k: number, nested: number, values: readonly unknown[]): void {
  const n = values.length;
  let kind = 'string'; // all null: a string array's worth of nulls
  for (let i = 0; i < n; i++) {
    if (values[i] != null) {
      kind = typeof values[i];
      break;
    }
  }
  for (let i = 0; i < n; i++) {
    if ((values[i] != null && typeof values[i] !== kind) || (kind !== 'string' && kind !== 'number' && kind !== 'boolean')) {
      internalError('array attribute dropped: elements must all be strings, numbers or booleans');
      return;
    }
  }
  const { x, u8, f64, io } = core;
  const key = (len: number): number => keyArg(core, name, k, nested, len);
  // Larger than the IO area, so larger than a span holds: dropped, and counted by attr.
  const tooLarge = (): void => void x.attr(h, key(IO_SIZE + 1), V_ARR_STR, 0, IO_SIZE + 1);
  if (n === 0) {
    x.attr(h, key(0), V_ARR_STR, 0, 0);
  } else if (kind === 'number') {
    if (n > IO_SIZE / 8) return tooLarge();
    let ints = true;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number | null;
      if (v == null) u8.fill(0xff, io + i * 8, io + i * 8 + 8); // NULL_NUM
      else {
        f64[i] = v === v ? v : NaN; // any NaN as the canonical one: its bits are never NULL_NUM's
        if (!Number.isInteger(v) || Math.abs(v) >= INT64_SAFE) ints = false;
      }
    }
    x.attr(h, key(n * 8), ints ? V_ARR_INT : V_ARR_DBL, n, n * 8);
  } else if (kind === 'boolean') {
    if (n > IO_SIZE) return tooLarge();
    for (let i = 0; i < n; i++) u8[io + i] = values[i] == null ? 2 : values[i] ? 1 : 0; // 2: NULL_BOOL
    x.attr(h, key(n), V_ARR_BOOL, n, n);
  } else {
    // [u16 length][UTF-8 bytes] per element
    const encoder = new TextEncoder();
    let at = 0;
    for (let i = 0; i < n; i++) {
      const room = IO_SIZE - at - 2;
      if (room < 0) return tooLarge();
      const s = values[i] as string | null;
      let written = 0xffff; // NULL_STR (IO_SIZE is smaller)
      if (s != null) {
        const v = h === RESOURCE ? s : truncate(s, core.valueLimit);
        const r = encoder.encodeInto(v, u8.subarray(io + at + 2, io + at + 2 + room));
        if (r.read !== v.length) return tooLarge();
        written = r.written;
      }
      u8[io + at] = written & 255;
      u8[io + at + 1] = written >>> 8;
      at += 2 + (s == null ? 0 : written);
    }
    x.attr(h, key(at), V_ARR_STR, n, at);
  }
}
