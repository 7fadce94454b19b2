// init(): load the Wasm module, configure it, and wire the tracer to
// delivery. It never rejects: if Wasm cannot load (CSP, network), it warns
// once and resolves to a tracer that records nothing.
import type { AttributeValue } from './types.js';
import type { DeliveryOptions } from './export/types.js';
import { createCore } from './core.js';
import { createPipeline, resolveDeliveryOptions } from './export/pipeline.js';
import { setAttr } from './attributes.js';
import { now, timeOrigin } from './clock.js';
import { watchLifecycle } from './export/lifecycle.js';
import { internalError, setDebug, warnOnce } from './diag.js';
import { createNoopTracer, createTracer, type Tracer } from './tracer.js';
import { instantiate, type WasmSource } from './wasm.js';
import { resourceAttributes } from './resource.js';

export interface SamplerOptions {
  /** Share of traces kept, 0..1 (decided from the trace id); default 1. */
  ratio?: number;
  /** Keep every trace with an error (tail sampling); default true. */
  keepErrors?: boolean;
  /** Keep every trace whose local root lasts longer, ms. */
  slowMs?: number;
  /** Longest time spans wait for their trace's decision, ms; default 30000. */
  maxHoldMs?: number;
}

export interface LimitOptions {
  /** Attributes per span (OpenTelemetry default 128). */
  attributes?: number;
  /** Events per span (default 128). */
  events?: number;
  /** Links per span (default 128). */
  links?: number;
  /** Attributes per event or link (default 128). */
  attributesPerEvent?: number;
  /** Characters kept of a string value (default 4096, at most 16384). */
  attributeValueLength?: number;
}

export interface InitOptions extends DeliveryOptions {
  /** `service.name` of every span; required. */
  serviceName: string;
  /** More resource attributes (`service.version`, `deployment.environment.name`, …). */
  resource?: Record<string, AttributeValue>;
  sampler?: SamplerOptions;
  /** URLs (prefix strings or RegExps) that may receive traceparent, besides same-origin ones. */
  propagateTo?: Array<string | RegExp>;
  limits?: LimitOptions;
  /** The Wasm module: a URL, bytes, a Response or a compiled WebAssembly.Module. */
  wasm?: WasmSource;
  /** Environment variables (OTEL_*) where the runtime has them. */
  env?: Record<string, string | undefined>;
  /** Print internal errors (otherwise they are swallowed silently). */
  debug?: boolean;
}

/** Defaults that depend on the entry point (browser, Node, worker). */
export interface Platform {
  /** `telemetry.sdk.language`. */
  language: string;
  /** The Wasm module for a protocol when the user gives none. */
  defaultWasm(json: boolean): WasmSource | Promise<WasmSource>;
}

const MAX_VALUE_LENGTH = 16 * 1024;

export async function initWith(platform: Platform, options: InitOptions): Promise<Tracer> {
  try {
    const opts = (options && typeof options === 'object' ? options : {}) as InitOptions;
    setDebug(opts.debug === true);
    const env = opts.env ?? {};
    const delivery = resolveDeliveryOptions(opts, env, warnOnce);
    const json = delivery.protocol === 'http/json';
    const x = await instantiate(opts.wasm ?? (await platform.defaultWasm(json)));
    const limits = opts.limits ?? {};
    const valueLimit = clampInt(limits.attributeValueLength, 1, MAX_VALUE_LENGTH, 4096, 'limits.attributeValueLength');
    const core = createCore(x, json ? 'application/json' : 'application/x-protobuf', valueLimit);

    const entropy = new Uint8Array(32);
    crypto.getRandomValues(entropy);
    core.u8.set(entropy, core.io);
    x.seed();
    const ratio = samplerRatio(opts.sampler?.ratio, env);
    x.configure(
      timeOrigin(),
      ratio,
      clampInt(limits.attributes, 0, 0xffff, 128, 'limits.attributes'),
      clampInt(limits.events, 0, 0xffff, 128, 'limits.events'),
      clampInt(limits.links, 0, 0xffff, 128, 'limits.links'),
      clampInt(limits.attributesPerEvent, 0, 0xffff, 128, 'limits.attributesPerEvent'),
    );

    const sampler = opts.sampler ?? {};
    x.sampling(sampler.keepErrors === false ? 0 : 1, clampInt(sampler.slowMs, 0, 3_600_000, 0, 'sampler.slowMs'), clampInt(sampler.maxHoldMs, 1, 3_600_000, 30_000, 'sampler.maxHoldMs'));
    // Page hide decides every held trace before delivery cuts its last batch
    // (listeners run in the order they were added).
    watchLifecycle({ hidden: () => x.settle(now(), 1), shown() {}, online() {} });

    for (const [k, v] of Object.entries(resourceAttributes(opts, env, platform.language))) setAttr(core, 0, k, v, 0);

    let tracer: Tracer | undefined;
    const pipeline = createPipeline(core.source, delivery, {
      dropped(reason, spans) {
        // Reported on the next export as a span of its own.
        tracer?.startSpan('wasmtrace.dropped', { attributes: { 'wasmtrace.drop.reason': reason, 'wasmtrace.drop.spans': spans } }, null).end();
      },
      error: internalError,
    });
    tracer = createTracer(core, pipeline, { rootTraceState: ratio < 1 ? `ot=th:${thresholdHex(ratio)}` : undefined });
    return tracer;
  } catch (e) {
    warnOnce(`tracing is off: ${e instanceof Error ? e.message : String(e)}`);
    internalError(e);
    return createNoopTracer();
  }
}

/**
 * The OpenTelemetry probability-sampling threshold for a ratio: 56 bits as
 * hex, trailing zeros removed (OTEP 235; the same rounding as the Wasm side).
 */
export function thresholdHex(ratio: number): string {
  const t = Math.round((1 - ratio) * 2 ** 56);
  if (t <= 0) return '0';
  const hex = (t >= 2 ** 56 ? 'ffffffffffffff' : t.toString(16).padStart(14, '0')).replace(/0+$/, '');
  return hex || '0';
}

function samplerRatio(ratio: unknown, env: Record<string, string | undefined>): number {
  const fromEnv = env.OTEL_TRACES_SAMPLER_ARG;
  const value = ratio ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : 1);
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    warnOnce(`sampler.ratio must be a number from 0 to 1; using 1`);
    return 1;
  }
  return value;
}

function clampInt(v: unknown, lo: number, hi: number, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    warnOnce(`${name} must be a number; using ${fallback}`);
    return fallback;
  }
  const c = Math.min(hi, Math.max(lo, Math.floor(v)));
  if (c !== v) warnOnce(`${name} must be an integer from ${lo} to ${hi}; using ${c}`);
  return c;
}
