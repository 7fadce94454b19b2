// Written by scripts/build.mjs from package.json's version: edit that, then build.
// The instrumentation scope every span is reported under, "wasmtrace" at that
// version, ready-made for each encoder (a test compares the two encoders'
// output field by field).

/** The SDK's version (telemetry.sdk.version of the WASI library); @lazy: only modules that use it hold it. */
@lazy export const SCOPE_VERSION = "0.1.0";

/** The protobuf InstrumentationScope message: name (field 1) and version (field 2), ASCII. */
@lazy export const SCOPE_PROTO: usize = memory.data<u8>([0x0a, 0x09, 0x77, 0x61, 0x73, 0x6d, 0x74, 0x72, 0x61, 0x63, 0x65, 0x12, 0x05, 0x30, 0x2e, 0x31, 0x2e, 0x30]);
@lazy export const SCOPE_PROTO_SIZE: i32 = 18;

/** The JSON encoder's text from the resource to the first span, with the scope in it: one literal, one write. */
@inline export function scopeJson(): string {
  return '},"scopeSpans":[{"scope":{"name":"wasmtrace","version":"0.1.0"},"spans":[';
}
