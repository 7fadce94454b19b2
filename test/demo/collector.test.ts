// The demo's development collector (demo/collector): both OTLP encodings, gzip, CORS,
// partial success, the OpenTelemetry JS exporters as senders, the viewer's API, the
// JSONL option, and bad input by the thousand without stopping or growing without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deflateSync, gzipSync } from 'node:zlib';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as HttpExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startCollector, type ApiTrace, type RunningCollector } from '../../demo/collector/index.mjs';
import { makeTraceRequest, prng, splitRequest, toProtobuf } from '../../demo/collector/synthetic.mjs';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as any;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const { Reader } = require('protobufjs/minimal') as any;

const PB = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };
const bin = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function withCollector(opts: Parameters<typeof startCollector>[0], fn: (c: RunningCollector) => Promise<void>) {
  const c = await startCollector({ port: 0, ...opts });
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

async function getTrace(c: RunningCollector, traceId: string): Promise<ApiTrace> {
  const r = await fetch(`${c.apiUrl}/traces/${traceId}`);
  assert.equal(r.status, 200, `trace ${traceId} should be in the API`);
  return (await r.json()) as ApiTrace;
}

/** google.rpc.Status in protobuf: field 1 code, field 2 message. */
function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const r = Reader.create(bytes);
  const out = { code: 0, message: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) out.code = r.int32();
    else if (tag >>> 3 === 2) out.message = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}

test('OTLP/JSON export: accepted, listed, and the trace comes back parented with critical path and service graph', async () => {
  await withCollector({}, async (c) => {
    assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(c.tracesUrl, `${c.url}/v1/traces`);
    const { traceId, request } = makeTraceRequest({ spanCount: 60, seed: 7 });
    const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(request) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(await r.json(), {}, 'fully accepted: partialSuccess left unset');

    const list = (await (await fetch(`${c.apiUrl}/traces`)).json()) as { traces: any[] };
    assert.equal(list.traces.length, 1);
    assert.equal(list.traces[0].traceId, traceId);
    assert.equal(list.traces[0].spanCount, 60);
    assert.equal(list.traces[0].rootName, 'documentLoad');
    assert.equal(list.traces[0].rootService, 'shop-web');

    const t = await getTrace(c, traceId);
    assert.equal(t.spans.length, 60);
    const ids = new Set(t.spans.map((s) => s.spanId));
    const roots = t.spans.filter((s) => !s.parentSpanId);
    assert.equal(roots.length, 1);
    assert.equal(t.rootSpanId, roots[0]!.spanId);
    for (const s of t.spans) if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), 'every parent present');
    // Depth-first order: a span's parent comes before it.
    const pos = new Map(t.spans.map((s, i) => [s.spanId, i]));
    for (const s of t.spans) if (s.parentSpanId) assert.ok(pos.get(s.parentSpanId)! < pos.get(s.spanId)!);
    // The critical path tiles the root span exactly, in order, starting at the root.
    const segs = t.criticalPath.segments;
    assert.equal(segs[0]!.spanId, t.rootSpanId);
    assert.equal(segs[0]!.startOffsetMs, roots[0]!.startOffsetMs);
    for (let i = 1; i < segs.length; i++) assert.ok(Math.abs(segs[i]!.startOffsetMs - segs[i - 1]!.endOffsetMs) < 1e-9);
    const covered = segs.reduce((sum, g) => sum + (g.endOffsetMs - g.startOffsetMs), 0);
    assert.ok(Math.abs(covered - roots[0]!.durationMs) < 1e-6);
    assert.ok(Math.abs(t.criticalPath.durationMs - roots[0]!.durationMs) < 1e-9);
    // Service graph: edges count the cross-service parent→child pairs.
    const byId = new Map(t.spans.map((s) => [s.spanId, s]));
    const expected = new Map<string, number>();
    for (const s of t.spans) {
      const p = byId.get(s.parentSpanId);
      if (p && p.service !== s.service) expected.set(`${p.service}>${s.service}`, (expected.get(`${p.service}>${s.service}`) ?? 0) + 1);
    }
    assert.ok(expected.size > 0, 'the synthetic trace crosses services');
    assert.deepEqual(new Map(t.serviceGraph.edges.map((e) => [`${e.from}>${e.to}`, e.count])), expected);
    assert.equal(t.resources[t.spans[0]!.resource]!.attributes['service.name'], t.spans[0]!.service);
    assert.equal((await fetch(`${c.apiUrl}/traces/${'f'.repeat(32)}`)).status, 404);
  });
});

test('critical path: known shape (sequential children, an overlapped child, a child outliving its parent)', async () => {
  await withCollector({}, async (c) => {
    const tid = 'aa'.repeat(16);
    const base = 1_700_000_000_000_000_000n;
    const span = (id: string, parent: string, startMs: number, endMs: number, svc = 'a') => ({
      svc,
      s: {
        traceId: tid, spanId: id.repeat(8), parentSpanId: parent ? parent.repeat(8) : '', name: `s${id}`, kind: 1,
        startTimeUnixNano: String(base + BigInt(startMs * 1e6)), endTimeUnixNano: String(base + BigInt(endMs * 1e6)),
      },
    });
    // root 0..100; b 10..40; c 20..60 (ends last before root end → on path);
    // d 35..45 (ends after c's start: overlapped, skipped); e 70..130 (clipped to 100).
    const list = [span('01', '', 0, 100), span('02', '01', 10, 40, 'b'), span('03', '01', 20, 60, 'b'), span('04', '01', 5, 15),
      span('05', '01', 70, 130, 'c')];
    const request = {
      resourceSpans: ['a', 'b', 'c'].map((svc) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
        scopeSpans: [{ spans: list.filter((x) => x.svc === svc).map((x) => x.s) }],
      })),
    };
    assert.equal((await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(request) })).status, 200);
    const t = await getTrace(c, tid);
    const got = t.criticalPath.segments.map((g) => [g.spanId.slice(0, 2), g.startOffsetMs, g.endOffsetMs]);
    assert.deepEqual(got, [
      ['01', 0, 5], ['04', 5, 15], ['01', 15, 20], ['03', 20, 60], ['01', 60, 70], ['05', 70, 100],
    ]);
    assert.deepEqual(t.criticalPath.spanIds.map((s) => s.slice(0, 2)), ['01', '04', '03', '05']);
    const crit = new Map(t.spans.map((s) => [s.spanId.slice(0, 2), s.criticalMs]));
    assert.equal(crit.get('01'), 20);
    assert.equal(crit.get('02'), 0);
    assert.deepEqual(
      t.serviceGraph.edges.map((e) => `${e.from}>${e.to}:${e.count}`).sort(),
      ['a>b:2', 'a>c:1'],
    );
  });
});

test('protobuf export, gzip and deflate bodies: accepted, answered in protobuf', async () => {
  await withCollector({}, async (c) => {
    const a = makeTraceRequest({ spanCount: 30, seed: 11 });
    let r = await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: bin(toProtobuf(a.request)) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    const body = new Uint8Array(await r.arrayBuffer());
    assert.deepEqual(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(body)), {});

    const b = makeTraceRequest({ spanCount: 40, seed: 12 });
    r = await fetch(c.tracesUrl, { method: 'POST', headers: { ...PB, 'content-encoding': 'gzip' }, body: gzipSync(toProtobuf(b.request)) });
    assert.equal(r.status, 200);
    const d = makeTraceRequest({ spanCount: 20, seed: 13 });
    r = await fetch(c.tracesUrl, { method: 'POST', headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(d.request)) });
    assert.equal(r.status, 200);
    const e = makeTraceRequest({ spanCount: 10, seed: 14 });
    r = await fetch(c.tracesUrl, { method: 'POST', headers: { ...JSON_CT, 'content-encoding': 'deflate' }, body: deflateSync(JSON.stringify(e.request)) });
    assert.equal(r.status, 200);

    for (const [x, n] of [[a, 30], [b, 40], [d, 20], [e, 10]] as const) {
      const t = await getTrace(c, x.traceId);
      assert.equal(t.spanCount, n);
    }
    // The same trace in both encodings decodes to the same spans.
    const jsonSide = await getTrace(c, d.traceId);
    await fetch(`${c.apiUrl}/traces`, { method: 'DELETE' });
    r = await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: bin(toProtobuf(d.request)) });
    assert.equal(r.status, 200);
    assert.deepEqual(await getTrace(c, d.traceId), jsonSide);
  });
});

test('partial success: spans with invalid ids are rejected and counted, the rest kept (JSON and protobuf)', async () => {
  await withCollector({}, async (c) => {
    const { traceId, request } = makeTraceRequest({ spanCount: 10, seed: 21 });
    const spans = request.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
    const bad = [
      { ...spans[1], traceId: '0'.repeat(32) },
      { ...spans[2], spanId: 'abc' },
      { ...spans[3], spanId: '0'.repeat(16) },
    ];
    const req = { resourceSpans: [{ resource: request.resourceSpans[0].resource, scopeSpans: [{ spans: [...spans, ...bad] }] }] };
    let r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(req) });
    assert.equal(r.status, 200);
    const answer = (await r.json()) as any;
    assert.equal(answer.partialSuccess.rejectedSpans, '3');
    assert.match(answer.partialSuccess.errorMessage, /invalid traceId/);
    assert.match(answer.partialSuccess.errorMessage, /invalid spanId/);
    assert.equal((await getTrace(c, traceId)).spanCount, 10);

    // Protobuf: a span id of 3 bytes, answered as ExportTraceServiceResponse.partialSuccess.
    const pbReq = { resourceSpans: [{ scopeSpans: [{ spans: [{ ...spans[0], traceId: 'bb'.repeat(16), spanId: 'abcdef' }] }] }] };
    r = await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: bin(toProtobuf(pbReq)) });
    assert.equal(r.status, 200);
    const msg = ExportTraceServiceResponse.decode(new Uint8Array(await r.arrayBuffer()));
    assert.equal(Number(msg.partialSuccess.rejectedSpans), 1);
    assert.match(msg.partialSuccess.errorMessage, /invalid spanId/);
  });
});

test('timestamps: generated values up to 2^64-1 are kept exactly, beyond it (strings and numbers) rejected as invalid times', async () => {
  const MAX = 2n ** 64n - 1n;
  const rand = prng(640);
  const big = (limit: bigint) => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n | BigInt(Math.floor(rand() * 2 ** 32))) % limit;
  /** [value as sent, stored decimal or null when it must be rejected] */
  const cases: [string | number, string | null][] = [['18446744073709551615', MAX.toString()], ['18446744073709551616', null], [2 ** 64, null], [1e30, null]];
  for (let i = 0; i < 300; i++) {
    const n = [() => big(MAX + 1n), () => MAX - big(1000n), () => MAX + 1n + big(10n ** 19n), () => big(10n ** 18n)][i % 4]!();
    if (i % 3 === 0) {
      // As a JSON number: valid while below 2^64 (a double just under it is 2^64 - 2048).
      const v = Number(n);
      cases.push([v, v < 2 ** 64 ? BigInt(v).toString() : null]);
    } else {
      const digits = n.toString();
      const sent = i % 5 === 0 ? digits.padStart(20, '0') : digits;
      cases.push([sent, n <= MAX && sent.length <= 20 ? digits : null]);
    }
  }
  await withCollector({}, async (c) => {
    const traceId = 'dd'.repeat(16);
    const spans = cases.map(([v], i) => ({ traceId, spanId: (i + 1).toString(16).padStart(16, '0'), name: `t${i}`, startTimeUnixNano: v, endTimeUnixNano: v }));
    const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }) });
    assert.equal(r.status, 200);
    const answer = (await r.json()) as any;
    const invalid = cases.filter(([, want]) => want === null).length;
    assert.ok(invalid > 50 && invalid < cases.length - 50, `${invalid} of ${cases.length} out of range`);
    assert.equal(answer.partialSuccess?.rejectedSpans, String(invalid));
    assert.match(answer.partialSuccess.errorMessage, /invalid startTimeUnixNano/);
    const stored = new Map((await getTrace(c, traceId)).spans.map((s) => [s.name, s.startTimeUnixNano]));
    cases.forEach(([sent, want], i) => assert.equal(stored.get(`t${i}`) ?? null, want, `sent ${JSON.stringify(sent)}`));
  });
});

test('attribute keys named like Object.prototype members (__proto__, constructor, …) are kept as attributes, JSON and protobuf', async () => {
  const KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'ok'];
  const rand = prng(77);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  /** A random attribute list and the object the API must show for it. */
  const gen = (depth: number): { kv: any[]; want: Record<string, unknown> } => {
    const kv: any[] = [];
    const want: Record<string, unknown> = {};
    for (const key of KEYS.filter(() => rand() < 0.6)) {
      let value: any;
      let shown: unknown;
      if (depth < 2 && rand() < 0.4) {
        const inner = gen(depth + 1);
        value = { kvlistValue: { values: inner.kv } };
        shown = inner.want;
      } else {
        shown = pick(['x', 'y', '<b>']);
        value = { stringValue: shown };
      }
      kv.push({ key, value });
      Object.defineProperty(want, key, { value: shown, enumerable: true, writable: true, configurable: true });
    }
    return { kv, want };
  };
  await withCollector({}, async (c) => {
    for (let i = 0; i < 40; i++) {
      const traceId = (i + 1).toString(16).padStart(32, 'a');
      const span = gen(0);
      const res = gen(0);
      const request = {
        resourceSpans: [{
          resource: { attributes: res.kv },
          scopeSpans: [{ spans: [{ traceId, spanId: 'ab'.repeat(8), name: 'p', startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: span.kv }] }],
        }],
      };
      const body = i % 2 ? bin(toProtobuf(request)) : JSON.stringify(request);
      assert.equal((await fetch(c.tracesUrl, { method: 'POST', headers: i % 2 ? PB : JSON_CT, body })).status, 200);
      const t = await getTrace(c, traceId);
      assert.deepEqual(t.spans[0]!.attributes, JSON.parse(JSON.stringify(span.want)), `case ${i}`);
      assert.deepEqual(t.resources[0]!.attributes, JSON.parse(JSON.stringify(res.want)), `case ${i}`);
    }
  });
});

test('DNS rebinding: the viewer API answers loopback Host names (and allowedHosts) only; 200 generated Host headers', async () => {
  const request = (port: number, method: string, path: string, host: string) => new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  const rand = prng(53);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const label = () => Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789-'])).join('');
  await withCollector({}, async (c) => {
    const { traceId, request: body } = makeTraceRequest({ spanCount: 3, seed: 61 });
    for (let i = 0; i < 200; i++) {
      const port = pick(['', `:${c.port}`, ':80', ':1']);
      const good = rand() < 0.5;
      const name = good
        ? pick(['localhost', 'LocalHost', '127.0.0.1', '[::1]'])
        : pick([`${label()}.example`, `localhost.${label()}.test`, `127.0.0.1.${label()}.io`, label(), `${label()}.localhost`, '127.0.0.2', '[::2]']);
      // Write something first so that the GET of one trace and the DELETE have work to do.
      if (i % 10 === 0) await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(body) });
      const [method, path] = pick([['GET', '/api/traces'], ['GET', '/api/stats'], ['GET', `/api/traces/${traceId}`], ['DELETE', '/api/traces']] as const);
      const status = await request(c.port, method, path, name + port);
      if (good) assert.ok(status === 200 || (status === 404 && path.endsWith(traceId)), `${method} ${path} Host ${name + port}: ${status}`);
      else assert.equal(status, 403, `${method} ${path} Host ${name + port}`);
    }
  });
  await withCollector({ allowedHosts: ['devbox.lan'] }, async (c) => {
    assert.equal(await request(c.port, 'GET', '/api/stats', `devbox.lan:${c.port}`), 200);
    assert.equal(await request(c.port, 'GET', '/api/stats', `localhost:${c.port}`), 403, 'allowedHosts replaces the default list');
  });
});

test('more spans in one trace than maxSpansPerTrace: the excess is refused through partialSuccess', async () => {
  await withCollector({ maxSpansPerTrace: 25 }, async (c) => {
    const { traceId, request } = makeTraceRequest({ spanCount: 40, seed: 31 });
    const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(request) });
    const answer = (await r.json()) as any;
    assert.equal(answer.partialSuccess.rejectedSpans, '15');
    assert.match(answer.partialSuccess.errorMessage, /maxSpansPerTrace/);
    assert.equal((await getTrace(c, traceId)).spanCount, 25);
  });
});

test('a trace whose every span is refused (each larger than maxBytes) is not left in the store as an empty trace: not listed, not counted, announced to no viewer, takes no place from real traces (fails before: a 0-span trace with startMs null listed, its id 404)', async () => {
  await withCollector({ maxBytes: 64 * 1024, maxTraces: 3 }, async (c) => {
    const events: string[] = [];
    c.store.onChange((ids) => events.push(...ids));
    const kept = makeTraceRequest({ spanCount: 4, seed: 33 });
    assert.equal((await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(kept.request) })).status, 200);
    const r = prng(34);
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('').replace(/^0/, '1');
    const refusedIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const traceId = hex(32);
      refusedIds.push(traceId);
      const spans = Array.from({ length: 1 + (i % 3) }, () => ({
        traceId, spanId: hex(16), name: 'x'.repeat(70_000 + Math.floor(r() * 10_000)), startTimeUnixNano: '1', endTimeUnixNano: '2',
      }));
      const answer = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }) });
      assert.equal(answer.status, 200);
      assert.equal(((await answer.json()) as any).partialSuccess.rejectedSpans, String(spans.length));
    }
    const list = ((await (await fetch(`${c.apiUrl}/traces`)).json()) as { traces: { traceId: string; spanCount: number }[] }).traces;
    assert.deepEqual(list.map((t) => t.traceId), [kept.traceId], 'only the trace that holds spans');
    assert.equal(c.stats().store.traces, 1);
    assert.equal(c.stats().store.evictedTraces, 0, 'the refused traces took no place (maxTraces 3)');
    for (const id of refusedIds) assert.ok(!events.includes(id), `no event for ${id}`);
    assert.equal((await getTrace(c, kept.traceId)).spanCount, 4);
  });
});

test('CORS: loopback origins get exact-origin, credentialed answers with explicit headers; others are refused', async () => {
  await withCollector({}, async (c) => {
    const origin = 'http://127.0.0.1:5173';
    let r = await fetch(c.tracesUrl, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,content-encoding,authorization' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (r.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim());
    for (const h of ['content-type', 'content-encoding', 'authorization']) assert.ok(allowed.includes(h), h);
    assert.ok(!allowed.includes('*'), 'explicit list: * does not count for credentialed requests');
    assert.ok(Number(r.headers.get('access-control-max-age')) > 0);

    const { request } = makeTraceRequest({ spanCount: 3, seed: 41 });
    r = await fetch(c.tracesUrl, { method: 'POST', headers: { ...JSON_CT, origin: 'http://localhost:8787' }, body: JSON.stringify(request) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:8787');
    assert.match(r.headers.get('vary') ?? '', /Origin/);

    r = await fetch(c.tracesUrl, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });
  await withCollector({ allowedOrigins: ['https://shop.example'] }, async (c) => {
    const r = await fetch(c.tracesUrl, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://shop.example');
  });
});

async function exportWithOtelJs(exporter: SpanExporter, serviceName: string) {
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': serviceName }) });
  const results: number[] = [];
  const recording: SpanExporter = {
    export: (spans, done) => exporter.export(spans, (res) => {
      results.push(res.code);
      done(res);
    }),
    shutdown: () => exporter.shutdown(),
  };
  provider.addSpanProcessor(new BatchSpanProcessor(recording));
  const tracer = provider.getTracer('collector-test', '1.2.3');
  const parent = tracer.startSpan('checkout', { attributes: { 'cart.items': 3, 'user.tier': 'gold' } });
  const child = tracer.startSpan('charge-card', { kind: SpanKind.CLIENT, links: [{ context: parent.spanContext() }] }, trace.setSpan(context.active(), parent));
  child.addEvent('retry', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
  return { results, traceId: parent.spanContext().traceId, parentId: parent.spanContext().spanId, childId: child.spanContext().spanId };
}

test('the OpenTelemetry JS exporters (protobuf, protobuf+gzip, JSON) as senders: accepted, spans visible', async () => {
  await withCollector({}, async (c) => {
    const senders: [string, SpanExporter][] = [
      ['otel-js-proto', new ProtoExporter({ url: c.tracesUrl })],
      ['otel-js-proto-gzip', new ProtoExporter({ url: c.tracesUrl, compression: 'gzip' as any })],
      ['otel-js-json', new HttpExporter({ url: c.tracesUrl })],
    ];
    for (const [service, exporter] of senders) {
      const { results, traceId, parentId, childId } = await exportWithOtelJs(exporter, service);
      assert.deepEqual(results, [0], `${service}: the exporter reports success`);
      const t = await getTrace(c, traceId);
      assert.equal(t.spanCount, 2, service);
      const parent = t.spans.find((s) => s.spanId === parentId)!;
      const child = t.spans.find((s) => s.spanId === childId)!;
      assert.equal(parent.service, service);
      assert.equal(parent.parentSpanId, '');
      assert.deepEqual(parent.attributes, { 'cart.items': 3, 'user.tier': 'gold' });
      assert.equal(child.parentSpanId, parentId);
      assert.equal(child.kind, 3, 'OTLP numbers kinds from 1: CLIENT is 3');
      assert.deepEqual(child.status, { code: 2, message: 'card declined' });
      assert.equal(child.events[0]!.name, 'retry');
      assert.deepEqual(child.events[0]!.attributes, { attempt: 2 });
      assert.equal(child.links[0]!.spanId, parentId);
      assert.deepEqual(child.scope, { name: 'collector-test', version: '1.2.3' });
      assert.ok(child.durationMs >= 0 && parent.durationMs >= child.durationMs);
      const summary = (await (await fetch(`${c.apiUrl}/traces`)).json() as any).traces.find((x: any) => x.traceId === traceId);
      assert.equal(summary.errorCount, 1);
      assert.equal(summary.rootName, 'checkout');
    }
  });
});

test('bad input: clear answers with the right status, and the collector goes on', async () => {
  await withCollector({ maxBodyBytes: 64 * 1024, maxDecodedBytes: 256 * 1024 }, async (c) => {
    const post = (headers: Record<string, string>, body: Uint8Array | string) =>
      fetch(c.tracesUrl, { method: 'POST', headers, body: typeof body === 'string' ? body : bin(body) });

    let r = await post(PB, new Uint8Array([0x0a, 0xff, 0xff, 0x01, 0x02]));
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    const status = decodeStatus(new Uint8Array(await r.arrayBuffer()));
    assert.equal(status.code, 3);
    assert.match(status.message, /malformed protobuf/);

    r = await post(JSON_CT, '{"resourceSpans": [');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as any).message, /malformed JSON/);
    r = await post(JSON_CT, '{"resourceSpans": {"spans": 1}}');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as any).message, /resourceSpans: expected an array/);
    r = await post(JSON_CT, '[1,2,3]');
    assert.equal(r.status, 400);

    r = await post(PB, new Uint8Array(100 * 1024));
    assert.equal(r.status, 413);
    assert.match(((await r.text())), /exceeds the limit/);

    // A gzip bomb: 40 KiB on the wire, 10 MiB inside.
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    r = await post({ ...PB, 'content-encoding': 'gzip' }, bomb);
    assert.equal(r.status, 413);
    assert.match(decodeStatus(new Uint8Array(await r.arrayBuffer())).message, /decompressed body exceeds/);

    r = await post({ ...JSON_CT, 'content-encoding': 'gzip' }, 'not gzip at all');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as any).message, /malformed gzip/);

    r = await post({ 'content-type': 'text/plain' }, '{}');
    assert.equal(r.status, 415);
    assert.match(((await r.json()) as any).message, /Content-Type "text\/plain"/);
    r = await post({ ...JSON_CT, 'content-encoding': 'zstd' }, '{}');
    assert.equal(r.status, 415);
    assert.match(((await r.json()) as any).message, /Content-Encoding "zstd"/);

    r = await fetch(c.tracesUrl);
    assert.equal(r.status, 405);

    const { traceId, request } = makeTraceRequest({ spanCount: 5, seed: 51 });
    r = await post(JSON_CT, JSON.stringify(request));
    assert.equal(r.status, 200, 'still accepting after the bad bodies');
    assert.equal((await getTrace(c, traceId)).spanCount, 5);
    assert.equal(c.stats().receiver.errors[400], 5);
    assert.equal(c.stats().receiver.errors[413], 2);
    assert.equal(c.stats().receiver.errors[415], 2);
  });
});

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Bodies that are wrong in every way we can think of, generated from a seed. */
function* badBodies(seed: number, count: number): Generator<{ headers: Record<string, string>; body: Uint8Array }> {
  const rand = prng(seed);
  const valid = toProtobuf(makeTraceRequest({ spanCount: 8, seed }).request);
  const validJson = Buffer.from(JSON.stringify(makeTraceRequest({ spanCount: 8, seed: seed + 1 }).request));
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const mutate = (src: Uint8Array) => {
    const out = Uint8Array.from(src);
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return out;
  };
  const jsonShapes = [
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":12,"spanId":null}]}]}]}',
    '{"resourceSpans":[null]}', '{"resourceSpans":"x"}', '{"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]}',
    '{"resourceSpans":[{"resource":{"attributes":7}}]}', 'null', '"str"', '', '{', '{"a":' + '['.repeat(5000),
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + 'a'.repeat(32) + '","spanId":"' + 'b'.repeat(16) +
      '","attributes":[{"key":"deep","value":' + '{"arrayValue":{"values":['.repeat(3000) + ']}}'.repeat(3000) + '}]}]}]}]}',
  ];
  for (let i = 0; i < count; i++) {
    switch (i % 8) {
      case 0: yield { headers: PB, body: bytes(1 + Math.floor(rand() * 2000)) }; break;
      case 1: yield { headers: PB, body: valid.subarray(0, Math.floor(rand() * valid.length)) }; break;
      case 2: yield { headers: PB, body: mutate(valid) }; break;
      case 3: yield { headers: JSON_CT, body: mutate(validJson) }; break;
      case 4: yield { headers: JSON_CT, body: Buffer.from(jsonShapes[i % jsonShapes.length]!) }; break;
      case 5: yield { headers: { ...PB, 'content-encoding': 'gzip' }, body: mutate(gzipSync(valid)) }; break;
      case 6: yield { headers: { 'content-type': ['text/plain', 'application/xml', '', 'application/x-protobuf2'][i % 4]! }, body: bytes(50) }; break;
      default: yield { headers: JSON_CT, body: bytes(1 + Math.floor(rand() * 500)) }; break;
    }
  }
}

test('thousands of generated bad bodies: each answered 200/400/413/415, the collector keeps running, memory stays bounded', async () => {
  await withCollector({ maxTraces: 40, maxSpans: 600, maxBodyBytes: 256 * 1024 }, async (c) => {
    const statuses = new Map<number, number>();
    const run = async (items: Iterable<{ headers: Record<string, string>; body: Uint8Array }>) => {
      const queue = [...items];
      const workers = Array.from({ length: 8 }, async () => {
        for (let item = queue.pop(); item; item = queue.pop()) {
          const r = await fetch(c.tracesUrl, { method: 'POST', headers: item.headers, body: bin(item.body) });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      });
      await Promise.all(workers);
    };
    await run(badBodies(1, 400)); // warm up before measuring the heap
    const before = heapAfterGc();
    await run(badBodies(2, 3000));
    // Valid traces beyond the store's bounds: the oldest are evicted.
    const good = Array.from({ length: 200 }, (_, i) => ({ headers: JSON_CT, body: Buffer.from(JSON.stringify(makeTraceRequest({ spanCount: 20, seed: 1000 + i }).request)) }));
    await run(good);
    const after = heapAfterGc();

    for (const s of statuses.keys()) assert.ok([200, 400, 413, 415].includes(s), `unexpected status ${s}`);
    assert.ok((statuses.get(400) ?? 0) > 1000, 'most bad bodies are 400');
    assert.ok((statuses.get(415) ?? 0) > 300);
    const st = c.stats().store;
    assert.ok(st.spans <= 600 && st.traces <= 40, `store bounded: ${JSON.stringify(st)}`);
    assert.ok(st.evictedTraces > 0);
    assert.ok(after - before < 48 * 1024 * 1024, `heap grew by ${((after - before) / 1048576).toFixed(1)} MiB`);
    const { traceId, request } = makeTraceRequest({ spanCount: 4, seed: 99 });
    const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(request) });
    assert.equal(r.status, 200);
    assert.equal((await getTrace(c, traceId)).spanCount, 4);
  });
});

test('OTLP/JSON values of the wrong type where a string or number belongs (objects whose toString/valueOf are not functions, arrays, …): accepted, never 500', async () => {
  await withCollector({}, async (c) => {
    const traceId = 'c'.repeat(32);
    const odd: unknown[] = [{ toString: 1 }, { toString: 1, valueOf: 1 }, { valueOf: {} }, [], [1, 2], {}, [{ toString: null }]];
    /** Each puts `v` where the span (or its scope) has a scalar. */
    const places: ((v: unknown) => { scope?: unknown; span: Record<string, unknown> })[] = [
      (v) => ({ span: { name: v } }),
      (v) => ({ span: { kind: v } }),
      (v) => ({ span: { status: { code: v } } }),
      (v) => ({ span: { status: { message: v } } }),
      (v) => ({ span: { droppedAttributesCount: v } }),
      (v) => ({ span: { droppedEventsCount: v, droppedLinksCount: v } }),
      (v) => ({ span: { events: [{ name: v, timeUnixNano: '1' }] } }),
      (v) => ({ span: { attributes: [{ key: 's', value: { stringValue: v } }] } }),
      (v) => ({ span: { attributes: [{ key: 'i', value: { intValue: v } }] } }),
      (v) => ({ span: { attributes: [{ key: 'b', value: { bytesValue: v } }] } }),
      (v) => ({ span: { events: [{ name: 'e', attributes: [{ key: 'k', value: { stringValue: v } }] }] } }),
      (v) => ({ scope: { name: v, version: v }, span: {} }),
    ];
    let n = 0;
    for (const place of places) {
      for (const v of odd) {
        const { scope, span } = place(v);
        const spanId = (++n).toString(16).padStart(16, '0');
        const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope, spans: [{ traceId, spanId, startTimeUnixNano: '1', endTimeUnixNano: '2', ...span }] }] }] });
        const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body });
        const text = await r.text();
        assert.equal(r.status, 200, `${body}: ${text}`);
        assert.deepEqual(JSON.parse(text), {});
      }
    }
    assert.equal((await getTrace(c, traceId)).spanCount, n);
    assert.deepEqual(c.stats().receiver.errors, {});
  });
});

test('request targets that are not URLs (absolute forms with bad hosts or ports, //[): 400, never 500, and the collector goes on', async () => {
  const net = await import('node:net');
  await withCollector({}, async (c) => {
    const targets = ['http://[', 'http://a:99999/v1/traces', 'http://%zz/', 'http://[::1/api/stats', 'https://', 'http://1.2.3.4.5/', 'http://0x100000000/', '//[', '///'];
    for (const target of targets) {
      for (const method of ['GET', 'POST', 'OPTIONS']) {
        const answer = await new Promise<string>((resolve) => {
          const s = net.connect(c.port, '127.0.0.1');
          let out = '';
          s.on('data', (d) => { out += d; });
          s.on('close', () => resolve(out));
          s.on('error', () => resolve(out));
          s.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
          setTimeout(() => s.destroy(), 3000);
        });
        assert.match(answer, /^HTTP\/1\.1 400 /, `${method} ${target}: ${answer.slice(0, 80)}`);
      }
    }
    const { traceId, request } = makeTraceRequest({ spanCount: 2, seed: 400 });
    const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(request) });
    assert.equal(r.status, 200);
    assert.equal((await getTrace(c, traceId)).spanCount, 2);
  });
});

test('the answer has the request\'s Content-Type (OTLP/HTTP): application/protobuf, application/x-protobuf and application/json, accepted and refused', async () => {
  await withCollector({}, async (c) => {
    const { request } = makeTraceRequest({ spanCount: 2, seed: 61 });
    const pb = bin(toProtobuf(request));
    const cases: [string, Uint8Array<ArrayBuffer> | string, number, string][] = [
      ['application/protobuf', pb, 200, 'application/protobuf'],
      ['application/protobuf', bin(new Uint8Array([0x0a, 0xff])), 400, 'application/protobuf'],
      ['Application/X-Protobuf; proto=x', pb, 200, 'application/x-protobuf'],
      ['application/json; charset=utf-8', JSON.stringify(request), 200, 'application/json'],
      ['application/json', '{', 400, 'application/json'],
      ['text/plain', '{}', 415, 'application/json'],
    ];
    for (const [type, body, status, answered] of cases) {
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: { 'content-type': type }, body });
      await r.arrayBuffer();
      assert.equal(r.status, status, type);
      assert.equal(r.headers.get('content-type'), answered, `${type} → ${status}`);
    }
  });
});

test('JSONL option: every export appended as one OTLP/JSON request a line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-collector-'));
  const path = join(dir, 'traces.jsonl');
  try {
    const sent: string[] = [];
    await withCollector({ jsonlPath: path }, async (c) => {
      const a = makeTraceRequest({ spanCount: 12, seed: 61 });
      const b = makeTraceRequest({ spanCount: 7, seed: 62 });
      await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(a.request) });
      await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: bin(toProtobuf(b.request)) });
      await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: '{bad' });
      sent.push(a.traceId, b.traceId);
    });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2, 'one line per accepted export; the bad body is not one');
    const reqs = lines.map((l) => JSON.parse(l));
    const spansOf = (r: any) => r.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
    assert.equal(spansOf(reqs[0]).length, 12);
    assert.equal(spansOf(reqs[1]).length, 7);
    assert.equal(spansOf(reqs[1])[0].traceId, sent[1], 'protobuf exports are written as OTLP/JSON: hex ids');
    assert.match(spansOf(reqs[1])[0].startTimeUnixNano, /^\d+$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSONL option: a request too deeply nested to write back as JSON is still answered as what the store did (200, spans kept), its line counted as dropped (fails before: stored, then answered 400)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-collector-'));
  const path = join(dir, 'traces.jsonl');
  try {
    await withCollector({ jsonlPath: path }, async (c) => {
      const deep = makeTraceRequest({ spanCount: 3, seed: 63 });
      // An unknown field nested far deeper than JSON.stringify's stack allows (JSON.parse reads it).
      const text = JSON.stringify(deep.request).replace(/^\{/, `{"x":${'{"a":'.repeat(150_000)}1${'}'.repeat(150_000)},`);
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: text });
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(await r.json(), {}, 'every span accepted: no partial success');
      assert.equal(c.store.spans(deep.traceId)?.length, 3);
      const plain = makeTraceRequest({ spanCount: 2, seed: 64 });
      assert.equal((await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(plain.request) })).status, 200);
      const stats = c.stats() as { receiver: { exports: number; errors: Record<string, number> }; jsonl: { lines: number; dropped: number } };
      assert.equal(stats.receiver.exports, 2);
      assert.deepEqual(stats.receiver.errors, {});
      assert.equal(stats.jsonl.lines, 1);
      assert.equal(stats.jsonl.dropped, 1);
    });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'the line that could not be written is left out, whole');
    assert.equal(JSON.parse(lines[0]!).resourceSpans.length > 0, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('server-sent events: a new trace is announced to listeners', async () => {
  await withCollector({}, async (c) => {
    const ac = new AbortController();
    const res = await fetch(`${c.apiUrl}/events`, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const { traceId, request } = makeTraceRequest({ spanCount: 6, seed: 71 });
    const parts = splitRequest(request, 2);
    for (const p of parts) await fetch(c.tracesUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(p) });
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('"spanCount":6') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    const events = text.split('\n\n').filter((e) => e.startsWith('event: trace'));
    assert.ok(events.length >= 1);
    const last = JSON.parse(events[events.length - 1]!.split('\ndata: ')[1]!);
    assert.equal(last.traceId, traceId);
    assert.equal(last.spanCount, 6);
  });
});

test('binds to 127.0.0.1 by default and serves the viewer and its API on the same port', async () => {
  await withCollector({}, async (c) => {
    assert.ok(c.url.startsWith('http://127.0.0.1:'));
    const html = await (await fetch(c.viewerUrl)).text();
    assert.match(html, /<script type="module" src="viewer.mjs">/);
    assert.equal((await fetch(`${c.url}/viewer.mjs`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await fetch(`${c.url}/..%2F..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${c.url}/%E0%A4%A`)).status, 400);
  });
});
