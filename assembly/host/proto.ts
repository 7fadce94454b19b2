// Entry of wasmtrace.wasm: the host ABI with the OTLP protobuf encoder.
export * from "../core/abi";
export { encodeProto as encode } from "../core/proto";
