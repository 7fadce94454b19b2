// wasmtrace core: init() and the tracer from the package entry (src/index.ts);
// the protobuf Wasm module (dist/wasmtrace.wasm) is counted beside it.
export { init } from '../../src/index.ts';
