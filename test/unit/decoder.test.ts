// Proves test/helpers/otlp.ts against the OpenTelemetry JS SDK: spans made by the SDK,
// serialized by its own protobuf and JSON serializers, must decode to exactly the
// SDK's ReadableSpans, and both decodings must be equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { allSpans, attrs, decodeJson, decodeProtobuf, type OtlpAnyValue, type OtlpKeyValue, type OtlpRequest } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs/minimal') as any;

const REMOTE_TRACE = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN = 'b7ad6b7169203331';

function makeSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const spanLimits = { attributeCountLimit: 16, eventCountLimit: 3, linkCountLimit: 2 };
  const providers = [
    new BasicTracerProvider({ resource: new Resource({ 'service.name': 'svc-a', 'service.instance.id': 7, 'deployment.flag': true }), spanLimits }),
    new BasicTracerProvider({ resource: new Resource({ 'service.name': 'svc-b', 'ratio': 0.25 }), spanLimits }),
  ];
  for (const p of providers) p.addSpanProcessor(new SimpleSpanProcessor(exporter));
  const [pa, pb] = providers as [BasicTracerProvider, BasicTracerProvider];

  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: REMOTE_TRACE, spanId: REMOTE_SPAN, traceFlags: 1, isRemote: true,
    traceState: new TraceState('vendor=abc,other=x-y'),
  });
  const t1 = pa.getTracer('scope-one', '1.2.3');
  const t2 = pa.getTracer('scope-two');
  const parent = t1.startSpan('parent op', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 123_456_789] }, remote);
  const every: Attributes = {
    'str': 'héllo ✓ 😀', 'empty.str': '', 'bool.t': true, 'bool.f': false,
    'int': 42, 'int.neg': -7, 'int.zero': 0, 'int.big': 2 ** 53 - 1, 'double': 3.25, 'double.neg': -0.5,
    'arr.str': ['a', '', 'c'], 'arr.int': [1, -2, 3], 'arr.double': [1.5, 2.5], 'arr.bool': [true, false], 'arr.empty': [],
  };
  const child = t1.startSpan('child', {
    kind: SpanKind.CLIENT, attributes: every, startTime: [1_700_000_000, 500_000_000],
    links: [
      { context: { traceId: 'f'.repeat(32), spanId: '1'.repeat(16), traceFlags: 1, traceState: new TraceState('k=v') }, attributes: { 'link.n': 1, 'link.s': 's' } },
      { context: { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 0 } },
      { context: { traceId: '2'.repeat(32), spanId: '3'.repeat(16), traceFlags: 0 } }, // 1.25.1 keeps links past the limit
    ],
  }, trace.setSpan(ROOT_CONTEXT, parent));
  child.addEvent('ev.one', { 'ev.attr': 'x', 'ev.n': 2 }, [1_700_000_001, 5]);
  child.addEvent('ev.two');
  child.addEvent('ev.three', { 'ev.d': 1.5 });
  child.addEvent('ev.four'); // over the limit
  for (let i = 0; i < 20; i++) child.setAttribute(`extra.${i}`, i); // some are dropped
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  child.end([1_700_000_002, 999_999_999]);

  const ok = t2.startSpan('producer', { kind: SpanKind.PRODUCER });
  ok.setStatus({ code: SpanStatusCode.OK });
  ok.end();
  t2.startSpan('consumer', { kind: SpanKind.CONSUMER }).end();
  t1.startSpan('internal', { kind: SpanKind.INTERNAL }).end();
  parent.end();
  pb.getTracer('other-resource', '0.0.1').startSpan('b-span', { attributes: { k: 'v' } }).end();
  return exporter.getFinishedSpans();
}

const nanos = (t: HrTime): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

function expectedValue(v: AttributeValue | null | undefined): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: (v as (string | number | boolean | null)[]).map((x) => expectedValue(x as AttributeValue)) } };
  return {};
}
const expectedKvs = (a: Attributes): OtlpKeyValue[] => Object.entries(a).map(([key, value]) => ({ key, value: expectedValue(value) }));

function checkAgainstSdk(decoded: OtlpRequest, sdk: ReadableSpan[], label: string): void {
  const flat = allSpans(decoded);
  assert.equal(flat.length, sdk.length, `${label}: span count`);
  for (const s of sdk) {
    const ctx = s.spanContext();
    const d = flat.find((x) => x.spanId === ctx.spanId);
    assert.ok(d, `${label}: span ${s.name} decoded`);
    const m = `${label}: ${s.name}`;
    assert.equal(d.traceId, ctx.traceId, m);
    assert.match(d.traceId, /^[0-9a-f]{32}$/, m);
    assert.match(d.spanId, /^[0-9a-f]{16}$/, m);
    assert.equal(d.parentSpanId, s.parentSpanId ?? '', m);
    assert.equal(d.traceState, ctx.traceState?.serialize() ?? '', m);
    assert.equal(d.flags, 0, `${m}: the 1.25.1 SDK does not write Span.flags`);
    assert.equal(d.name, s.name, m);
    assert.equal(d.kind, s.kind + 1, `${m}: OTLP kind is SDK kind + 1`);
    assert.equal(d.startTimeUnixNano, nanos(s.startTime), m);
    assert.equal(d.endTimeUnixNano, nanos(s.endTime), m);
    assert.deepEqual(d.attributes, expectedKvs(s.attributes), m);
    assert.equal(d.droppedAttributesCount, s.droppedAttributesCount, m);
    assert.deepEqual(d.events, s.events.map((e) => ({
      timeUnixNano: nanos(e.time), name: e.name, attributes: expectedKvs(e.attributes ?? {}), droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })), m);
    assert.equal(d.droppedEventsCount, s.droppedEventsCount, m);
    assert.deepEqual(d.links, s.links.map((l) => ({
      traceId: l.context.traceId, spanId: l.context.spanId, traceState: l.context.traceState?.serialize() ?? '',
      attributes: expectedKvs(l.attributes ?? {}), droppedAttributesCount: l.droppedAttributesCount ?? 0, flags: 0,
    })), m);
    assert.equal(d.droppedLinksCount, s.droppedLinksCount, m);
    assert.deepEqual(d.status, { code: s.status.code, message: s.status.message ?? '' }, m);
    assert.deepEqual(d.resource, attrs(expectedKvs(s.resource.attributes as Attributes)), m);
    assert.equal(d.scope.name, s.instrumentationLibrary.name, m);
    assert.equal(d.scope.version, s.instrumentationLibrary.version ?? '', m);
  }
}

test('SDK spans: protobuf and JSON decode to the SDK values, and to each other', () => {
  const sdk = makeSpans();
  assert.equal(sdk.length, 6);
  const child = sdk.find((s) => s.name === 'child')!;
  assert.deepEqual([child.droppedAttributesCount, child.droppedEventsCount, child.links.length], [19, 1, 3], 
    'the fixture exercises dropped counts');
  const pb = ProtobufTraceSerializer.serializeRequest(sdk)!;
  const json = JsonTraceSerializer.serializeRequest(sdk)!;
  const fromPb = decodeProtobuf(pb);
  const fromJson = decodeJson(json);
  checkAgainstSdk(fromPb, sdk, 'protobuf');
  checkAgainstSdk(fromJson, sdk, 'json');
  assert.deepStrictEqual(fromPb, fromJson);
  assert.deepStrictEqual(decodeJson(new TextDecoder().decode(json)), fromJson, 'string input works too');
  assert.equal(fromPb.resourceSpans.length, 2, 'two resources');
  const a = fromPb.resourceSpans.find((r) => attrs(r.resource.attributes)['service.name'] === 'svc-a')!;
  assert.deepEqual(a.scopeSpans.map((s) => s.scope.name).sort(), ['scope-one', 'scope-two']);
  // Spot checks of the normalized shape itself.
  const c = allSpans(fromPb).find((s) => s.name === 'child')!;
  assert.equal(c.traceId, REMOTE_TRACE);
  assert.equal(c.traceState, 'vendor=abc,other=x-y');
  assert.equal(c.startTimeUnixNano.length >= 19, true);
  assert.equal(c.endTimeUnixNano, '1700000002999999999');
  assert.deepEqual(attrs(c.attributes)['arr.int'], ['1', '-2', '3']);
  assert.equal(attrs(c.attributes)['int.big'], String(2 ** 53 - 1));
  assert.deepEqual(c.status, { code: 2, message: 'boom' });
  const root = allSpans(fromPb).find((s) => s.name === 'b-span')!;
  assert.equal(root.parentSpanId, '', 'root spans have parentSpanId ""');
  assert.deepEqual(root.resource['service.name'], 'svc-b');
});

// A tiny hand-assembled request, for fields the SDK never writes.
function handMade(opts: { spanFlags?: number; linkFlags?: number; extraSpanField?: boolean; badUtf8?: boolean; traceIdBytes?: number } = {}): Uint8Array {
  const W = protobuf.Writer;
  const w = W.create();
  w.uint32((1 << 3) | 2).fork(); // resource_spans
  w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).fork() // resource.attributes[0]
    .uint32((1 << 3) | 2).string('service.name')
    .uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string('svc').ldelim()
    .ldelim().ldelim();
  w.uint32((2 << 3) | 2).fork(); // scope_spans
  w.uint32((2 << 3) | 2).fork(); // span
  w.uint32((1 << 3) | 2).bytes(new Uint8Array(opts.traceIdBytes ?? 16).fill(0xab));
  w.uint32((2 << 3) | 2).bytes(new Uint8Array(8).fill(0xcd));
  if (opts.badUtf8) w.uint32((5 << 3) | 2).bytes(new Uint8Array([0x6e, 0xff, 0xfe]));
  else w.uint32((5 << 3) | 2).string('hand');
  w.uint32((6 << 3) | 0).uint32(3);
  w.uint32((7 << 3) | 1).fixed64(protobuf.util.Long.fromString('1700000000000000001', true));
  w.uint32((8 << 3) | 1).fixed64(protobuf.util.Long.fromString('18446744073709551615', true));
  w.uint32((9 << 3) | 2).fork().uint32((1 << 3) | 2).string('neg')
    .uint32((2 << 3) | 2).fork().uint32((3 << 3) | 0).int64(protobuf.util.Long.fromString('-9223372036854775808')).ldelim().ldelim();
  w.uint32((9 << 3) | 2).fork().uint32((1 << 3) | 2).string('bytes')
    .uint32((2 << 3) | 2).fork().uint32((7 << 3) | 2).bytes(new Uint8Array([0, 1, 254, 255])).ldelim().ldelim();
  w.uint32((9 << 3) | 2).fork().uint32((1 << 3) | 2).string('kv')
    .uint32((2 << 3) | 2).fork().uint32((6 << 3) | 2).fork()
    .uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string('inner').uint32((2 << 3) | 2).fork().uint32((4 << 3) | 1).double(0.5).ldelim().ldelim()
    .ldelim().ldelim().ldelim();
  w.uint32((9 << 3) | 2).fork().uint32((1 << 3) | 2).string('unset').ldelim();
  w.uint32((13 << 3) | 2).fork() // link
    .uint32((1 << 3) | 2).bytes(new Uint8Array(16).fill(1)).uint32((2 << 3) | 2).bytes(new Uint8Array(8).fill(2));
  if (opts.linkFlags !== undefined) w.uint32((6 << 3) | 5).fixed32(opts.linkFlags);
  w.ldelim();
  if (opts.spanFlags !== undefined) w.uint32((16 << 3) | 5).fixed32(opts.spanFlags);
  if (opts.extraSpanField) w.uint32((99 << 3) | 0).uint32(1);
  w.ldelim().ldelim().ldelim();
  return w.finish();
}

const handMadeJson = (spanFlags: number, linkFlags: number): string => JSON.stringify({
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
    scopeSpans: [{
      scope: {},
      spans: [{
        traceId: 'AB'.repeat(16), spanId: 'cd'.repeat(8), name: 'hand', kind: 3, flags: spanFlags,
        startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '18446744073709551615',
        attributes: [
          { key: 'neg', value: { intValue: '-9223372036854775808' } },
          { key: 'bytes', value: { bytesValue: 'AAH+/w==' } },
          { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 0.5 } }] } } },
          { key: 'unset', value: {} },
        ],
        links: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), flags: linkFlags }],
        status: {},
      }],
    }],
  }],
});

test('Span.flags and Link.flags (unknown to the 0.52.1 generated code) are decoded', () => {
  const req = decodeProtobuf(handMade({ spanFlags: 0x301, linkFlags: 0x101 }));
  const [s] = allSpans(req);
  assert.ok(s);
  assert.equal(s.flags, 0x301);
  assert.equal(s.links[0]?.flags, 0x101);
  assert.deepStrictEqual(req, decodeJson(handMadeJson(0x301, 0x101)));
  assert.equal(allSpans(decodeProtobuf(handMade()))[0]?.flags, 0, 'absent flags are 0');
});

test('edge values: uint64 max, int64 min, bytes, kvlist, empty AnyValue, defaults', () => {
  const [s] = allSpans(decodeProtobuf(handMade()));
  assert.ok(s);
  assert.equal(s.endTimeUnixNano, '18446744073709551615');
  assert.equal(s.startTimeUnixNano, '1700000000000000001');
  assert.equal(s.traceId, 'ab'.repeat(16));
  assert.equal(s.kind, 3);
  assert.deepEqual(s.attributes, [
    { key: 'neg', value: { intValue: '-9223372036854775808' } },
    { key: 'bytes', value: { bytesValue: 'AAH+/w==' } },
    { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 0.5 } }] } } },
    { key: 'unset', value: {} },
  ]);
  assert.deepEqual(attrs(s.attributes).kv, { inner: 0.5 });
  assert.deepEqual(attrs(s.attributes).bytes, Buffer.from([0, 1, 254, 255]));
  assert.deepEqual(s.status, { code: 0, message: '' });
  assert.deepEqual(s.scope, { name: '', version: '', attributes: [], droppedAttributesCount: 0 });
  assert.deepEqual({ parent: s.parentSpanId, ts: s.traceState, ev: s.events, de: s.droppedEventsCount }, { parent: '', ts: '', ev: [], de: 0 });
  assert.deepStrictEqual(decodeProtobuf(new Uint8Array(0)), { resourceSpans: [] });
  assert.deepStrictEqual(decodeJson('{}'), { resourceSpans: [] });
});

test('strict protobuf: unknown fields, invalid UTF-8 and bad id lengths are errors', () => {
  assert.throws(() => decodeProtobuf(handMade({ extraSpanField: true })), /^Error: decodeProtobuf: .*unknown field 99/);
  assert.throws(() => decodeProtobuf(handMade({ badUtf8: true })), /^Error: decodeProtobuf: .*invalid UTF-8/);
  assert.throws(() => decodeProtobuf(handMade({ traceIdBytes: 15 })), /^Error: decodeProtobuf: span.traceId has 15 bytes/);
});

test('strict OTLP/JSON: wrong names, enum names, base64 ids, imprecise int64 are errors', () => {
  const good = JSON.parse(handMadeJson(0, 0));
  const mutate = (f: (span: any) => void): string => {
    const j = structuredClone(good);
    f(j.resourceSpans[0].scopeSpans[0].spans[0]);
    return JSON.stringify(j);
  };
  assert.doesNotThrow(() => decodeJson(JSON.stringify(good)));
  const cases: [string, (s: any) => void, RegExp][] = [
    ['snake_case', (s) => { s.trace_id = s.traceId; delete s.traceId; }, /unknown field "trace_id"/],
    ['typo', (s) => { s.startTimeUnixNanos = '1'; }, /unknown field "startTimeUnixNanos"/],
    ['enum name', (s) => { s.kind = 'SPAN_KIND_CLIENT'; }, /enum as an integer/],
    ['base64 id', (s) => { s.spanId = Buffer.alloc(8, 1).toString('base64'); }, /16 hex digits/],
    ['short trace id', (s) => { s.traceId = 'ab'; }, /32 hex digits/],
    ['unsafe int64 number', (s) => { s.startTimeUnixNano = 1700000000000000000; }, /loses precision/],
    ['int64 not decimal', (s) => { s.endTimeUnixNano = '1e9'; }, /64-bit integer/],
    ['uint64 overflow', (s) => { s.endTimeUnixNano = '18446744073709551616'; }, /out of range/],
    ['two AnyValue fields', (s) => { s.attributes[0].value.stringValue = 'x'; }, /more than one value/],
    ['unknown AnyValue field', (s) => { s.attributes[0].value = { int: 1 }; }, /unknown field "int"/],
    ['attributes as object', (s) => { s.attributes = { a: 1 }; }, /expected an array/],
    ['status code name', (s) => { s.status.code = 'STATUS_CODE_ERROR'; }, /enum as an integer/],
    ['unknown link field', (s) => { s.links[0].context = {}; }, /unknown field "context"/],
  ];
  for (const [name, f, re] of cases) {
    assert.throws(() => decodeJson(mutate(f)), (e: Error) => e.message.startsWith('decodeJson: $.resourceSpans[0]') && re.test(e.message), name);
  }
  assert.throws(() => decodeJson('{"resourceSpans": ['), /^Error: decodeJson: not JSON/);
  assert.throws(() => decodeJson(new Uint8Array([0x7b, 0xff, 0x7d])), /^Error: decodeJson: body is not valid UTF-8/);
  assert.throws(() => decodeJson('{"resource_spans": []}'), /unknown field "resource_spans"/);
  // Numbers that are safe, and null as "default", are accepted by the proto3 JSON mapping.
  const lenient = decodeJson(mutate((s) => { s.startTimeUnixNano = 5; s.traceState = null; s.kind = null; }));
  const ls = allSpans(lenient)[0]!;
  assert.deepEqual([ls.startTimeUnixNano, ls.traceState, ls.kind], ['5', '', 0]);
});

test('malformed protobuf: every truncation and 2000 random bodies throw a clear error', { timeout: 30_000 }, () => {
  const body = ProtobufTraceSerializer.serializeRequest(makeSpans().filter((s) => s.resource.attributes['service.name'] === 'svc-a'))!;
  assert.equal(decodeProtobuf(body).resourceSpans.length, 1, 'one top-level field, so every cut is inside it');
  for (let n = 1; n < body.length; n++) {
    assert.throws(() => decodeProtobuf(body.subarray(0, n)), /^Error: decodeProtobuf: malformed ExportTraceServiceRequest: /, `truncated to ${n}/${body.length}`);
  }
  const rand = prng(0x5eed); // seeded, so failures reproduce
  let flipped = 0;
  for (let i = 0; i < 2000; i++) {
    const len = 1 + Math.floor(rand() * 300);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
    if (i % 2 === 1) b[0] = 0x0a; // a valid first tag, so the walk goes deeper
    assert.throws(() => decodeProtobuf(b), /^Error: decodeProtobuf: /, `random case ${i}`);
  }
  // Single-byte corruptions of a valid body: whatever happens, it returns or throws clearly.
  for (let i = 0; i < 500; i++) {
    const b = body.slice();
    b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    try { decodeProtobuf(b); } catch (e) { assert.match((e as Error).message, /^decodeProtobuf: /); flipped++; }
  }
  assert.ok(flipped > 100, `most corruptions are detected (${flipped}/500)`);
  assert.throws(() => decodeProtobuf('nope' as unknown as Uint8Array), /must be a Uint8Array/);
});
