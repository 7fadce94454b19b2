// wasmtrace/assembly: OpenTelemetry tracing for AssemblyScript programs run
// under WasmEdge or any WASI runtime. See docs/wasi.md.
export { init, shutdown, Options, SpanOptions, Tracer } from "./wasi/tracer";
export { Span, SpanContext, SpanKind, StatusCode } from "./wasi/span";
export { Exporter, otlpHttp, otlpLines } from "./wasi/exporter";
export { nowMs } from "./wasi/clock";
