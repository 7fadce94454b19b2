// The package version, reported as telemetry.sdk.version and the scope version.
export const VERSION = '0.1.0';
