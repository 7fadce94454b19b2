// Entry of wasmtrace-json.wasm: the host ABI with the OTLP/JSON encoder.
import { setKVEncoder } from "../core/kv";
import { jsonKV } from "../core/json";

setKVEncoder(jsonKV);

export * from "../core/abi";
export { encodeJson as encode } from "../core/json";
