// The least any wasmtrace bundle carries besides the Wasm module: the tracer
// API (Tracer, Span, W3C propagation, attributes, the active-span slot) and
// the host side of the Wasm boundary, with no loader, no delivery, no
// configuration and no instrumentation.
export { createTracer } from '../../src/tracer.ts';
export { createCore } from '../../src/core.ts';
