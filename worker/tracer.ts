// One tracer per isolate, made on the first invocation (the env is only
// known then). It composes the core and the tracer directly, with the
// Workers delivery, so the bundle carries no browser storage or lifecycle code.
import wasm from './wasmtrace.wasm';
import type { Tracer } from '../src/tracer.js';
import type { Resolved } from './config.js';
import { createCore } from '../src/core.js';
import { createTracer, safe } from '../src/tracer.js';
import type { ParentIds } from '../src/context.js';
import { exact } from './context.js';
import type { WasmExports } from '../src/wasm.js';
import { setAttr } from '../src/attributes.js';
import { resourceAttributes } from '../src/resource.js';
import { resetOrigin, timeOrigin } from '../src/clock.js';
import { describe, internalError, setDebug, warnOnce } from '../src/diag.js';
import { createDelivery, fetchTransport } from './export.js';
import { configureTail, rootTraceState, samplerRatio } from '../src/sampler.js';
import { resolveLimits } from '../src/limits.js';
import { envSamplerRatio } from '../src/env.js';

/** What OpenTelemetry names the language of a Service Worker-style runtime. */
const LANGUAGE = 'webjs';

/** The isolate's tracer, and what each invocation calls when it ends: the export to wait for, if any. */
export interface WorkerTracing {
  readonly _tracer: Tracer;
  readonly _ended: () => Promise<unknown>;
}

/** Makes the tracer; resolves to null (after one warning) when Wasm cannot load. */
export async function createWorkerTracer(r: Resolved, fetchFn: typeof fetch): Promise<WorkerTracing | null> {
  try {
    const c = r._c;
    setDebug(c.debug === true);
    // workerd reads performance.now() as 0 at module load (docs/platform.md).
    resetOrigin();
    // Workers give Wasm as a compiled module (no compiling at run time): no URL or bytes path needed.
    const x = (await WebAssembly.instantiate(c.wasm ?? wasm, {})).exports as unknown as WasmExports;
    const limits = resolveLimits(c.limits, r._v);
    const core = createCore(x, r._json ? 'application/json' : 'application/x-protobuf', limits.attributeValueLength);
    crypto.getRandomValues(core.u8.subarray(core.io, core.io + 32));
    x.seed();
    const ratio = samplerRatio(c.sampler?.ratio, envSamplerRatio(r._v, warnOnce));
    x.configure(timeOrigin(), ratio, limits.attributes, limits.events, limits.links, limits.attributesPerEvent);
    configureTail(x, c.sampler);
    const resource = resourceAttributes(c, r._v, LANGUAGE);
    resource['cloud.provider'] ??= 'cloudflare';
    resource['cloud.platform'] ??= 'cloudflare.workers';
    for (const k in resource) setAttr(core, 0, k, resource[k], 0);
    const send = c.transport ?? fetchTransport(fetchFn, r._endpoint, r._headers, r._timeout);
    // After an await, the invocation running now parents the user's spans where AsyncLocalStorage knows it.
    const delivery = createDelivery(core.source, send, r._delay, r._batch, r._gzip);
    const tracer = createTracer(core, delivery, { rootTraceState: rootTraceState(ratio), invocation: exact as () => ParentIds | undefined });
    // Contained like every tracer call: a failure here must not reject the invocation's waitUntil.
    return { _tracer: tracer, _ended: () => safe(delivery.ended) };
  } catch (e) {
    warnOnce(`tracing is off: ${describe(e)}`);
    internalError(e);
    return null;
  }
}
