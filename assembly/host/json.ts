// Entry of wasmtrace-json.wasm: the host ABI with the OTLP/JSON encoder.
export * from "../core/abi";
export { encodeJson as encode } from "../core/json";
