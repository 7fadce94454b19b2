// Entry of wasmtrace-json.wasm: the host ABI with the OTLP/JSON encoder.
import { setKVEncoder } from "../core/kv";
import { encodeJson, jsonKV } from "../core/json";

setKVEncoder(jsonKV);

export * from "../core/abi";

/** Encodes ended spans into at most `maxBytes` and `maxSpans` spans (see encodeJson). */
export function encode(maxBytes: i32, maxSpans: i32): i32 {
  return encodeJson(maxBytes, maxSpans);
}
