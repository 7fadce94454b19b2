// init(): load the Wasm module, configure it, and wire the tracer to
// delivery. It never rejects: if Wasm cannot load (CSP, network), it warns
// once and resolves to a tracer that records nothing.
import type { AttributeValue } from './types.js';
import type { DeliveryHooks, DeliveryOptions, Gzip, ResolvedDeliveryOptions, SpanSource } from './export/types.js';
import { createCore, type Core } from './core.js';
import { createPipeline, resolveDeliveryOptions } from './export/pipeline.js';
import { hintEndpoint, withUserAgent } from './export/options.js';
import { setAttr } from './attributes.js';
import { now, timeOrigin } from './clock.js';
import { describe, group, internalError, setDebug, warnOnce } from './diag.js';
import { createNoopTracer, createTracer, type Tracer } from './tracer.js';
import { instantiate, type WasmSource } from './wasm.js';
import { resourceAttributes } from './resource.js';
import { configureTail, rootTraceState, samplerRatio } from './sampler.js';
import { envSamplerRatio, envValue, sdkDisabled } from './env.js';

import type { SamplerOptions } from './sampler.js';
import { resolveLimits, type LimitOptions } from './limits.js';
export type { LimitOptions, SamplerOptions };

export interface InitOptions extends DeliveryOptions {
  /**
   * `service.name` of every span. Default: `resource`'s `service.name`, else
   * OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES' `service.name`, else
   * `unknown_service` (in Node `unknown_service:` and the executable's name), with a warning.
   */
  serviceName?: string;
  /** More resource attributes (`service.version`, `deployment.environment.name`, …). */
  resource?: Record<string, AttributeValue>;
  sampler?: SamplerOptions;
  /** URLs (prefix strings or RegExps) that may receive traceparent, besides same-origin ones. */
  propagateTo?: string | RegExp | Array<string | RegExp>;
  /** Span limits; default the OTEL_*_LIMIT variables, else OpenTelemetry's defaults (values: 4096 characters). */
  limits?: LimitOptions;
  /** The Wasm module: a URL, bytes, a Response or a compiled WebAssembly.Module; in Node also a file: URL or a file path. */
  wasm?: WasmSource;
  /** Record and send nothing: init() resolves to a tracer that does nothing (OTEL_SDK_DISABLED=true does the same). */
  disabled?: boolean;
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
  /** A gzip faster than CompressionStream, where the runtime has one. */
  gzip?: Gzip;
  /** Delivery's settings, when the caller resolved them from these options already (the browser start-up). */
  delivery?: ResolvedDeliveryOptions;
  /** The signal that aborts a delivery request, given its timeout's (Node: the exit budget too). */
  signal?: DeliveryHooks['signal'];
  /** No page to outlive (Node): no keepalive requests, and no keepalive budget. */
  pageless?: boolean;
  /** The User-Agent of export requests, where the runtime lets us set one. */
  userAgent?: string;
  /** service.name when none is set: `unknown_service:` and the executable's name, where there is one (Node). */
  unknownService?: string;
  /** The environment variables when the options give none (Node: process.env). */
  env?: Record<string, string | undefined>;
  /** Resource attributes set again before each batch is encoded (a page's session.id); a value keeps its length. */
  liveResource?: () => Record<string, AttributeValue>;
}

export async function initWith(platform: Platform, options: InitOptions): Promise<Tracer> {
  try {
    const opts = (options && typeof options === 'object' ? options : {}) as InitOptions;
    setDebug(opts.debug === true);
    const env = opts.env ?? platform.env ?? {};
    if (sdkDisabled(opts.disabled, env)) return createNoopTracer();
    const resolved = platform.delivery ?? resolveDeliveryOptions(opts, env, warnOnce);
    const headers = withUserAgent(resolved.headers, platform.userAgent);
    const delivery = headers === resolved.headers ? resolved : { ...resolved, headers };
    if (opts.endpoint !== undefined) hintEndpoint(delivery.endpoint);
    const json = delivery.protocol === 'http/json';
    const x = await instantiate(opts.wasm ?? (await platform.defaultWasm(json)));
    const limits = resolveLimits(opts.limits, env);
    const core = createCore(x, json ? 'application/json' : 'application/x-protobuf', limits.attributeValueLength);

    crypto.getRandomValues(core.u8.subarray(core.io, core.io + 32));
    x.seed();
    const sampler = group<SamplerOptions>('sampler', opts.sampler);
    const ratio = samplerRatio(sampler?.ratio, envSamplerRatio(env, warnOnce));
    x.configure(timeOrigin(), ratio, limits.attributes, limits.events, limits.links, limits.attributesPerEvent);

    configureTail(x, sampler);

    setAll(core, resourceAttributes(opts, env, platform.language, platform.unknownService));

    // Drops are reported on the next export as spans of their own, made by a
    // tracer of their own ([0]): shutdown() stops the app's ([1]) and sends the
    // reports it makes. Held here, by the pipeline, the app's tracer lives while
    // spans wait for delivery (its timers hold the pipeline): the Node entry,
    // which holds tracers weakly, still flushes them at exit.
    const tracers: Tracer[] = [];
    const live = platform.liveResource;
    const source: SpanSource = live
      ? { ...core.source, drain: (maxBytes, maxSpans, keep) => (setAll(core, live()), core.source.drain(maxBytes, maxSpans, keep)) }
      : core.source;
    const pipeline = createPipeline(source, delivery, {
      dropped(reason, spans) {
        tracers[0]?.startSpan('wasmtrace.dropped', { attributes: { 'wasmtrace.drop.reason': reason, 'wasmtrace.drop.spans': spans } }, null).end();
      },
      error: internalError,
      gzip: platform.gzip,
      signal: platform.signal,
      pageless: platform.pageless,
      // Page hide decides every held trace before delivery cuts its last batch.
      hidden: () => x.settle(now(), 1),
    });
    // TRACEPARENT/TRACESTATE/BAGGAGE in the environment: the caller's span and baggage (a job started by a traced process).
    const caller = { traceparent: envValue(env, 'TRACEPARENT'), tracestate: envValue(env, 'TRACESTATE'), baggage: envValue(env, 'BAGGAGE') };
    const root = { rootTraceState: rootTraceState(ratio) };
    tracers.push(createTracer(core, pipeline, root), createTracer(core, pipeline, { ...root, caller }));
    return tracers[1]!;
  } catch (e) {
    warnOnce(`tracing is off: ${describe(e)}`);
    internalError(e);
    return createNoopTracer();
  }
}

/** Sets resource attributes (a same-length value is overwritten in place). */
function setAll(core: Core, attributes: Record<string, AttributeValue>): void {
  for (const [k, v] of Object.entries(attributes)) setAttr(core, 0, k, v, 0);
}
