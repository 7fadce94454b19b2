// W3C Trace Context (https://www.w3.org/TR/trace-context/): traceparent and
// tracestate, parsed and written exactly as the processing model says.
// Invalid input is ignored (the caller starts a new trace).

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = /^0{32}$/;
const ZERO_SPAN = /^0{16}$/;

export interface ParsedParent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** Parses a traceparent header value; null when invalid (§3.2, §4.3). */
export function parseTraceparent(value: unknown): ParsedParent | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  const m = TRACEPARENT.exec(v);
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff') return null;
  // Version 00 has exactly four fields; a later version may append fields
  // after a dash, and only the first four are read (§4.3, "Versioning").
  if (version === '00' && rest !== undefined) return null;
  if (ZERO_TRACE.test(traceId) || ZERO_SPAN.test(spanId)) return null;
  let traceFlags = parseInt(flags, 16);
  if (version !== '00') traceFlags &= 1; // only flags known for version 00 are kept
  return { traceId, spanId, traceFlags };
}

export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff) < 16 ? '0' : ''}${(traceFlags & 0xff).toString(16)}`;
}

const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_MEMBERS = 32;
const MAX_LENGTH = 512;

/**
 * Parses and validates a tracestate header value. Returns the normalized
 * list (members joined by ','), '' for an empty header, or undefined when
 * invalid (then it must not be propagated, §3.3.1).
 */
export function parseTracestate(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue; // empty list-members are allowed
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!(SIMPLE_KEY.test(key) || TENANT_KEY.test(key)) || !VALUE.test(val)) return undefined;
    if (keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
  }
  if (members.length > MAX_MEMBERS) return undefined;
  return truncateTracestate(members);
}

// §3.3.1.5: over 512 characters, drop members longer than 128 first, then
// from the end of the list, until it fits.
function truncateTracestate(members: string[]): string {
  let joined = members.join(',');
  if (joined.length <= MAX_LENGTH) return joined;
  let kept = members.filter((m) => m.length <= 128);
  joined = kept.join(',');
  while (joined.length > MAX_LENGTH && kept.length > 0) {
    kept = kept.slice(0, -1);
    joined = kept.join(',');
  }
  return joined;
}

/** Something headers can be read from and written to. */
export type Carrier = Headers | Record<string, unknown> | { get(name: string): unknown; set(name: string, value: string): void };

export function getHeader(carrier: Carrier, name: string): unknown {
  if (typeof (carrier as Headers).get === 'function') return (carrier as Headers).get(name) ?? undefined;
  const record = carrier as Record<string, unknown>;
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(record)) if (k.toLowerCase() === lower) return record[k];
  return undefined;
}

export function setHeader(carrier: Carrier, name: string, value: string): void {
  if (typeof (carrier as Headers).set === 'function') (carrier as Headers).set(name, value);
  else (carrier as Record<string, unknown>)[name] = value;
}
