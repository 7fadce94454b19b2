// The instrumentation scope every span is reported under: name "wasmtrace",
// version SCOPE_VERSION. The encoders write it ready-made: the protobuf bytes
// below, and the JSON encoder's own literal (a test compares the two
// encoders' output field by field).

/** The SDK's version (telemetry.sdk.version of the WASI library); @lazy: only modules that use it hold it. */
@lazy export const SCOPE_VERSION = "0.1.0";

/** The protobuf InstrumentationScope message: name (field 1) and version (field 2), ASCII. */
export const SCOPE_PROTO: usize = memory.data<u8>([
  0x0a, 9, 0x77, 0x61, 0x73, 0x6d, 0x74, 0x72, 0x61, 0x63, 0x65, // "wasmtrace"
  0x12, 5, 0x30, 0x2e, 0x31, 0x2e, 0x30, // "0.1.0"
]);
export const SCOPE_PROTO_SIZE: i32 = 18;
