// The Workers shapes wasmtrace touches, declared structurally so that the
// public types need neither @cloudflare/workers-types nor the DOM lib.
import type { AttributeValue } from '../src/types.js';
import type { SamplerOptions } from '../src/sampler.js';
import type { LimitOptions } from '../src/limits.js';
import type { Transport } from '../src/export/types.js';
import type { WasmModule } from '../src/wasm.js';

/** The `ctx` of a Workers handler. */
export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException?(): void;
}

/** The `controller` of a `scheduled` handler. */
export interface ScheduledController {
  /** Unix ms the run was scheduled for. */
  readonly scheduledTime: number;
  readonly cron: string;
  noRetry?(): void;
}

/** The `batch` of a `queue` handler. */
export interface MessageBatch {
  readonly queue: string;
  readonly messages: readonly unknown[];
}

/** A Workers handler object (the module's default export). */
export interface Handler<Env = unknown> {
  fetch?(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  scheduled?(controller: ScheduledController, env: Env, ctx: ExecutionContext): void | Promise<void>;
  queue?(batch: MessageBatch, env: Env, ctx: ExecutionContext): void | Promise<void>;
}

/** What `instrument` accepts; each option has an `OTEL_*` fallback in the env where one exists. */
export interface WorkerConfig {
  /** `service.name`; default `OTEL_SERVICE_NAME`. */
  serviceName?: string;
  /** OTLP/HTTP traces URL; default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, `http://localhost:4318/v1/traces`. */
  endpoint?: string;
  /** `http/protobuf` (default) or `http/json` (needs `wasm`: the `wasmtrace/wasmtrace-json.wasm` module). */
  protocol?: 'http/protobuf' | 'http/json';
  /**
   * `gzip` or `none` (default `OTEL_EXPORTER_OTLP_COMPRESSION`, else `none`): gzip costs the isolate
   * CPU per export (`CompressionStream`) and saves the collector's bandwidth. `auto` (the pages' and
   * Node's default, so an env shared with them reads the same) is gzip.
   */
  compression?: 'gzip' | 'none' | 'auto';
  /** Headers of every export (e.g. an API key); merged over `OTEL_EXPORTER_OTLP_HEADERS` by name in any case, these winning. */
  headers?: Record<string, string>;
  /** More resource attributes; merged over `OTEL_RESOURCE_ATTRIBUTES`. */
  resource?: Record<string, AttributeValue>;
  /**
   * `ratio`: share of new traces kept, 0..1 (default `OTEL_TRACES_SAMPLER_ARG` or 1; a caller's
   * sampled flag wins); `keepErrors` (default true) and `slowMs` keep failed and slow traces whatever
   * the ratio (tail sampling: spans wait in Wasm until the request's SERVER span ends).
   */
  sampler?: SamplerOptions;
  /** Span limits (`attributes`, `events`, `links`, `attributesPerEvent`, `attributeValueLength`); default the `OTEL_*_LIMIT` variables, else 128 each and 4096 characters. */
  limits?: LimitOptions;
  /** URL prefixes or RegExps that get traceparent on outgoing fetch (one alone is a list of one); default every URL. */
  propagateTo?: string | RegExp | Array<string | RegExp>;
  /** `url.full` query values replaced by `REDACTED`: `true` for all, or more keys than the default signature keys (one alone is a list of one). */
  redactQuery?: boolean | string | string[];
  /**
   * Requests not to trace (they still run). Default: CORS preflights (`OPTIONS`
   * with `Access-Control-Request-Method`), which browsers never send with a
   * traceparent and which would each make a one-span trace.
   */
  ignore?: (request: Request) => boolean;
  /** `http.route` of a request (e.g. `/api/checkout`); also names the span. */
  route?: (request: Request) => string | undefined;
  /** Longest wait for the collector per export, ms; default `OTEL_EXPORTER_OTLP_TIMEOUT` or 10000; 0 is no limit (taken as 600000). */
  timeoutMs?: number;
  /**
   * How long the spans of an invocation that has ended wait for other
   * invocations of the isolate to end, so that all of them leave in one
   * export (inside the first one's waitUntil), ms, 0 to 10000; 0 exports each
   * invocation on its own. Default `OTEL_BSP_SCHEDULE_DELAY` or 100.
   */
  scheduledDelayMs?: number;
  /** Most spans in one export request, 1 to 100000; default `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` or 512. */
  maxExportBatchSize?: number;
  /** A custom sender instead of fetch (tests, benchmarks). */
  transport?: Transport;
  /** A different Wasm module (a `WebAssembly.Module` import). */
  wasm?: WasmModule;
  /** No tracing at all; default `OTEL_SDK_DISABLED=true`. */
  disabled?: boolean;
  /** Print internal errors. */
  debug?: boolean;
}

/** `instrument`'s second argument: the config, or a function of the env returning it. */
export type ConfigInput<Env> = WorkerConfig | ((env: Env) => WorkerConfig);
