// Configuration from instrument()'s argument and the Worker's env: the
// standard OTEL_* names fill what the config leaves out. Bad values are
// replaced by their default with one warning, never thrown.
import type { ConfigInput, WorkerConfig } from './types.js';
import { warnOnce } from '../src/diag.js';

export type Env = Record<string, string | undefined>;

export interface Resolved {
  readonly config: WorkerConfig;
  /** The string vars of the env (OTEL_* and the rest). */
  readonly env: Env;
  readonly endpoint: string;
  readonly headers: Record<string, string>;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly disabled: boolean;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';

/** Resolves the config for `env`; never throws. */
export function resolveConfig<E>(input: ConfigInput<E>, env: E): Resolved {
  let config: WorkerConfig = {};
  try {
    const c = typeof input === 'function' ? input(env) : input;
    if (c && typeof c === 'object') config = c;
  } catch (e) {
    warnOnce(`config function failed; tracing is off: ${String(e)}`);
    config = { disabled: true };
  }
  const vars: Env = {};
  if (env && typeof env === 'object') {
    for (const [k, v] of Object.entries(env)) if (typeof v === 'string') vars[k] = v;
  }
  const base = vars.OTEL_EXPORTER_OTLP_ENDPOINT;
  let endpoint = config.endpoint || vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? base.replace(/\/*$/, '/v1/traces') : DEFAULT_ENDPOINT);
  try {
    endpoint = new URL(endpoint).href;
  } catch {
    warnOnce(`endpoint ${endpoint} is not a URL; using ${DEFAULT_ENDPOINT}`);
    endpoint = DEFAULT_ENDPOINT;
  }
  let protocol = config.protocol ?? vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? vars.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/json' && !config.wasm) {
    warnOnce('http/json needs the json module: wasm: (import of wasmtrace/wasmtrace-json.wasm); using http/protobuf');
    protocol = 'http/protobuf';
  } else if (protocol !== 'http/json' && protocol !== 'http/protobuf') {
    warnOnce(`protocol ${protocol} is not supported; using http/protobuf`);
    protocol = 'http/protobuf';
  }
  const timeout = Number(config.timeoutMs ?? vars.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? vars.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000);
  return {
    config,
    env: vars,
    endpoint,
    headers: { ...pairs(vars.OTEL_EXPORTER_OTLP_HEADERS), ...pairs(vars.OTEL_EXPORTER_OTLP_TRACES_HEADERS), ...config.headers },
    json: protocol === 'http/json',
    timeoutMs: timeout > 0 && timeout <= 600_000 ? timeout : 10_000,
    disabled: config.disabled ?? vars.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
  };
}

/** `k1=v1,k2=v2` with percent-encoded parts (the OTEL_EXPORTER_OTLP_HEADERS format). */
function pairs(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed escape drops that header only.
    }
  }
  return out;
}
