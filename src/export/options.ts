// Delivery options: defaults, OTEL_* environment names, and clamping of bad
// values with one warning each (never a throw).
import { badSetting, debugOnce, rangeSetting } from '../diag.js';
import { keyValues } from '../resource.js';
import { type Env, MAX_TIMEOUT_MS, envEndpoint, envValue, otlpEnum } from '../env.js';
import type { DeliveryOptions, ResolvedDeliveryOptions, StorageLike } from './types.js';

/** Bytes of keepalive bodies a page may have in flight (docs/platform.md). */
export const KEEPALIVE_BUDGET = 65536;

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';
/** The variables the endpoint comes from when no option gives it, in the order they win. */
const ENDPOINT_VARS = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'];

/**
 * Merges user options over OTEL_EXPORTER_OTLP_* / OTEL_BSP_* values from `env`
 * over defaults. Each bad value is replaced by its default with one `warn`.
 */
export function resolveDeliveryOptions(
  user: DeliveryOptions | ResolvedDeliveryOptions = {},
  env: Env = {},
  warn: (message: string) => void = () => {},
): ResolvedDeliveryOptions {
  const bad = <T>(name: string, given: unknown, def: T): T => {
    warn(badSetting(name, given, def));
    return def;
  };
  /** Of the variables `names`, the first that is set (a bad value is named as the user wrote it: the option, or this variable). */
  const setVar = (...names: string[]): string | undefined => names.find((n) => envValue(env, n) !== undefined);
  const otlpVar = (key: string): string | undefined => setVar('OTEL_EXPORTER_OTLP_TRACES_' + key, 'OTEL_EXPORTER_OTLP_' + key);
  /** The option `name`, else the variable `envName`, within min..max. */
  const num = (name: keyof DeliveryOptions, def: number, min: number, max: number, envName?: string): number => {
    const given = user[name];
    return given == null && envName
      ? rangeSetting(envName, envValue(env, envName), min, max, def, warn)
      : rangeSetting(name, given ?? undefined, min, max, def, warn);
  };
  /** The option `name`, else the OTLP variable `key` (lower-cased), if it is one of `allowed`; else the first of them. */
  const oneOf = <T extends string>(name: 'protocol' | 'compression', key: string, allowed: T[]): T => {
    const option = user[name];
    const given = option ?? otlpEnum(env, key);
    return given === undefined || (allowed as string[]).includes(given) ? ((given as T) ?? allowed[0]) : bad(option === undefined ? otlpVar(key)! : name, given, allowed[0]!);
  };
  const url = user.endpoint ?? envEndpoint(env) ?? DEFAULT_ENDPOINT;
  let endpoint: string;
  try {
    endpoint = new URL(url, (globalThis as { location?: { href?: string } }).location?.href).href;
  } catch {
    // A bad value is named as the user wrote it: the option, or the variable it came from.
    const name = user.endpoint === undefined ? setVar(...ENDPOINT_VARS) : undefined;
    endpoint = name ? bad(name, envValue(env, name), DEFAULT_ENDPOINT) : bad('endpoint', url, DEFAULT_ENDPOINT);
  }
  return {
    endpoint,
    protocol: oneOf('protocol', 'PROTOCOL', ['http/protobuf', 'http/json']),
    headers: exportHeaders(env, user.headers, warn),
    maxExportBatchSize: num('maxExportBatchSize', 512, 1, 100_000, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    scheduledDelayMs: num('scheduledDelayMs', 5000, 0, 3_600_000, 'OTEL_BSP_SCHEDULE_DELAY'),
    compression: oneOf('compression', 'COMPRESSION', ['auto', 'gzip', 'none']),
    maxQueueBytes: num('maxQueueBytes', 1 << 20, 0, 4 << 20),
    storage: storageOption(user.storage, bad),
    storageKeyPrefix: user.storageKeyPrefix || 'wasmtrace:',
    retryInitialDelayMs: num('retryInitialDelayMs', 1000, 0, 3_600_000),
    retryMaxDelayMs: num('retryMaxDelayMs', 60_000, 0, 3_600_000),
    maxAttempts: num('maxAttempts', 5, 1, 100),
    // A page can close at any moment: its cut batches should be in flight by
    // then (Firefox can end a pagehide handler inside the fetch it starts).
    maxConcurrentRequests: num('maxConcurrentRequests', typeof document === 'object' ? 6 : 2, 1, 16),
    timeoutMs: num('timeoutMs', 10_000, 0, MAX_TIMEOUT_MS, otlpVar('TIMEOUT')) || MAX_TIMEOUT_MS,
    transport: typeof user.transport === 'function' ? user.transport : null,
  };
}

/** `headers` with `ua` as their User-Agent unless they name one, in any case (OTLP: exporters SHOULD identify themselves, where the runtime lets them: not pages). */
export const withUserAgent = (headers: Record<string, string>, ua: string | undefined): Record<string, string> =>
  !ua || Object.keys(headers).some((k) => /^user-agent$/i.test(k)) ? headers : { ...headers, 'user-agent': ua };

/**
 * The export headers of OTEL_EXPORTER_OTLP_HEADERS, its TRACES_ variant and
 * the option `own`, the later winning: by name in any case, as HTTP's are
 * (fetch would send both of `Authorization` and `authorization`, joined into
 * one value no collector takes). Workers use it as well.
 *
 * Of those, the ones an export can carry: each other would fail every
 * export, so it is dropped with one `warn` naming it (never its value: it
 * may be a secret). HTTP's rule first — a token name, no control character
 * in the value —, as runtimes' Headers take more than their fetch sends
 * (Node's and workerd's take control characters in values; workerd's, names
 * beyond the token characters), then the runtime's own (a page's refuses
 * values beyond Latin-1). Content-Type and Content-Encoding go too, in any
 * case: delivery's own say what the body is.
 */
export function exportHeaders(env: Env, own: Record<string, string> | undefined, warn: (message: string) => void): Record<string, string> {
  const byName = new Map<string, [string, string]>();
  for (const h of [keyValues(env.OTEL_EXPORTER_OTLP_HEADERS), keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS), own ?? {}])
    for (const [k, v] of Object.entries(h)) byName.set(k.toLowerCase(), [k, v]);
  const out: Array<[string, string]> = [];
  for (const [k, v] of byName.values()) {
    if (/^[\w!#$%&'*+.^`|~-]+$/.test(k) && !/^content-(type|encoding)$/i.test(k) && !/[\0-\x08\n-\x1f\x7f]/.test(String(v).trim()) && fetchAccepts(k, v)) out.push([k, v]);
    else warn(badSetting('header', JSON.stringify(k), 'none'));
  }
  // fromEntries: a name such as __proto__ is a header like any other.
  return Object.fromEntries(out);
}

function fetchAccepts(name: string, value: string): boolean {
  try {
    if (typeof Headers === 'function') new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

/**
 * In debug mode, a hint for an endpoint given in code without the traces
 * path: OTLP uses such an endpoint as it is (only the base-URL variable
 * OTEL_EXPORTER_OTLP_ENDPOINT gets `/v1/traces` appended), so a collector's
 * base URL there is a 404 on every export.
 */
export function hintEndpoint(endpoint: string): void {
  const u = new URL(endpoint);
  if (!/\/v1\/traces\/?$/.test(u.pathname)) {
    debugOnce(`endpoint ${endpoint} is used as given (no /v1/traces added); did you mean ${u.origin + u.pathname.replace(/\/*$/, '/v1/traces')}?`);
  }
}

/** The `storage` option: unset is localStorage when usable, null is none, and anything but a Web Storage (its methods) warns once and counts as unset. */
function storageOption(s: unknown, bad: <T>(name: string, given: unknown, def: T) => T): StorageLike | null {
  const ok = s === null || (typeof s === 'object' && ['key', 'getItem', 'setItem', 'removeItem'].every((m) => typeof (s as Record<string, unknown>)[m] === 'function'));
  if (ok) return s as StorageLike | null;
  const def = defaultStorage();
  if (s !== undefined) bad('storage', s, def ? 'localStorage' : null);
  return def;
}

/** `globalThis.localStorage` when it exists and accepts a write, else null. */
export function defaultStorage(): StorageLike | null {
  try {
    const s = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (!s) return null;
    s.setItem('wasmtrace:probe', '1');
    s.removeItem('wasmtrace:probe');
    return s;
  } catch {
    // Disabled storage (private mode, blocked cookies) throws on access.
    return null;
  }
}
