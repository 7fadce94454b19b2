// Delivery options: defaults, OTEL_* environment names, and clamping of bad
// values with one warning each (never a throw).
import type { DeliveryOptions, ResolvedDeliveryOptions, StorageLike } from './types.js';

/** Bytes of keepalive bodies a page may have in flight (PLATFORM-FACTS.md). */
export const KEEPALIVE_BUDGET = 65536;

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Merges user options over OTEL_EXPORTER_OTLP_* / OTEL_BSP_* values from `env`
 * over defaults. Each bad value is replaced by its default with one `warn`.
 */
export function resolveDeliveryOptions(
  user: DeliveryOptions | ResolvedDeliveryOptions = {},
  env: Env = {},
  warn: (message: string) => void = () => {},
): ResolvedDeliveryOptions {
  const num = (name: keyof DeliveryOptions, envName: string | null, def: number, min: number, max: number): number => {
    const given = user[name] ?? (envName ? env[envName] : undefined);
    if (given === undefined || given === '') return def;
    const n = typeof given === 'number' ? given : Number(given);
    if (!Number.isFinite(n) || n < min || n > max) {
      warn(`wasmtrace: ${String(name)} ${String(given)} is outside [${min}, ${max}]; using ${def}`);
      return def;
    }
    return Math.floor(n);
  };
  return {
    endpoint: endpointOf(user.endpoint, env, warn),
    protocol: protocolOf(user.protocol ?? env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL, warn),
    headers: { ...headersOf(env.OTEL_EXPORTER_OTLP_HEADERS), ...headersOf(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS), ...user.headers },
    maxExportBatchSize: num('maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, 100_000),
    scheduledDelayMs: num('scheduledDelayMs', 'OTEL_BSP_SCHEDULE_DELAY', 5000, 0, 3_600_000),
    compression: compressionOf(
      user.compression ?? env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION,
      warn,
    ),
    maxQueueBytes: num('maxQueueBytes', null, 1 << 20, 0, 4 << 20),
    storage: user.storage === undefined ? defaultStorage() : user.storage,
    storageKeyPrefix: user.storageKeyPrefix || 'wasmtrace:',
    retryInitialDelayMs: num('retryInitialDelayMs', null, 1000, 0, 3_600_000),
    retryMaxDelayMs: num('retryMaxDelayMs', null, 60_000, 0, 3_600_000),
    maxAttempts: num('maxAttempts', null, 5, 1, 100),
    maxConcurrentRequests: num('maxConcurrentRequests', null, 2, 1, 16),
    timeoutMs: num(
      'timeoutMs',
      env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT',
      10_000,
      1,
      600_000,
    ),
    transport: typeof user.transport === 'function' ? user.transport : null,
  };
}

function endpointOf(given: string | undefined, env: Env, warn: (m: string) => void): string {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = given ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? base.replace(/\/*$/, '/v1/traces') : DEFAULT_ENDPOINT);
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    return new URL(url, base).href;
  } catch {
    warn(`wasmtrace: endpoint ${url} is not a URL; using ${DEFAULT_ENDPOINT}`);
    return DEFAULT_ENDPOINT;
  }
}

function protocolOf(given: string | undefined, warn: (m: string) => void): 'http/protobuf' | 'http/json' {
  if (given === undefined || given === 'http/protobuf') return 'http/protobuf';
  if (given === 'http/json') return 'http/json';
  warn(`wasmtrace: protocol ${given} is not supported; using http/protobuf`);
  return 'http/protobuf';
}

function compressionOf(given: string | undefined, warn: (m: string) => void): 'gzip' | 'none' | 'auto' {
  if (given === undefined || given === 'auto') return 'auto';
  if (given === 'gzip' || given === 'none') return given;
  warn(`wasmtrace: compression ${given} is not supported; using auto`);
  return 'auto';
}

/** `k1=v1,k2=v2` with URL-encoded values (the OTEL_EXPORTER_OTLP_HEADERS format). */
function headersOf(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed escape: skip that header only.
    }
  }
  return out;
}

/** `globalThis.localStorage` when it exists and accepts a write, else null. */
export function defaultStorage(): StorageLike | null {
  try {
    const s = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (!s) return null;
    const probe = 'wasmtrace:probe';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    // Disabled storage (private mode, blocked cookies) throws on access.
    return null;
  }
}
