// Attributes are encoded once, when they are set, in the module's own wire
// format (a protobuf KeyValue or an OTLP/JSON key-value object), and stored
// as record payloads; encoding a span then copies them. The entry module
// installs its format's encoder here, before the first attribute is set. A
// module that links both encoders (the WASI library) must pick one at start:
// attributes stored in one format cannot be written by the other encoder.

/**
 * Encodes the key (`kl` UTF-8 bytes at `kp`) with a value (`vtype`, `num`,
 * `len` bytes at IO) at out.kvAt (out.KV unless out.kvTarget says
 * otherwise); returns the byte length, or -1 when it does not fit in
 * out.kvCap bytes. Sets out.kvKey to the bytes that name the key.
 */
export type KVEncoder = (kp: usize, kl: i32, vtype: i32, num: f64, len: i32) => i32;

function none(kp: usize, kl: i32, vtype: i32, num: f64, len: i32): i32 {
  return -1;
}

export let kvEncode: KVEncoder = none;

export function setKVEncoder(fn: KVEncoder): void {
  kvEncode = fn;
}
