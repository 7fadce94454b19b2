// wasmtrace/browser: init() with the page instrumentations (document load,
// resources, fetch, XHR, interactions, navigations, errors, web vitals, long
// tasks, session.id). The core entry (`wasmtrace`) stays without them.
import type { BrowserInitOptions } from './types.js';
import type { Tracer } from '../tracer.js';
import { startBrowser } from './start.js';

/**
 * Loads the Wasm module from beside this file (or `options.wasm`), starts
 * every instrumentation not set to `false` in `options.instrumentations`,
 * and returns the tracer. Never rejects: without Wasm it warns once and
 * resolves to a tracer that records nothing, with nothing instrumented.
 */
export function init(options: BrowserInitOptions): Promise<Tracer> {
  return startBrowser(options, (json) => new URL(json ? './wasmtrace-json.wasm' : './wasmtrace.wasm', import.meta.url));
}

export type { BrowserInitOptions, InstrumentationOptions } from './types.js';
export { SpanKind, SpanStatusCode } from '../types.js';
export { setClock } from '../clock.js';
export { parseTraceparent, parseTracestate, formatTraceparent } from '../propagation.js';
export type { Tracer } from '../tracer.js';
export type { InitOptions, LimitOptions, SamplerOptions } from '../init.js';
export type {
  AttributeValue, Attributes, Link, ParentInput, Span, SpanContext, SpanOptions, SpanStatus, TimeInput, TracerStats,
} from '../types.js';
export type { ExportResult, Transport, DeliveryOptions } from '../export/types.js';
export type { WasmSource } from '../wasm.js';
