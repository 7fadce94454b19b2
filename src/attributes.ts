// Attribute values into Wasm: numbers cross as arguments, strings and arrays
// through the IO area. Values the OpenTelemetry API would not accept are
// dropped here, quietly (a debug-mode warning).
import { truncate, type Core } from './core.js';
import { internalError } from './diag.js';
import { IO_SIZE, V_ARR_BOOL, V_ARR_DBL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR } from './wasm.js';

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

/** Sets one attribute on span/resource `h`; `nested` targets the last event or link. */
export function setAttr(core: Core, h: number, key: unknown, value: unknown, nested: number): void {
  if (typeof key !== 'string' || key === '') return;
  const k = core.id(key);
  if (k < 0) {
    core.keysDropped++;
    return;
  }
  const x = core.x;
  switch (typeof value) {
    case 'string':
      x.attr(h, k | nested, V_STR, 0, core.str(h === RESOURCE ? value : truncate(value, core.valueLimit)));
      return;
    case 'number':
      x.attr(h, k | nested, Number.isInteger(value) && Math.abs(value) < INT64_SAFE ? V_INT : V_DBL, value, 0);
      return;
    case 'boolean':
      x.attr(h, k | nested, V_BOOL, value ? 1 : 0, 0);
      return;
    default:
      if (value instanceof Number) x.attr(h, k | nested, V_DBL, value.valueOf(), 0);
      else if (Array.isArray(value)) setArray(core, h, k | nested, value);
      else if (value !== undefined && value !== null) internalError(`attribute ${key}: unsupported value type ${typeof value}`);
  }
}

/** Homogeneous arrays of strings, numbers or booleans; anything else is dropped. */
function setArray(core: Core, h: number, key: number, values: readonly unknown[]): void {
  const n = values.length;
  const kind = typeof values[0];
  for (let i = 0; i < n; i++) {
    if (typeof values[i] !== kind || (kind !== 'string' && kind !== 'number' && kind !== 'boolean')) {
      internalError('array attribute dropped: elements must all be strings, numbers or booleans');
      return;
    }
  }
  const { x, u8, f64, io } = core;
  if (n === 0) {
    x.attr(h, key, V_ARR_STR, 0, 0);
  } else if (kind === 'number') {
    if (n > IO_SIZE / 8) return arrayTooLarge();
    let ints = true;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      f64[i] = v;
      if (!Number.isInteger(v) || Math.abs(v) >= INT64_SAFE) ints = false;
    }
    x.attr(h, key, ints ? V_ARR_INT : V_ARR_DBL, n, n * 8);
  } else if (kind === 'boolean') {
    if (n > IO_SIZE) return arrayTooLarge();
    for (let i = 0; i < n; i++) u8[io + i] = values[i] ? 1 : 0;
    x.attr(h, key, V_ARR_BOOL, n, n);
  } else {
    // [u16 length][UTF-8 bytes] per element
    const encoder = new TextEncoder();
    let at = 0;
    for (let i = 0; i < n; i++) {
      const room = IO_SIZE - at - 2;
      if (room < 0) return arrayTooLarge();
      const v = h === RESOURCE ? (values[i] as string) : truncate(values[i] as string, core.valueLimit);
      const { read, written } = encoder.encodeInto(v, u8.subarray(io + at + 2, io + at + 2 + Math.min(room, 0xffff)));
      if (read !== v.length) return arrayTooLarge();
      u8[io + at] = written & 255;
      u8[io + at + 1] = written >>> 8;
      at += 2 + written;
    }
    x.attr(h, key, V_ARR_STR, n, at);
  }
}

function arrayTooLarge(): void {
  internalError(`array attribute dropped: larger than ${IO_SIZE} bytes`);
}
