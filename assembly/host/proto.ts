// Entry of wasmtrace.wasm: the host ABI with the OTLP protobuf encoder.
import { setKVEncoder } from "../core/kv";
import { encodeProto, protoKV } from "../core/proto";

setKVEncoder(protoKV);

export * from "../core/abi";

/** Encodes ended spans into at most `maxBytes` and `maxSpans` spans (see encodeProto). */
export function encode(maxBytes: i32, maxSpans: i32): i32 {
  return encodeProto(maxBytes, maxSpans);
}
