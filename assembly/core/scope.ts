// The instrumentation scope every span is reported under.
export const SCOPE_NAME = "wasmtrace";
export const SCOPE_VERSION = "0.1.0";
