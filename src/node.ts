// The Node.js entry: the same API, with the Wasm read from beside this file
// and OTEL_* settings read from process.env.
import { readFile } from 'node:fs/promises';
import { initWith, type InitOptions } from './init.js';
import type { Tracer } from './tracer.js';

/** Loads the Wasm module (from dist/, or `options.wasm`) and returns a tracer; never rejects. */
export function init(options: InitOptions): Promise<Tracer> {
  return initWith(
    {
      language: 'nodejs',
      defaultWasm: (json) => readFile(new URL(json ? './wasmtrace-json.wasm' : './wasmtrace.wasm', import.meta.url)),
    },
    { env: process.env, ...options },
  );
}

export { SpanKind, SpanStatusCode } from './types.js';
export { setClock } from './clock.js';
export { parseTraceparent, parseTracestate, formatTraceparent } from './propagation.js';
export type { Tracer } from './tracer.js';
export type { InitOptions, LimitOptions, SamplerOptions } from './init.js';
export type {
  AttributeValue, Attributes, Link, ParentInput, Span, SpanContext, SpanOptions, SpanStatus, TimeInput, TracerStats,
} from './types.js';
export type { ExportResult, Transport, DeliveryOptions } from './export/types.js';
export type { WasmSource } from './wasm.js';
