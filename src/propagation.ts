// W3C Trace Context (https://www.w3.org/TR/trace-context/): traceparent and
// tracestate, parsed and written exactly as the processing model says.
// Invalid input is ignored (the caller starts a new trace).

import { ZEROS, validIds } from './ids.js';

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/;

export interface ParsedParent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** Parses a traceparent header value; null when invalid (§3.2, §4.3). */
export function parseTraceparent(value: unknown): ParsedParent | null {
  const m = TRACEPARENT.exec(typeof value === 'string' ? value.trim() : '');
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  // Version 00 has exactly four fields; a later version may append fields
  // after a dash, and only the first four are read (§4.3, "Versioning").
  return version === 'ff' || (version === '00' && rest !== undefined) || ZEROS.test(traceId) || ZEROS.test(spanId)
    ? null
    : { traceId, spanId, traceFlags: parseInt(flags, 16) & KNOWN_FLAGS };
}

/**
 * The trace flags defined so far: sampled (0x01) and, in Trace Context
 * Level 2, random (0x02). The others are kept at zero, received or sent
 * ("vendors MUST set those to zero", §3.2.2.5).
 */
export const KNOWN_FLAGS = 3;

/** A traceparent header value; '' when the ids are not valid (lowercase hex, not all zero). Never throws. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return validIds(traceId, spanId) ? `00-${traceId}-${spanId}-0${typeof traceFlags === 'number' ? traceFlags & KNOWN_FLAGS : 0}` : '';
}

/** A list-member: key (simple or multi-tenant) = value; neither contains '=' (§3.3.1.3). */
const MEMBER = /^([a-z][a-z\d_\-*/]{0,255}|[a-z\d][a-z\d_\-*/]{0,240}@[a-z][a-z\d_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Parses and validates a tracestate header value (or an OpenTelemetry
 * TraceState object, by its serialize()). Returns the normalized list
 * (members joined by ','), '' for an empty header, or undefined when invalid
 * (then it must not be propagated, §3.3.1).
 */
export function parseTracestate(value: unknown): string | undefined {
  try {
    const ts = value as { serialize?: () => unknown } | null | undefined;
    if (typeof ts?.serialize === 'function') value = ts.serialize();
  } catch {
    return undefined; // its serialize() throws: none
  }
  if (value == null) return '';
  if (typeof value !== 'string') return undefined;
  const keys = new Set<string>();
  // Empty list-members are allowed; OWS is spaces and tabs only (trim() would take a newline or U+00A0 too).
  let members = value.split(',').map((m) => m.replace(/^[ \t]+|[ \t]+$/g, '')).filter(Boolean);
  for (const member of members) {
    const key = MEMBER.exec(member)?.[1];
    if (!key || keys.has(key)) return undefined;
    keys.add(key);
  }
  if (members.length > 32) return undefined;
  // §3.3.1.5: over 512 characters, drop members longer than 128 first, then
  // from the end of the list, until it fits.
  if (members.join().length > 512) members = members.filter((m) => m.length <= 128);
  while (members.join().length > 512) members.pop();
  return members.join();
}

/** Something headers can be read from and written to. */
export type Carrier = Headers | Record<string, unknown> | { get(name: string): unknown; set(name: string, value: string): void };

/** A header's value; repeated fields given as an array (Node's headersDistinct, multi-value maps) combined as HTTP combines them (RFC 9110 §5.3). */
export function getHeader(carrier: Carrier, name: string): unknown {
  const v = readHeader(carrier, name);
  return Array.isArray(v) ? v.join() : v;
}

function readHeader(carrier: Carrier, name: string): unknown {
  if (typeof (carrier as Headers).get === 'function') return (carrier as Headers).get(name) ?? undefined;
  const record = carrier as Record<string, unknown>;
  if (name in record) return record[name];
  for (const k of Object.keys(record)) if (k.toLowerCase() === name) return record[k];
  return undefined;
}

/** Sets header `name` (lower case); in a plain object, in place of the same name in any other case (one field, not two). */
export function setHeader(carrier: Carrier, name: string, value: string): void {
  if (typeof (carrier as Headers).set === 'function') (carrier as Headers).set(name, value);
  else {
    deleteHeader(carrier, name);
    (carrier as Record<string, unknown>)[name] = value;
  }
}

/** Removes header `name` (lower case), in any case; a get/set carrier with no delete keeps it. */
function deleteHeader(carrier: Carrier, name: string): void {
  if (typeof (carrier as Headers).get === 'function') (carrier as Partial<Headers>).delete?.(name);
  else for (const k of Object.keys(carrier)) if (k.toLowerCase() === name) delete (carrier as Record<string, unknown>)[k];
}

/**
 * Writes a context's traceparent and its tracestate, and removes a
 * tracestate already there when the context has none: it belonged to
 * another traceparent (the incoming one a proxy copied, one W3C says to
 * drop), and a tracestate goes only with its own. A get/set carrier with no
 * delete keeps what it had.
 */
export function setTraceHeaders(carrier: Carrier, traceparent: string, tracestate: string | undefined): void {
  setHeader(carrier, 'traceparent', traceparent);
  if (tracestate) setHeader(carrier, 'tracestate', tracestate);
  else deleteHeader(carrier, 'tracestate');
}
