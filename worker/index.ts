// wasmtrace/worker: OpenTelemetry tracing for Cloudflare Workers.
export { instrument, getSpan, getTracer } from './instrument.js';
export { setClock } from '../src/clock.js';
export { SpanKind, SpanStatusCode } from '../src/types.js';
export type { ConfigInput, ExecutionContext, Handler, MessageBatch, ScheduledController, WorkerConfig } from './types.js';
export type { Tracer } from '../src/tracer.js';
export type {
  Attributes, AttributeValue, Link, OtelContext, ParentInput, Span, SpanContext, SpanContextInput, SpanOptions, SpanStatus, TimeInput, TracerStats,
} from '../src/types.js';
export type { ExportResult, Transport, TransportMeta, TransportResponse } from '../src/export/types.js';
export type { SamplerOptions } from '../src/sampler.js';
export type { LimitOptions } from '../src/limits.js';
export type { Carrier } from '../src/propagation.js';
export type { WasmModule } from '../src/wasm.js';
