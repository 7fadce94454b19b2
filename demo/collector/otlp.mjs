// OTLP/HTTP trace payloads: decode protobuf and JSON requests into one canonical
// OTLP/JSON shape (hex ids, lowerCamelCase, enum numbers, 64-bit integers as
// decimal strings), validate and flatten spans for the store, and encode the
// answers (ExportTraceServiceResponse, google.rpc.Status) in the request's encoding.
// Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// The protobufjs module generated from the OTLP .proto files, shipped by the
// OpenTelemetry JS SDK; the collector only decodes with it.
const rootPath = require.resolve('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const root = require(rootPath);
/** The protobufjs Reader the generated decoder uses (the same copy of protobufjs). */
const { Reader } = createRequire(rootPath)('protobufjs/minimal');
const v1 = root.opentelemetry.proto.collector.trace.v1;
export const ExportTraceServiceRequest = v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = v1.ExportTraceServiceResponse;

/** An error whose message is safe to show to the sender; `status` is the HTTP status. */
export class BadRequest extends Error {
  /** @param {string} message @param {number} [status] */
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}

/** Attribute values nested deeper than this are replaced by a marker string. */
const MAX_VALUE_DEPTH = 16;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** @param {Uint8Array | null | undefined} bytes */
function bytesToHex(bytes) {
  if (!bytes) return '';
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** @param {{low: number, high: number} | number | null | undefined} v a protobufjs fixed64/int64 */
function longToString(v) {
  if (v == null) return '0';
  if (typeof v === 'number') return String(Math.trunc(v));
  if (v.high === 0) return String(v.low >>> 0);
  return ((BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString();
}

/** A protobufjs int64 AnyValue as a decimal string, signed. */
function intToString(v) {
  if (v == null) return '0';
  if (typeof v === 'number') return String(Math.trunc(v));
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString();
}

function anyValuePbToJson(v, depth = 0) {
  if (!v) return {};
  if (depth > MAX_VALUE_DEPTH) return { stringValue: '[nested too deeply]' };
  if (v.stringValue != null) return { stringValue: v.stringValue };
  if (v.boolValue != null) return { boolValue: v.boolValue };
  if (v.intValue != null) return { intValue: intToString(v.intValue) };
  if (v.doubleValue != null) return { doubleValue: v.doubleValue };
  if (v.arrayValue != null) {
    return { arrayValue: { values: (v.arrayValue.values ?? []).map((x) => anyValuePbToJson(x, depth + 1)) } };
  }
  if (v.kvlistValue != null) {
    return { kvlistValue: { values: kvPbToJson(v.kvlistValue.values, depth + 1) } };
  }
  if (v.bytesValue != null) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') };
  return {};
}

function kvPbToJson(list, depth = 0) {
  if (!list || list.length === 0) return [];
  return list.map((kv) => ({ key: kv.key ?? '', value: anyValuePbToJson(kv.value, depth) }));
}

function optNum(v) {
  return v == null ? undefined : v;
}

/**
 * Decodes an ExportTraceServiceRequest in protobuf into canonical OTLP/JSON.
 * @param {Uint8Array} bytes
 */
export function decodeProtobufRequest(bytes) {
  let msg;
  try {
    msg = ExportTraceServiceRequest.decode(bytes);
  } catch (err) {
    throw new BadRequest(`malformed protobuf ExportTraceServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    resourceSpans: (msg.resourceSpans ?? []).map((rs) => ({
      resource: { attributes: kvPbToJson(rs.resource?.attributes), droppedAttributesCount: optNum(rs.resource?.droppedAttributesCount) },
      schemaUrl: rs.schemaUrl ?? undefined,
      scopeSpans: (rs.scopeSpans ?? []).map((ss) => ({
        scope: ss.scope
          ? { name: ss.scope.name ?? '', version: ss.scope.version ?? '', attributes: kvPbToJson(ss.scope.attributes) }
          : undefined,
        schemaUrl: ss.schemaUrl ?? undefined,
        spans: (ss.spans ?? []).map((s) => ({
          traceId: bytesToHex(s.traceId),
          spanId: bytesToHex(s.spanId),
          traceState: s.traceState ?? undefined,
          parentSpanId: bytesToHex(s.parentSpanId),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startTimeUnixNano: longToString(s.startTimeUnixNano),
          endTimeUnixNano: longToString(s.endTimeUnixNano),
          attributes: kvPbToJson(s.attributes),
          droppedAttributesCount: optNum(s.droppedAttributesCount),
          events: (s.events ?? []).map((e) => ({
            timeUnixNano: longToString(e.timeUnixNano),
            name: e.name ?? '',
            attributes: kvPbToJson(e.attributes),
            droppedAttributesCount: optNum(e.droppedAttributesCount),
          })),
          droppedEventsCount: optNum(s.droppedEventsCount),
          links: (s.links ?? []).map((l) => ({
            traceId: bytesToHex(l.traceId),
            spanId: bytesToHex(l.spanId),
            traceState: l.traceState ?? undefined,
            attributes: kvPbToJson(l.attributes),
            droppedAttributesCount: optNum(l.droppedAttributesCount),
          })),
          droppedLinksCount: optNum(s.droppedLinksCount),
          status: s.status ? { code: s.status.code ?? 0, message: s.status.message ?? '' } : undefined,
        })),
      })),
    })),
  };
}

// ---------------------------------------------------------------------------
// Counting before decoding: a few bytes of input can stand for a whole object (an
// empty span is 2 bytes of protobuf and several hundred bytes once decoded), so the
// objects a body would become are counted first, without building any.

/**
 * The fields of the messages of an ExportTraceServiceRequest, by message type, as the
 * generated decoder reads them: field number → the type of a nested message (a number),
 * or how the value is read: 'L' length-delimited (string, bytes), 'V' a 32-bit varint
 * (int32, uint32, enum, bool), 'W' a 64-bit varint, 'F' fixed 8 bytes (fixed64, double).
 * Types: 0 request, 1 ResourceSpans, 2 Resource, 3 ScopeSpans, 4 InstrumentationScope,
 * 5 Span, 6 Event, 7 Link, 8 KeyValue, 9 AnyValue, 10 ArrayValue, 11 KeyValueList, 12 Status.
 * The decoder reads a known field by its number whatever the wire type says, and other
 * fields are skipped by their wire type, so the count follows the same rules.
 */
const PB_FIELDS = [
  { 1: 1 },
  { 1: 2, 2: 3, 3: 'L' },
  { 1: 8, 2: 'V' },
  { 1: 4, 2: 5, 3: 'L' },
  { 1: 'L', 2: 'L', 3: 8, 4: 'V' },
  { 1: 'L', 2: 'L', 3: 'L', 4: 'L', 5: 'L', 6: 'V', 7: 'F', 8: 'F', 9: 8, 10: 'V', 11: 6, 12: 'V', 13: 7, 14: 'V', 15: 12 },
  { 1: 'F', 2: 'L', 3: 8, 4: 'V' },
  { 1: 'L', 2: 'L', 3: 'L', 4: 8, 5: 'V' },
  { 1: 'L', 2: 9 },
  { 1: 'L', 2: 'V', 3: 'W', 4: 'F', 5: 10, 6: 11, 7: 'L' },
  { 1: 9 },
  { 1: 8 },
  { 2: 'L', 3: 'V' },
];
const PB_SPAN = 5;
/** Far deeper than any real request (values deeper than MAX_VALUE_DEPTH are cut anyway). */
const MAX_PB_DEPTH = 64;

/**
 * Throws BadRequest 413 when a body holds more than `maxSpans` spans or more than
 * `maxItems` objects (spans, events, links, attributes, values, …): a protobuf body is
 * walked field by field, a JSON body has its objects and arrays counted. Throws
 * BadRequest 400 for protobuf the decoder would refuse too.
 * @param {'protobuf' | 'json'} encoding @param {Uint8Array} bytes
 * @param {{ maxSpans: number, maxItems: number }} limits
 */
export function checkRequestSize(encoding, bytes, { maxSpans, maxItems }) {
  const { spans, items } = encoding === 'protobuf' ? countProtobuf(bytes, maxSpans, maxItems) : { spans: 0, items: countJson(bytes, maxItems) };
  if (spans > maxSpans) throw new BadRequest(`request has more than ${maxSpans} spans (maxSpansPerRequest)`, 413);
  if (items > maxItems) throw new BadRequest(`request has more than ${maxItems} objects: spans, events, links, attributes and values (maxItemsPerRequest)`, 413);
}

/**
 * Counts spans and objects, stopping past either limit. Read with the decoder's own
 * Reader, so that every varint (a tag or length with bits past 32, a 12-byte varint in
 * an unknown field), group and wire type means here what it means to the decoder: a
 * count that read the bytes otherwise could be led past objects the decoder then builds.
 */
function countProtobuf(bytes, maxSpans, maxItems) {
  const reader = Reader.create(bytes);
  const types = [0];
  const ends = [reader.len];
  let spans = 0;
  let items = 0;
  try {
    while (types.length > 0) {
      const top = types.length - 1;
      if (reader.pos >= ends[top]) {
        types.pop();
        ends.pop();
        continue;
      }
      const tag = reader.uint32();
      const field = PB_FIELDS[types[top]][tag >>> 3];
      if (field === undefined) reader.skipType(tag & 7);
      else if (field === 'L') reader.skip(reader.uint32());
      else if (field === 'V') reader.uint32();
      else if (field === 'W') reader.int64();
      else if (field === 'F') reader.skip(8);
      else {
        const len = reader.uint32();
        items++;
        if (field === PB_SPAN) spans++;
        if (spans > maxSpans || items > maxItems) break;
        if (types.length >= MAX_PB_DEPTH) throw new BadRequest('request too deeply nested');
        types.push(field);
        ends.push(reader.pos + len);
      }
    }
  } catch (err) {
    if (err instanceof BadRequest) throw err;
    throw new BadRequest(`malformed protobuf ExportTraceServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { spans, items };
}

/**
 * Objects and arrays in JSON text (brackets outside strings), and array elements that
 * are neither (numbers, strings, literals), counted up to just past `max`. A scalar
 * where OTLP has an object (`"events":[1,1,…]`, 2 bytes each) is decoded into one all
 * the same (an event, a link), so it counts as one; OTLP/JSON itself has no scalar
 * array elements, so a real request counts as before.
 */
function countJson(bytes, max) {
  let n = 0;
  let inString = false;
  /** Per open bracket, whether it is an array; at most `max` + 1 deep (each one counted). */
  const arrays = [];
  /** After `[` or a comma in an array: the next token starts an element. */
  let element = false;
  for (let i = 0; i < bytes.length && n <= max; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped character
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    if (element) {
      element = false;
      if (b !== 0x7b && b !== 0x5b && b !== 0x5d) n++; // a scalar element
    }
    if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      n++;
      arrays.push(b === 0x5b);
      element = b === 0x5b;
    } else if (b === 0x7d || b === 0x5d) arrays.pop();
    else if (b === 0x2c) element = arrays[arrays.length - 1] === true;
  }
  return n;
}

/**
 * Parses an OTLP/JSON ExportTraceServiceRequest. Field shapes are checked when the
 * request is flattened; here only the JSON syntax and the top-level shape.
 * @param {string} text
 */
export function decodeJsonRequest(text) {
  let obj;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`malformed JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new BadRequest('malformed OTLP/JSON: the body must be an ExportTraceServiceRequest object');
  }
  return obj;
}

// ---------------------------------------------------------------------------
// Validation and flattening (the same code for both encodings)

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
const B64_16 = /^[A-Za-z0-9+/]{22}==$/;
const B64_8 = /^[A-Za-z0-9+/]{11}=$/;

/**
 * An id as lowercase hex, or null when invalid. OTLP/JSON ids are hex; base64 (the
 * generic protobuf JSON mapping, which some senders use) is accepted too.
 * @param {unknown} v @param {16 | 8} bytes
 */
function normId(v, bytes) {
  if (typeof v !== 'string') return null;
  const hexRe = bytes === 16 ? HEX32 : HEX16;
  if (hexRe.test(v)) return v.toLowerCase();
  if ((bytes === 16 ? B64_16 : B64_8).test(v)) return Buffer.from(v, 'base64').toString('hex');
  return null;
}

const MAX_U64 = 2n ** 64n - 1n;

/** @param {unknown} v a 64-bit unsigned integer as a string or number; null beyond 2^64-1 */
function normNanos(v) {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) <= MAX_U64) return v.replace(/^0+(?=\d)/, '');
  // 2^64 is a double; the largest double below it is within range.
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 2 ** 64) return BigInt(Math.trunc(v)).toString();
  return null;
}

function fail(where, what) {
  throw new BadRequest(`malformed OTLP/JSON at ${where}: ${what}`);
}

function arr(v, where) {
  if (v == null) return [];
  if (!Array.isArray(v)) fail(where, 'expected an array');
  return v;
}

/**
 * An OTLP AnyValue as a plain JS value for the viewer: strings, booleans, numbers
 * (int64 that do not fit a double stay decimal strings), arrays, objects; bytes as base64.
 */
function anyValueToJs(v, depth = 0) {
  if (v === null || typeof v !== 'object') return null;
  if (depth > MAX_VALUE_DEPTH) return '[nested too deeply]';
  if ('stringValue' in v) return text(v.stringValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) {
    const n = num(v.intValue);
    return Number.isSafeInteger(n) ? n : text(v.intValue);
  }
  if ('doubleValue' in v) {
    const d = v.doubleValue;
    return typeof d === 'number' ? d : typeof d === 'string' ? d : null; // "NaN", "Infinity" stay strings
  }
  if ('arrayValue' in v) {
    const vals = v.arrayValue?.values;
    return Array.isArray(vals) ? vals.map((x) => anyValueToJs(x, depth + 1)) : [];
  }
  if ('kvlistValue' in v) return kvToObject(v.kvlistValue?.values, depth + 1);
  if ('bytesValue' in v) return text(v.bytesValue);
  return null;
}

/** KeyValue[] → { key: value }; no prototype, so that a key `__proto__` is an attribute like any other. */
function kvToObject(list, depth = 0) {
  const out = Object.create(null);
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (kv === null || typeof kv !== 'object' || typeof kv.key !== 'string') continue;
    out[kv.key] = anyValueToJs(kv.value, depth);
  }
  return out;
}

/**
 * A JSON scalar as a string. An object or array where a scalar belongs reads as empty:
 * String() of one can throw (`{"toString": 1}` has no callable conversion).
 */
function text(v) {
  return v !== null && typeof v === 'object' ? '' : String(v);
}

/** A JSON scalar as a number; an object or array (see text) is NaN. */
function num(v) {
  return v !== null && typeof v === 'object' ? NaN : Number(v);
}

function count(v) {
  const n = num(v ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.trunc(n) : 0;
}

/**
 * @typedef {object} FlatSpan A span as the store and the viewer's API hold it.
 * @property {string} traceId lowercase hex, 32 digits
 * @property {string} spanId lowercase hex, 16 digits
 * @property {string} parentSpanId lowercase hex, or '' for a root
 * @property {string} name
 * @property {number} kind OTLP SpanKind (0 unspecified … 5 consumer)
 * @property {string} startTimeUnixNano Unix epoch nanoseconds, decimal
 * @property {string} endTimeUnixNano Unix epoch nanoseconds, decimal
 * @property {number} startMs Unix epoch milliseconds (approximate, for sorting and summaries)
 * @property {number} endMs Unix epoch milliseconds (approximate)
 * @property {string} service `service.name` of the span's resource
 * @property {Record<string, unknown>} attributes
 * @property {{ timeUnixNano: string, name: string, attributes: Record<string, unknown> }[]} events
 * @property {{ traceId: string, spanId: string, traceState: string, attributes: Record<string, unknown> }[]} links
 * @property {{ code: number, message: string }} status code 0 unset, 1 ok, 2 error
 * @property {{ attributes: Record<string, unknown> }} resource shared by the spans of one ResourceSpans
 * @property {{ name: string, version: string }} scope
 */

/**
 * Validates a canonical request and flattens it into spans. Spans with invalid ids
 * are rejected (counted, with a reason), the rest accepted; a shape that is not an
 * ExportTraceServiceRequest at all, or one of more than `maxSpans` spans, throws BadRequest.
 * @param {number} [maxSpans]
 * @returns {{ spans: FlatSpan[], rejected: number, reasons: string[] }}
 */
export function flattenRequest(req, maxSpans = Infinity) {
  let spanCount = 0;
  /** @type {FlatSpan[]} */
  const spans = [];
  let rejected = 0;
  const reasons = new Set();
  const rsList = arr(req.resourceSpans ?? req.resource_spans, 'resourceSpans');
  for (let i = 0; i < rsList.length; i++) {
    const rs = rsList[i];
    if (rs === null || typeof rs !== 'object') fail(`resourceSpans[${i}]`, 'expected an object');
    const resAttrs = kvToObject(arr(rs.resource?.attributes, `resourceSpans[${i}].resource.attributes`));
    const resource = { attributes: resAttrs };
    const service = typeof resAttrs['service.name'] === 'string' ? resAttrs['service.name'] : 'unknown_service';
    const ssList = arr(rs.scopeSpans ?? rs.scope_spans, `resourceSpans[${i}].scopeSpans`);
    for (let j = 0; j < ssList.length; j++) {
      const ss = ssList[j];
      if (ss === null || typeof ss !== 'object') fail(`resourceSpans[${i}].scopeSpans[${j}]`, 'expected an object');
      const scope = { name: text(ss.scope?.name ?? ''), version: text(ss.scope?.version ?? '') };
      const spanList = arr(ss.spans, `resourceSpans[${i}].scopeSpans[${j}].spans`);
      spanCount += spanList.length;
      if (spanCount > maxSpans) throw new BadRequest(`request has more than ${maxSpans} spans (maxSpansPerRequest)`, 413);
      for (let k = 0; k < spanList.length; k++) {
        const s = spanList[k];
        if (s === null || typeof s !== 'object') fail(`resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`, 'expected an object');
        const traceId = normId(s.traceId ?? s.trace_id, 16);
        const spanId = normId(s.spanId ?? s.span_id, 8);
        const rawParent = s.parentSpanId ?? s.parent_span_id ?? '';
        const parentSpanId = rawParent === '' ? '' : normId(rawParent, 8);
        if (traceId === null || traceId === ZERO32) {
          rejected++;
          reasons.add('invalid traceId (need 16 bytes, not all zero)');
          continue;
        }
        if (spanId === null || spanId === ZERO16) {
          rejected++;
          reasons.add('invalid spanId (need 8 bytes, not all zero)');
          continue;
        }
        if (parentSpanId === null) {
          rejected++;
          reasons.add('invalid parentSpanId (need 8 bytes or empty)');
          continue;
        }
        const start = normNanos(s.startTimeUnixNano ?? s.start_time_unix_nano ?? '0');
        const end = normNanos(s.endTimeUnixNano ?? s.end_time_unix_nano ?? '0');
        if (start === null || end === null) {
          rejected++;
          reasons.add('invalid startTimeUnixNano/endTimeUnixNano (need unsigned 64-bit integers)');
          continue;
        }
        const status = s.status && typeof s.status === 'object' ? s.status : {};
        const code = num(status.code ?? 0);
        spans.push({
          traceId,
          spanId,
          parentSpanId: parentSpanId === ZERO16 ? '' : parentSpanId,
          traceState: typeof s.traceState === 'string' ? s.traceState : '',
          name: text(s.name ?? ''),
          kind: kindNumber(s.kind),
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          startMs: Number(start) / 1e6,
          endMs: Number(end) / 1e6,
          service,
          attributes: kvToObject(s.attributes),
          droppedAttributesCount: count(s.droppedAttributesCount),
          events: arr(s.events, 'span.events').map((e) => ({
            timeUnixNano: normNanos(e?.timeUnixNano) ?? '0',
            name: text(e?.name ?? ''),
            attributes: kvToObject(e?.attributes),
          })),
          droppedEventsCount: count(s.droppedEventsCount),
          links: arr(s.links, 'span.links').map((l) => ({
            traceId: normId(l?.traceId, 16) ?? '',
            spanId: normId(l?.spanId, 8) ?? '',
            traceState: typeof l?.traceState === 'string' ? l.traceState : '',
            attributes: kvToObject(l?.attributes),
          })),
          droppedLinksCount: count(s.droppedLinksCount),
          status: { code: statusNumber(code, status.code), message: text(status.message ?? '') },
          resource,
          scope,
        });
      }
    }
  }
  return { spans, rejected, reasons: [...reasons] };
}

const KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
function kindNumber(v) {
  if (typeof v === 'string') {
    const i = KINDS.indexOf(v);
    return i < 0 ? 0 : i;
  }
  const n = num(v ?? 0);
  return Number.isInteger(n) && n >= 0 && n <= 5 ? n : 0;
}

const CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
function statusNumber(n, raw) {
  if (typeof raw === 'string' && CODES.includes(raw)) return CODES.indexOf(raw);
  return Number.isInteger(n) && n >= 0 && n <= 2 ? n : 0;
}

// ---------------------------------------------------------------------------
// Answers

/**
 * The body of a 200 answer. A fully accepted request leaves partialSuccess unset
 * (OTLP: "the server MUST leave the partial_success field unset").
 * @param {'protobuf' | 'json'} encoding
 * @param {number} rejectedSpans
 * @param {string} errorMessage
 */
export function encodeExportResponse(encoding, rejectedSpans, errorMessage) {
  const partial = rejectedSpans > 0 || errorMessage ? { rejectedSpans, errorMessage } : undefined;
  if (encoding === 'json') {
    return Buffer.from(
      JSON.stringify(partial ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {}),
    );
  }
  const msg = ExportTraceServiceResponse.create(partial ? { partialSuccess: partial } : {});
  return Buffer.from(ExportTraceServiceResponse.encode(msg).finish());
}

/**
 * A google.rpc.Status (code, message) — the body OTLP/HTTP prescribes for errors.
 * Written by hand: two fields (1: int32 code, 2: string message).
 * @param {'protobuf' | 'json'} encoding
 * @param {number} grpcCode e.g. 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED
 * @param {string} message
 */
export function encodeStatus(encoding, grpcCode, message) {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code: grpcCode, message }));
  const text = Buffer.from(message, 'utf8');
  const parts = [0x08, ...varint(grpcCode), 0x12, ...varint(text.length)];
  return Buffer.concat([Buffer.from(parts), text]);
}

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
