// The resource every span is reported under: service.name, telemetry.sdk.*,
// OTEL_RESOURCE_ATTRIBUTES and the user's own attributes.
import type { AttributeValue } from './types.js';
import { fallback, warnOnce } from './diag.js';
import { VERSION } from './version.js';
import { type Env, envValue } from './env.js';

/**
 * `k1=v1,k2=v2` with URL-encoded keys and values (the format of
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS). A malformed
 * percent-encoding drops its pair; with `strict`, the whole value (null).
 */
export function keyValues(value: string | undefined, strict?: false): Record<string, string>;
export function keyValues(value: string | undefined, strict: true): Record<string, string> | null;
export function keyValues(value: string | undefined, strict?: boolean): Record<string, string> | null {
  // No prototype: a key such as __proto__ is an attribute (or header) like any other.
  const out: Record<string, string> = Object.create(null);
  for (const pair of (value ?? '').split(',')) {
    const eq = pair.indexOf('=');
    try {
      if (eq > 0) out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      if (strict) return null;
    }
  }
  return out;
}

/**
 * service.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES and user attributes.
 * service.name is the first non-empty text of: the `serviceName` option, the
 * `resource` option's, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES' (the
 * specification puts OTEL_SERVICE_NAME first of the two); else `unknown`
 * (the semantic conventions' `unknown_service`, with `:<executable>` where
 * there is one), with a warning.
 */
export function resourceAttributes(
  opts: { serviceName?: unknown; resource?: Record<string, AttributeValue> },
  env: Env,
  language: string,
  unknown = 'unknown_service',
): Record<string, AttributeValue> {
  // The specification: a decoding error discards the whole variable, reported.
  const fromEnv = keyValues(env.OTEL_RESOURCE_ATTRIBUTES, true) ?? (warnOnce(`bad OTEL_RESOURCE_ATTRIBUTES ${env.OTEL_RESOURCE_ATTRIBUTES}: a malformed %-escape; none of it used`), {});
  const user = typeof opts.resource === 'object' && opts.resource;
  const text = (v: unknown): string | false => typeof v === 'string' && v;
  const service =
    text(opts.serviceName) ||
    text(user && user['service.name']) ||
    envValue(env, 'OTEL_SERVICE_NAME') ||
    fromEnv['service.name'] ||
    fallback('serviceName', opts.serviceName, unknown);
  return {
    ...fromEnv,
    ...user,
    'service.name': service,
    'telemetry.sdk.name': 'wasmtrace',
    'telemetry.sdk.language': language,
    'telemetry.sdk.version': VERSION,
  };
}
