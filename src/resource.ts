// The resource every span is reported under: service.name, telemetry.sdk.*,
// OTEL_RESOURCE_ATTRIBUTES and the user's own attributes.
import type { AttributeValue } from './types.js';
import { warnOnce } from './diag.js';
import { VERSION } from './version.js';

/** service.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES and user attributes. */
export function resourceAttributes(opts: { serviceName?: unknown; resource?: Record<string, AttributeValue> }, env: Record<string, string | undefined>, language: string): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      attrs[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // a malformed percent-encoding drops that pair only
    }
  }
  if (opts.resource && typeof opts.resource === 'object') Object.assign(attrs, opts.resource);
  let service = typeof opts.serviceName === 'string' && opts.serviceName ? opts.serviceName : env.OTEL_SERVICE_NAME;
  if (!service) {
    warnOnce('serviceName is required; using "unknown_service"');
    service = 'unknown_service';
  }
  attrs['service.name'] = service;
  attrs['telemetry.sdk.name'] = 'wasmtrace';
  attrs['telemetry.sdk.language'] = language;
  attrs['telemetry.sdk.version'] = VERSION;
  return attrs;
}
