// Reference OTLP trace decoder for tests. Independent of our encoders: protobuf goes
// through the protobufjs code generated inside @opentelemetry/otlp-transformer@0.52.1,
// JSON through JSON.parse plus a strict normalizer. Both produce the same plain shape
// (the OTLP/JSON shape), so a test can deepStrictEqual the two decodings.
//
// Normalization rule — every field is always present, filled with its proto3 default
// when it is absent on the wire (proto3 cannot tell "absent" from "default"):
//   strings ''  (so a root span has parentSpanId: '', an empty traceState is '')
//   ids         lowercase hex, '' when empty; traceId must be 16 bytes, span ids 8
//   numbers 0, enums as numbers (kind, status.code), int64/fixed64 as decimal strings
//   ('0' when absent), repeated fields [], messages (resource, scope, status) as
//   objects with their defaults. Span.flags and Link.flags are numbers (0 = absent).
//   AnyValue: exactly one of {stringValue}|{boolValue}|{intValue: '<decimal>'}|
//   {doubleValue: number}|{arrayValue: {values}}|{kvlistValue: {values}}|
//   {bytesValue: '<base64>'}, or {} when no value is set.
//
// Strictness (to catch encoder bugs): protobuf with unknown field numbers, wrong wire
// types, invalid UTF-8 or bad id lengths throws; OTLP/JSON with keys that are not the
// lowerCamelCase OTLP field names, enum names instead of numbers, 64-bit integers as
// unsafe JSON numbers, or non-hex ids throws. Every error message starts with
// 'decodeProtobuf:' or 'decodeJson:'.
//
// flags: the generated code in 0.52.1 predates Span.flags (field 16, fixed32) and
// Link.flags (field 6, fixed32) — its decode() silently skips them. We read both with
// our own wire walk (the same pass that enforces strictness), so they are decoded.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as any;
const pbRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Long = require('long') as any;

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } }
  | { bytesValue: string }
  | Record<string, never>;
export interface OtlpKeyValue { key: string; value: OtlpAnyValue }
export interface OtlpResource { attributes: OtlpKeyValue[]; droppedAttributesCount: number }
export interface OtlpScope { name: string; version: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number }
export interface OtlpStatus { message: string; code: number }
export interface OtlpEvent { timeUnixNano: string; name: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number }
export interface OtlpLink {
  traceId: string; spanId: string; traceState: string; attributes: OtlpKeyValue[];
  droppedAttributesCount: number; flags: number;
}
export interface OtlpSpan {
  traceId: string; spanId: string; traceState: string; parentSpanId: string; flags: number;
  name: string; kind: number;
  /** Unix epoch nanoseconds, decimal string. */
  startTimeUnixNano: string;
  /** Unix epoch nanoseconds, decimal string. */
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[]; droppedAttributesCount: number;
  events: OtlpEvent[]; droppedEventsCount: number;
  links: OtlpLink[]; droppedLinksCount: number;
  status: OtlpStatus;
}
export interface OtlpScopeSpans { scope: OtlpScope; spans: OtlpSpan[]; schemaUrl: string }
export interface OtlpResourceSpans { resource: OtlpResource; scopeSpans: OtlpScopeSpans[]; schemaUrl: string }
export interface OtlpRequest { resourceSpans: OtlpResourceSpans[] }

/** A span with its resource attributes and scope attached (see allSpans). */
export interface FlatSpan extends OtlpSpan {
  resource: Record<string, unknown>;
  resourceSchemaUrl: string;
  scope: OtlpScope;
  scopeSchemaUrl: string;
}

// ---------------------------------------------------------------------------
// Protobuf

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const toB64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

function pbId(v: Uint8Array | null | undefined, bytes: number, what: string): string {
  const len = v?.length ?? 0;
  if (len === 0) return '';
  if (len !== bytes) throw new Error(`decodeProtobuf: ${what} has ${len} bytes, expected ${bytes} (or empty)`);
  return toHex(v!);
}

function pbLong(v: unknown, unsigned: boolean): string {
  if (v == null) return '0';
  if (typeof v === 'number') return String(v);
  const l = v as { low: number; high: number };
  return Long.fromBits(l.low, l.high, unsigned).toString();
}

function pbAny(v: any): OtlpAnyValue {
  if (v == null) return {};
  switch (v.value as string | undefined) {
    case 'stringValue': return { stringValue: v.stringValue };
    case 'boolValue': return { boolValue: v.boolValue };
    case 'intValue': return { intValue: pbLong(v.intValue, false) };
    case 'doubleValue': return { doubleValue: v.doubleValue };
    case 'arrayValue': return { arrayValue: { values: (v.arrayValue.values ?? []).map(pbAny) } };
    case 'kvlistValue': return { kvlistValue: { values: pbKvs(v.kvlistValue.values) } };
    case 'bytesValue': return { bytesValue: toB64(v.bytesValue) };
    default: return {};
  }
}

const pbKvs = (kvs: any[] | null | undefined): OtlpKeyValue[] =>
  (kvs ?? []).map((kv) => ({ key: kv.key ?? '', value: pbAny(kv.value) }));

/** Decodes an ExportTraceServiceRequest (protobuf) into the normalized shape. */
export function decodeProtobuf(body: Uint8Array): OtlpRequest {
  if (!(body instanceof Uint8Array)) throw new Error('decodeProtobuf: body must be a Uint8Array');
  const flags = walkWire(body);
  let msg: any;
  try {
    msg = pbRequest.decode(body);
  } catch (e) {
    throw new Error(`decodeProtobuf: malformed ExportTraceServiceRequest: ${(e as Error).message}`);
  }
  let si = 0;
  const out: OtlpRequest = {
    resourceSpans: (msg.resourceSpans ?? []).map((rs: any): OtlpResourceSpans => ({
      resource: { attributes: pbKvs(rs.resource?.attributes), droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0 },
      scopeSpans: (rs.scopeSpans ?? []).map((ss: any): OtlpScopeSpans => ({
        scope: {
          name: ss.scope?.name ?? '', version: ss.scope?.version ?? '',
          attributes: pbKvs(ss.scope?.attributes), droppedAttributesCount: ss.scope?.droppedAttributesCount ?? 0,
        },
        spans: (ss.spans ?? []).map((s: any): OtlpSpan => {
          const f = flags[si++] ?? { span: 0, links: [] };
          return {
            traceId: pbId(s.traceId, 16, 'span.traceId'),
            spanId: pbId(s.spanId, 8, 'span.spanId'),
            traceState: s.traceState ?? '',
            parentSpanId: pbId(s.parentSpanId, 8, 'span.parentSpanId'),
            flags: f.span,
            name: s.name ?? '',
            kind: s.kind ?? 0,
            startTimeUnixNano: pbLong(s.startTimeUnixNano, true),
            endTimeUnixNano: pbLong(s.endTimeUnixNano, true),
            attributes: pbKvs(s.attributes),
            droppedAttributesCount: s.droppedAttributesCount ?? 0,
            events: (s.events ?? []).map((e: any): OtlpEvent => ({
              timeUnixNano: pbLong(e.timeUnixNano, true), name: e.name ?? '',
              attributes: pbKvs(e.attributes), droppedAttributesCount: e.droppedAttributesCount ?? 0,
            })),
            droppedEventsCount: s.droppedEventsCount ?? 0,
            links: (s.links ?? []).map((l: any, i: number): OtlpLink => ({
              traceId: pbId(l.traceId, 16, 'link.traceId'), spanId: pbId(l.spanId, 8, 'link.spanId'),
              traceState: l.traceState ?? '', attributes: pbKvs(l.attributes),
              droppedAttributesCount: l.droppedAttributesCount ?? 0, flags: f.links[i] ?? 0,
            })),
            droppedLinksCount: s.droppedLinksCount ?? 0,
            status: { message: s.status?.message ?? '', code: s.status?.code ?? 0 },
          };
        }),
        schemaUrl: ss.schemaUrl ?? '',
      })),
      schemaUrl: rs.schemaUrl ?? '',
    })),
  };
  return out;
}

// Our own schema-checked wire walk: rejects unknown fields, wrong wire types, bad
// lengths and invalid UTF-8 (protobufjs tolerates all of these), and collects the
// flags fields that the 0.52.1 generated code does not know.
const VARINT = 0, I64 = 1, LEN = 2, I32 = 5;
type FieldSpec = [wireType: number, kind: 'scalar' | 'string' | 'bytes' | string];
const SCHEMA: Record<string, Record<number, FieldSpec>> = {
  Request: { 1: [LEN, 'ResourceSpans'] },
  ResourceSpans: { 1: [LEN, 'Resource'], 2: [LEN, 'ScopeSpans'], 3: [LEN, 'string'] },
  Resource: { 1: [LEN, 'KeyValue'], 2: [VARINT, 'scalar'] },
  ScopeSpans: { 1: [LEN, 'Scope'], 2: [LEN, 'Span'], 3: [LEN, 'string'] },
  Scope: { 1: [LEN, 'string'], 2: [LEN, 'string'], 3: [LEN, 'KeyValue'], 4: [VARINT, 'scalar'] },
  Span: {
    1: [LEN, 'bytes'], 2: [LEN, 'bytes'], 3: [LEN, 'string'], 4: [LEN, 'bytes'], 5: [LEN, 'string'],
    6: [VARINT, 'scalar'], 7: [I64, 'scalar'], 8: [I64, 'scalar'], 9: [LEN, 'KeyValue'], 10: [VARINT, 'scalar'],
    11: [LEN, 'Event'], 12: [VARINT, 'scalar'], 13: [LEN, 'Link'], 14: [VARINT, 'scalar'], 15: [LEN, 'Status'],
    16: [I32, 'scalar'],
  },
  Event: { 1: [I64, 'scalar'], 2: [LEN, 'string'], 3: [LEN, 'KeyValue'], 4: [VARINT, 'scalar'] },
  Link: {
    1: [LEN, 'bytes'], 2: [LEN, 'bytes'], 3: [LEN, 'string'], 4: [LEN, 'KeyValue'], 5: [VARINT, 'scalar'],
    6: [I32, 'scalar'],
  },
  Status: { 2: [LEN, 'string'], 3: [VARINT, 'scalar'] },
  KeyValue: { 1: [LEN, 'string'], 2: [LEN, 'AnyValue'] },
  AnyValue: {
    1: [LEN, 'string'], 2: [VARINT, 'scalar'], 3: [VARINT, 'scalar'], 4: [I64, 'scalar'],
    5: [LEN, 'ArrayValue'], 6: [LEN, 'KeyValueList'], 7: [LEN, 'bytes'],
  },
  ArrayValue: { 1: [LEN, 'AnyValue'] },
  KeyValueList: { 1: [LEN, 'KeyValue'] },
};
const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 64;

interface SpanFlags { span: number; links: number[] }

function walkWire(buf: Uint8Array): SpanFlags[] {
  const flags: SpanFlags[] = [];
  const fail = (msg: string, pos: number): never => {
    throw new Error(`decodeProtobuf: malformed ExportTraceServiceRequest: ${msg} at byte ${pos}`);
  };
  const varint = (p: { pos: number }, end: number): number => {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p.pos >= end) fail('truncated varint', p.pos);
      const b = buf[p.pos++]!;
      if (i < 7) result += (b & 0x7f) * mul; // exact up to 2^49; enough for tags/lengths
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    return fail('varint longer than 10 bytes', p.pos);
  };
  const walk = (type: string, start: number, end: number, depth: number, sink?: SpanFlags): void => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`, start);
    const schema = SCHEMA[type]!;
    const p = { pos: start };
    while (p.pos < end) {
      const tagPos = p.pos;
      const tag = varint(p, end);
      const field = Math.floor(tag / 8), wt = tag & 7;
      const spec = schema[field];
      if (field === 0) fail(`field number 0 in ${type}`, tagPos);
      if (!spec) fail(`unknown field ${field} (wire type ${wt}) in ${type}`, tagPos);
      if (spec![0] !== wt) fail(`field ${field} of ${type} has wire type ${wt}, expected ${spec![0]}`, tagPos);
      if (wt === VARINT) { varint(p, end); continue; }
      if (wt === I64 || wt === I32) {
        const n = wt === I64 ? 8 : 4;
        if (p.pos + n > end) fail(`truncated fixed${n * 8}`, p.pos);
        if (wt === I32 && sink) {
          const v = (buf[p.pos]! | (buf[p.pos + 1]! << 8) | (buf[p.pos + 2]! << 16) | (buf[p.pos + 3]! << 24)) >>> 0;
          if (type === 'Span') sink.span = v; else if (type === 'Link') sink.links[sink.links.length - 1] = v;
        }
        p.pos += n;
        continue;
      }
      const len = varint(p, end);
      if (p.pos + len > end) fail(`length ${len} runs past the end of ${type}`, p.pos);
      const kind = spec![1];
      if (kind === 'string') {
        try { utf8.decode(buf.subarray(p.pos, p.pos + len)); } catch { fail(`invalid UTF-8 in field ${field} of ${type}`, p.pos); }
      } else if (kind !== 'bytes') {
        let child = sink;
        if (kind === 'Span') { child = { span: 0, links: [] }; flags.push(child); }
        if (kind === 'Link' && child) child.links.push(0);
        walk(kind, p.pos, p.pos + len, depth + 1, kind === 'Span' || kind === 'Link' ? child : undefined);
      }
      p.pos += len;
    }
  };
  walk('Request', 0, buf.length, 0);
  return flags;
}

// ---------------------------------------------------------------------------
// OTLP/JSON

type Json = unknown;
class JsonPath {
  constructor(readonly path: string) {}
  fail(msg: string): never { throw new Error(`decodeJson: ${this.path}: ${msg}`); }
  at(k: string | number): JsonPath { return new JsonPath(typeof k === 'number' ? `${this.path}[${k}]` : `${this.path}.${k}`); }
}

function jObj(v: Json, p: JsonPath, allowed: readonly string[]): Record<string, Json> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) p.fail(`expected an object, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v as object)) {
    if (!allowed.includes(k)) p.fail(`unknown field "${k}" (allowed: ${allowed.join(', ')})`);
  }
  return v as Record<string, Json>;
}
function jArr<T>(v: Json, p: JsonPath, each: (x: Json, p: JsonPath) => T): T[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) p.fail(`expected an array, got ${JSON.stringify(v)}`);
  return (v as Json[]).map((x, i) => each(x, p.at(i)));
}
function jStr(v: Json, p: JsonPath): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') p.fail(`expected a string, got ${JSON.stringify(v)}`);
  return v as string;
}
function jU32(v: Json, p: JsonPath): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  if (typeof v === 'string' && /^\d+$/.test(v) && Number(v) <= 0xffffffff) return Number(v);
  return p.fail(`expected a uint32, got ${JSON.stringify(v)}`);
}
function jEnum(v: Json, p: JsonPath): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v;
  return p.fail(`expected an enum as an integer (OTLP/JSON forbids enum names), got ${JSON.stringify(v)}`);
}
function jInt64(v: Json, p: JsonPath, unsigned: boolean): string {
  if (v === null || v === undefined) return '0';
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) p.fail(`64-bit integer as a JSON number loses precision (${v}); use a decimal string`);
    s = String(v);
  } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    s = v;
  } else return p.fail(`expected a 64-bit integer (decimal string), got ${JSON.stringify(v)}`);
  const n = BigInt(s);
  const [lo, hi] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  if (n < lo || n > hi) p.fail(`${s} is out of range for ${unsigned ? 'uint64' : 'int64'}`);
  return n.toString();
}
function jDouble(v: Json, p: JsonPath): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return p.fail(`expected a double, got ${JSON.stringify(v)}`);
}
function jBool(v: Json, p: JsonPath): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v !== 'boolean') p.fail(`expected a boolean, got ${JSON.stringify(v)}`);
  return v as boolean;
}
function jId(v: Json, p: JsonPath, bytes: number): string {
  const s = jStr(v, p);
  if (s === '') return '';
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) {
    p.fail(`expected ${bytes * 2} hex digits (OTLP/JSON ids are hex, not base64), got ${JSON.stringify(s)}`);
  }
  return s.toLowerCase();
}
function jBytes(v: Json, p: JsonPath): string {
  const s = jStr(v, p);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) p.fail(`expected base64 bytes, got ${JSON.stringify(s)}`);
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64').toString('base64');
}

const ANY_KEYS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] as const;
function jAny(v: Json, p: JsonPath): OtlpAnyValue {
  const o = jObj(v, p, ANY_KEYS);
  const set = Object.keys(o).filter((k) => o[k] !== null && o[k] !== undefined);
  if (set.length > 1) p.fail(`AnyValue has more than one value: ${set.join(', ')}`);
  const k = set[0];
  switch (k) {
    case undefined: return {};
    case 'stringValue': return { stringValue: jStr(o[k], p.at(k)) };
    case 'boolValue': return { boolValue: jBool(o[k], p.at(k)) };
    case 'intValue': return { intValue: jInt64(o[k], p.at(k), false) };
    case 'doubleValue': return { doubleValue: jDouble(o[k], p.at(k)) };
    case 'arrayValue': {
      const a = jObj(o[k], p.at(k), ['values']);
      return { arrayValue: { values: jArr(a.values, p.at(k).at('values'), jAny) } };
    }
    case 'kvlistValue': {
      const a = jObj(o[k], p.at(k), ['values']);
      return { kvlistValue: { values: jKvs(a.values, p.at(k).at('values')) } };
    }
    case 'bytesValue': return { bytesValue: jBytes(o[k], p.at(k)) };
    default: return p.fail(`unknown AnyValue field ${k}`);
  }
}
function jKvs(v: Json, p: JsonPath): OtlpKeyValue[] {
  return jArr(v, p, (x, q) => {
    const o = jObj(x, q, ['key', 'value']);
    return { key: jStr(o.key, q.at('key')), value: jAny(o.value, q.at('value')) };
  });
}

function jSpan(v: Json, p: JsonPath): OtlpSpan {
  const o = jObj(v, p, [
    'traceId', 'spanId', 'traceState', 'parentSpanId', 'flags', 'name', 'kind', 'startTimeUnixNano',
    'endTimeUnixNano', 'attributes', 'droppedAttributesCount', 'events', 'droppedEventsCount', 'links',
    'droppedLinksCount', 'status',
  ]);
  const st = jObj(o.status, p.at('status'), ['message', 'code']);
  return {
    traceId: jId(o.traceId, p.at('traceId'), 16),
    spanId: jId(o.spanId, p.at('spanId'), 8),
    traceState: jStr(o.traceState, p.at('traceState')),
    parentSpanId: jId(o.parentSpanId, p.at('parentSpanId'), 8),
    flags: jU32(o.flags, p.at('flags')),
    name: jStr(o.name, p.at('name')),
    kind: jEnum(o.kind, p.at('kind')),
    startTimeUnixNano: jInt64(o.startTimeUnixNano, p.at('startTimeUnixNano'), true),
    endTimeUnixNano: jInt64(o.endTimeUnixNano, p.at('endTimeUnixNano'), true),
    attributes: jKvs(o.attributes, p.at('attributes')),
    droppedAttributesCount: jU32(o.droppedAttributesCount, p.at('droppedAttributesCount')),
    events: jArr(o.events, p.at('events'), (x, q) => {
      const e = jObj(x, q, ['timeUnixNano', 'name', 'attributes', 'droppedAttributesCount']);
      return {
        timeUnixNano: jInt64(e.timeUnixNano, q.at('timeUnixNano'), true),
        name: jStr(e.name, q.at('name')),
        attributes: jKvs(e.attributes, q.at('attributes')),
        droppedAttributesCount: jU32(e.droppedAttributesCount, q.at('droppedAttributesCount')),
      };
    }),
    droppedEventsCount: jU32(o.droppedEventsCount, p.at('droppedEventsCount')),
    links: jArr(o.links, p.at('links'), (x, q) => {
      const l = jObj(x, q, ['traceId', 'spanId', 'traceState', 'attributes', 'droppedAttributesCount', 'flags']);
      return {
        traceId: jId(l.traceId, q.at('traceId'), 16),
        spanId: jId(l.spanId, q.at('spanId'), 8),
        traceState: jStr(l.traceState, q.at('traceState')),
        attributes: jKvs(l.attributes, q.at('attributes')),
        droppedAttributesCount: jU32(l.droppedAttributesCount, q.at('droppedAttributesCount')),
        flags: jU32(l.flags, q.at('flags')),
      };
    }),
    droppedLinksCount: jU32(o.droppedLinksCount, p.at('droppedLinksCount')),
    status: { message: jStr(st.message, p.at('status').at('message')), code: jEnum(st.code, p.at('status').at('code')) },
  };
}

/** Parses an OTLP/JSON ExportTraceServiceRequest into the normalized shape. */
export function decodeJson(body: Uint8Array | string): OtlpRequest {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    throw new Error('decodeJson: body is not valid UTF-8');
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`decodeJson: not JSON: ${(e as Error).message}`);
  }
  const p = new JsonPath('$');
  if (json === null || typeof json !== 'object') p.fail('expected an object');
  const o = jObj(json, p, ['resourceSpans']);
  return {
    resourceSpans: jArr(o.resourceSpans, p.at('resourceSpans'), (x, q): OtlpResourceSpans => {
      const rs = jObj(x, q, ['resource', 'scopeSpans', 'schemaUrl']);
      const r = jObj(rs.resource, q.at('resource'), ['attributes', 'droppedAttributesCount']);
      return {
        resource: {
          attributes: jKvs(r.attributes, q.at('resource').at('attributes')),
          droppedAttributesCount: jU32(r.droppedAttributesCount, q.at('resource').at('droppedAttributesCount')),
        },
        scopeSpans: jArr(rs.scopeSpans, q.at('scopeSpans'), (y, t): OtlpScopeSpans => {
          const ss = jObj(y, t, ['scope', 'spans', 'schemaUrl']);
          const sc = jObj(ss.scope, t.at('scope'), ['name', 'version', 'attributes', 'droppedAttributesCount']);
          return {
            scope: {
              name: jStr(sc.name, t.at('scope').at('name')),
              version: jStr(sc.version, t.at('scope').at('version')),
              attributes: jKvs(sc.attributes, t.at('scope').at('attributes')),
              droppedAttributesCount: jU32(sc.droppedAttributesCount, t.at('scope').at('droppedAttributesCount')),
            },
            spans: jArr(ss.spans, t.at('spans'), jSpan),
            schemaUrl: jStr(ss.schemaUrl, t.at('schemaUrl')),
          };
        }),
        schemaUrl: jStr(rs.schemaUrl, q.at('schemaUrl')),
      };
    }),
  };
}

// ---------------------------------------------------------------------------
// Helpers

/** Turns an OTLP AnyValue into a plain JS value: intValue stays a decimal string. */
export function anyValue(v: OtlpAnyValue): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return v.intValue;
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return v.arrayValue.values.map(anyValue);
  if ('kvlistValue' in v) return attrs(v.kvlistValue.values);
  if ('bytesValue' in v) return Buffer.from(v.bytesValue, 'base64');
  return undefined;
}

/** KeyValue list → plain object. intValue stays a decimal string (exact), bytes a Buffer. */
export function attrs(kvs: readonly OtlpKeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // defineProperty: a key such as __proto__ is an own property like any other.
  for (const kv of kvs) Object.defineProperty(out, kv.key, { value: anyValue(kv.value), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Every span in the request, in order, with `resource` (as a plain object) and `scope` attached. */
export function allSpans(req: OtlpRequest): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resource = attrs(rs.resource.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({ ...s, resource, resourceSchemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl });
      }
    }
  }
  return out;
}

/** Decodes by Content-Type: application/x-protobuf (or application/protobuf) or application/json. */
export function decodeByContentType(contentType: string | undefined, body: Uint8Array): OtlpRequest {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return decodeProtobuf(body);
  if (ct === 'application/json') return decodeJson(body);
  throw new Error(`decodeByContentType: unsupported Content-Type ${JSON.stringify(contentType ?? '')}`);
}
