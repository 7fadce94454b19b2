// Configuration from instrument()'s argument and the Worker's env: the
// standard OTEL_* names fill what the config leaves out. Bad values are
// replaced by their default with one warning, never thrown.
import type { ConfigInput, WorkerConfig } from './types.js';
import { type RedactQuery, listSetting } from '../src/url.js';
import { badSetting, describe, fallback, rangeSetting, warnOnce } from '../src/diag.js';
import { exportHeaders, withUserAgent } from '../src/export/options.js';
import { VERSION } from '../src/version.js';
import { type Env, MAX_TIMEOUT_MS, envEndpoint, envValue, otlpEnum, sdkDisabled } from '../src/env.js';

export type { Env };

/** Internal (`_` names are minified): what the tracer and the fetch wrapper need. */
export interface Resolved {
  readonly _c: WorkerConfig;
  /** The vars of the env as text (OTEL_* and the rest; TOML booleans and numbers too). */
  readonly _v: Env;
  readonly _endpoint: string;
  readonly _headers: Record<string, string>;
  readonly _json: boolean;
  readonly _gzip: boolean;
  readonly _timeout: number;
  /** How long an ended invocation's spans wait for others' to share an export, ms. */
  readonly _delay: number;
  /** Most spans in one export request. */
  readonly _batch: number;
  /** `propagateTo` as a list; undefined: every URL. */
  readonly _to: ReadonlyArray<string | RegExp> | undefined;
  readonly _redact: RedactQuery;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';
const DEFAULT_DELAY_MS = 100;
/** Longest export delay: it and the export must fit in waitUntil's 30 s after the response. */
const MAX_DELAY_MS = 10_000;

/** Resolves the config for `env`; null when tracing is disabled. Never throws. */
export function resolveConfig<E>(input: ConfigInput<E>, env: E): Resolved | null {
  let c: WorkerConfig = {};
  try {
    const given = typeof input === 'function' ? input(env) : input;
    if (given && typeof given === 'object') c = given;
  } catch (e) {
    warnOnce(`config function failed; tracing is off: ${describe(e)}`);
    return null;
  }
  const v: Record<string, string> = {};
  if (env && typeof env === 'object')
    for (const [k, x] of Object.entries(env)) {
      // wrangler passes [vars] TOML booleans and numbers as such: read as the text they were written as.
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') v[k] = String(x);
      else if (x !== undefined && k.startsWith('OTEL_')) warnOnce(badSetting(k, `(${typeof x})`, 'the default'));
    }
  if (sdkDisabled(c.disabled, v)) return null;
  /**
   * The config's `name` when it gives one, else the first of the variables
   * `vars` set in the env: [the name a warning gives, the value].
   */
  const setting = (name: keyof WorkerConfig, ...vars: string[]): [string, unknown] => {
    const own = c[name];
    if (own != null && own !== '') return [name, own];
    const n = vars.find((x) => envValue(v, x) !== undefined);
    return n ? [n, envValue(v, n)] : [name, undefined];
  };
  const otlp = (name: keyof WorkerConfig, key: string): [string, unknown] => setting(name, 'OTEL_EXPORTER_OTLP_TRACES_' + key, 'OTEL_EXPORTER_OTLP_' + key);
  let endpoint = c.endpoint || envEndpoint(v) || DEFAULT_ENDPOINT;
  try {
    endpoint = new URL(endpoint).href;
  } catch {
    endpoint = fallback(...otlp('endpoint', 'ENDPOINT'), DEFAULT_ENDPOINT); // named and shown as the user wrote it
  }
  const protocol = c.protocol ?? otlpEnum(v, 'PROTOCOL') ?? 'http/protobuf';
  const json = protocol === 'http/json' && !!c.wasm;
  // http/json needs wasm: the wasmtrace/wasmtrace-json.wasm module.
  if (!json && protocol !== 'http/protobuf') fallback(otlp('protocol', 'PROTOCOL')[0] + (protocol === 'http/json' ? ' (without wasm)' : ''), protocol, 'http/protobuf');
  const compression = c.compression ?? otlpEnum(v, 'COMPRESSION') ?? 'none';
  // `auto` (the pages' and Node's default, read from a shared env) is gzip here: no CORS preflight to avoid.
  const gzip = compression === 'gzip' || compression === 'auto';
  if (!gzip && compression !== 'none') fallback(otlp('compression', 'COMPRESSION')[0], compression, 'none');
  return {
    _c: c,
    _v: v,
    _endpoint: endpoint,
    _headers: withUserAgent(exportHeaders(v, c.headers, warnOnce), `wasmtrace/${VERSION} (Cloudflare Workers)`),
    _json: json,
    _gzip: gzip,
    _timeout: rangeSetting(...otlp('timeoutMs', 'TIMEOUT'), 0, MAX_TIMEOUT_MS, 10_000) || MAX_TIMEOUT_MS,
    _delay: rangeSetting(...setting('scheduledDelayMs', 'OTEL_BSP_SCHEDULE_DELAY'), 0, MAX_DELAY_MS, DEFAULT_DELAY_MS),
    _batch: rangeSetting(...setting('maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'), 1, 100_000, 512),
    _to: listSetting('propagateTo', c.propagateTo, 'every URL', true),
    _redact: typeof c.redactQuery === 'boolean' ? c.redactQuery : listSetting('redactQuery', c.redactQuery, 'signature keys'),
  };
}
