// One internal error handler. wasmtrace never throws into the host app:
// failures land here, and warnings print only in debug mode (plus the
// one-time warnings a user needs to fix a setting).

let debug = false;
const warned = new Set<string>();

export function setDebug(on: boolean): void {
  debug = on;
}

const print = (...a: unknown[]): void => {
  try {
    console.warn('[wasmtrace]', ...a);
  } catch {
    // a console that throws must not reach the app
  }
};

/** Reports an internal failure (debug mode only); never throws. */
export function internalError(e: unknown): void {
  if (debug) print(e);
}

/** `String(x)`, or its `[object Tag]` when that throws (no prototype, a throwing toString), or its type. */
export function safeString(x: unknown): string {
  try {
    return String(x);
  } catch {
    try {
      return Object.prototype.toString.call(x);
    } catch {
      return typeof x; // a Proxy whose every trap throws
    }
  }
}

/** What a caught `e` says, for a warning: an Error's message, else `String(e)`; never throws (see safeString). */
export function describe(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    return safeString(e);
  }
}

/** The one wording of a setting that cannot be `value`, replaced by `used`. */
export const badSetting = (name: string, value: unknown, used: unknown): string => `bad ${name} ${safeString(value)}; using ${safeString(used)}`;

/** Warns once that setting `name` cannot be `value`; returns the default `def` used instead. */
export function fallback<T>(name: string, value: unknown, def: T): T {
  warnOnce(badSetting(name, value, def));
  return def;
}

/**
 * A numeric setting (a number, or text from the environment): unset or
 * empty gives `def`; a number from `min` to `max` is taken, floored; anything
 * else gives `def` with one `warn`ing.
 */
export function rangeSetting(name: string, given: unknown, min: number, max: number, def: number, warn: (message: string) => void = warnOnce): number {
  if (given === undefined || given === '') return def;
  let n = NaN;
  try {
    n = Number(given); // a Symbol, or an object with no prototype, throws
  } catch {
    // not a number
  }
  if (Number.isFinite(n) && n >= min && n <= max) return Math.floor(n);
  warn(badSetting(name, given, def));
  return def;
}

/** `v` as an integer within [lo, hi]; a bad value warns once (a non-number falls back to `def`). */
export function clampInt(v: unknown, lo: number, hi: number, def: number, name: string): number {
  if (v === undefined) return def;
  const c = typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.floor(v))) : def;
  if (c !== v) warnOnce(badSetting(name, v, c));
  return c;
}

/** An options group (`sampler`, `limits`): an object, or unset (undefined, null); anything else warns once and counts as unset. */
export function group<T extends object>(name: string, v: unknown): T | undefined {
  if (v != null && typeof v !== 'object') warnOnce(badSetting(name, v, 'the defaults'));
  return v != null && typeof v === 'object' ? (v as T) : undefined;
}

/** Warns once per distinct message, in debug mode only (what a user debugging delivery needs to see). */
export function debugOnce(message: string): void {
  if (debug) warnOnce(message);
}

/** Warns once per distinct message, whatever the debug setting. */
export function warnOnce(message: string): void {
  if (warned.has(message) || warned.size > 100) return;
  warned.add(message);
  print(message);
}
