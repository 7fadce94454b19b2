// Delivery options: defaults, OTEL_* environment names, and clamping of bad
// values with one warning each (never a throw).
import { badSetting, debugOnce, rangeSetting } from '../diag.js';
import { keyValues } from '../resource.js';
import { type Env, envEndpoint, envValue, otlpEnum, otlpEnv } from '../env.js';
import type { DeliveryOptions, ResolvedDeliveryOptions, StorageLike } from './types.js';

/** Bytes of keepalive bodies a page may have in flight (PLATFORM-FACTS.md). */
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
  const num = (name: keyof DeliveryOptions, def: number, min: number, max: number, fromEnv?: string): number =>
    rangeSetting(name, user[name] ?? fromEnv, min, max, def, warn);
  /** `given` if it is one of `allowed`, else the first of them. */
  const oneOf = <T extends string>(name: string, given: string | undefined, allowed: T[]): T =>
    given === undefined || (allowed as string[]).includes(given) ? ((given as T) ?? allowed[0]) : bad(name, given, allowed[0]!);
  const url = user.endpoint ?? envEndpoint(env) ?? DEFAULT_ENDPOINT;
  let endpoint: string;
  try {
    endpoint = new URL(url, (globalThis as { location?: { href?: string } }).location?.href).href;
  } catch {
    // A bad value is named as the user wrote it: the option, or the variable it came from.
    const name = user.endpoint === undefined ? ENDPOINT_VARS.find((v) => envValue(env, v)) : undefined;
    endpoint = name ? bad(name, envValue(env, name), DEFAULT_ENDPOINT) : bad('endpoint', url, DEFAULT_ENDPOINT);
  }
  return {
    endpoint,
    protocol: oneOf('protocol', user.protocol ?? otlpEnum(env, 'PROTOCOL'), ['http/protobuf', 'http/json']),
    headers: { ...keyValues(env.OTEL_EXPORTER_OTLP_HEADERS), ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS), ...user.headers },
    maxExportBatchSize: num('maxExportBatchSize', 512, 1, 100_000, envValue(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE')),
    scheduledDelayMs: num('scheduledDelayMs', 5000, 0, 3_600_000, envValue(env, 'OTEL_BSP_SCHEDULE_DELAY')),
    compression: oneOf('compression', user.compression ?? otlpEnum(env, 'COMPRESSION'), ['auto', 'gzip', 'none']),
    maxQueueBytes: num('maxQueueBytes', 1 << 20, 0, 4 << 20),
    storage: user.storage === undefined ? defaultStorage() : user.storage,
    storageKeyPrefix: user.storageKeyPrefix || 'wasmtrace:',
    retryInitialDelayMs: num('retryInitialDelayMs', 1000, 0, 3_600_000),
    retryMaxDelayMs: num('retryMaxDelayMs', 60_000, 0, 3_600_000),
    maxAttempts: num('maxAttempts', 5, 1, 100),
    maxConcurrentRequests: num('maxConcurrentRequests', 2, 1, 16),
    timeoutMs: num('timeoutMs', 10_000, 1, 600_000, otlpEnv(env, 'TIMEOUT')),
    transport: typeof user.transport === 'function' ? user.transport : null,
  };
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
