// wasmtrace: OpenTelemetry tracing with its hot path in WebAssembly.
import { initWith, type InitOptions } from './init.js';
import type { Tracer } from './tracer.js';

/**
 * Loads the Wasm module and returns a tracer. Never rejects: when Wasm cannot
 * load, it warns once and resolves to a tracer that records nothing.
 */
export function init(options: InitOptions): Promise<Tracer> {
  return initWith(
    {
      language: 'webjs',
      // Each URL with one string literal: the form Vite and webpack 5 find and emit as an asset.
      defaultWasm: (json) => (json ? new URL('./wasmtrace-json.wasm', import.meta.url) : new URL('./wasmtrace.wasm', import.meta.url)),
    },
    options,
  );
}

export { SpanKind, SpanStatusCode } from './types.js';
export { setClock } from './clock.js';
export { parseTraceparent, parseTracestate, formatTraceparent } from './propagation.js';
export type { Tracer } from './tracer.js';
export type { InitOptions, LimitOptions, SamplerOptions } from './init.js';
export type {
  AttributeValue, Attributes, Link, OtelContext, ParentInput, Span, SpanContext, SpanContextInput, SpanOptions, SpanStatus, TimeInput, TracerStats,
} from './types.js';
export type { ExportResult, Transport, TransportMeta, TransportResponse, DeliveryOptions } from './export/types.js';
export type { WasmSource } from './wasm.js';
