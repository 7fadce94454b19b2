// Entry of wasmtrace.wasm: the host ABI with the OTLP protobuf encoder.
import { setKVEncoder } from "../core/kv";
import { protoKV } from "../core/proto";

setKVEncoder(protoKV);

export * from "../core/abi";
export { encodeProto as encode } from "../core/proto";
