// wasmtrace/worker: OpenTelemetry tracing for Cloudflare Workers.
export { instrument, getSpan, getTracer } from './instrument.js';
export { setClock } from '../src/clock.js';
export { SpanKind, SpanStatusCode } from '../src/types.js';
export type { ConfigInput, ExecutionContext, Handler, MessageBatch, ScheduledController, WorkerConfig } from './types.js';
export type { Tracer } from '../src/tracer.js';
export type { Attributes, AttributeValue, Span, SpanContext, SpanOptions, SpanStatus } from '../src/types.js';
