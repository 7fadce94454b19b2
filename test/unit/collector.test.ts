// Proves test/helpers/collector.ts: real HTTP requests in, decoded spans out, CORS as
// the OpenTelemetry Collector answers it, scripted replies, hangs that close() ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { partialSuccessBody, startCollector, startStaticServer } from '../helpers/collector.js';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as any;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

function sdkSpans(names: string[]): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider();
  p.addSpanProcessor(new SimpleSpanProcessor(exporter));
  const t = p.getTracer('collector-test');
  for (const n of names) t.startSpan(n, { attributes: { n } }).end();
  return exporter.getFinishedSpans();
}
// fetch's BodyInit wants an ArrayBuffer-backed view (TS 5.9 typing).
const bin = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);
const PB = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

test('POST protobuf, JSON and gzip bodies: recorded, decoded, answered', async () => {
  const c = await startCollector();
  try {
    assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);
    assert.equal(c.url, c.origin + '/v1/traces');
    const pb = ProtobufTraceSerializer.serializeRequest(sdkSpans(['a', 'b']))!;
    let r = await fetch(c.url, { method: 'POST', headers: PB, body: bin(pb) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await r.arrayBuffer()).byteLength, 0, 'empty ExportTraceServiceResponse');

    const json = JsonTraceSerializer.serializeRequest(sdkSpans(['c']))!;
    r = await fetch(c.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: bin(json) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(await r.json(), {});

    const gz = gzipSync(ProtobufTraceSerializer.serializeRequest(sdkSpans(['d']))!);
    r = await fetch(c.url, { method: 'POST', headers: { ...PB, 'content-encoding': 'gzip', 'x-custom': 'yes' }, body: gz });
    assert.equal(r.status, 200);
    await r.arrayBuffer();

    assert.equal(c.requests.length, 3);
    const [q0, q1, q2] = c.requests as [typeof c.requests[0], typeof c.requests[0], typeof c.requests[0]];
    assert.equal(q0.method, 'POST');
    assert.equal(q0.path, '/v1/traces');
    assert.equal(q0.headers['content-type'], 'application/x-protobuf');
    assert.ok(q0.rawBody.equals(pb), 'rawBody is the bytes sent');
    assert.equal(q0.error, undefined);
    assert.deepEqual(q2.rawBody, gz);
    assert.equal(q2.headers['x-custom'], 'yes');
    assert.equal(q2.decoded?.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name, 'd');
    assert.equal(q1.decoded?.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name, 'c');
    assert.ok(q0.receivedAt <= q1.receivedAt && q1.receivedAt <= q2.receivedAt);
    assert.deepEqual(c.spans().map((s) => s.name), ['a', 'b', 'c', 'd']);
    assert.equal(c.spans()[0]?.scope.name, 'collector-test');
    assert.equal(c.spans()[0]?.resource['telemetry.sdk.language'], 'nodejs');
    await c.waitFor(() => c.spans().length === 4, 100);
    await assert.rejects(c.waitFor(() => false, 50), /timed out after 50 ms; 3 request\(s\)/);
  } finally {
    await c.close();
  }
});

test('malformed bodies are recorded with an error and answered 400, and the collector keeps working', async () => {
  const c = await startCollector();
  try {
    const cases: [Record<string, string>, Uint8Array | string, RegExp][] = [
      [PB, new Uint8Array([0x0a, 0x05, 0x01]), /^decodeProtobuf: /],
      [JSON_CT, '{"resourceSpans": [{"bogus": 1}]}', /^decodeJson: .*unknown field "bogus"/],
      [{ ...PB, 'content-encoding': 'gzip' }, new Uint8Array([1, 2, 3]), /cannot decompress gzip/],
      [{ ...PB, 'content-encoding': 'br' }, new Uint8Array([1, 2, 3]), /unsupported Content-Encoding br/],
      [{ 'content-type': 'text/plain' }, 'hello', /unsupported Content-Type "text\/plain"/],
    ];
    for (const [headers, body, re] of cases) {
      const r = await fetch(c.url, { method: 'POST', headers, body: typeof body === 'string' ? body : bin(body) });
      assert.equal(r.status, 400);
      await r.arrayBuffer();
      assert.match(c.requests.at(-1)?.error ?? '', re);
      assert.equal(c.requests.at(-1)?.decoded, undefined);
    }
    const r = await fetch(c.origin + '/elsewhere', { method: 'POST', headers: PB, body: new Uint8Array(0) });
    assert.equal(r.status, 400);
    assert.match(c.requests.at(-1)?.error ?? '', /not an OTLP export: POST \/elsewhere/);
    const ok = await fetch(c.url, { method: 'POST', headers: PB, body: bin(ProtobufTraceSerializer.serializeRequest(sdkSpans(['fine']))!) });
    assert.equal(ok.status, 200);
    assert.deepEqual(c.spans().map((s) => s.name), ['fine']);
  } finally {
    await c.close();
  }
});

async function preflight(url: string, origin: string, requestHeaders: string, method = 'POST'): Promise<Response> {
  const r = await fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders },
  });
  await r.arrayBuffer();
  return r;
}

test('CORS preflight answered like the OpenTelemetry Collector', async () => {
  const page = 'http://127.0.0.1:9999';
  const c = await startCollector({ cors: { origins: [page] } });
  try {
    let r = await preflight(c.url, page, 'content-type');
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), page, 'exact origin echo');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type');
    assert.equal(r.headers.get('access-control-max-age'), null);

    r = await preflight(c.url, page, 'content-type,x-requested-with');
    assert.equal(r.headers.get('access-control-allow-origin'), page, 'X-Requested-With allowed when no allowHeaders');

    for (const h of ['content-type,content-encoding', 'authorization']) {
      r = await preflight(c.url, page, h);
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('access-control-allow-origin'), null, `${h} is not allowed by default`);
    }
    r = await preflight(c.url, 'http://127.0.0.1:1', 'content-type');
    assert.equal(r.headers.get('access-control-allow-origin'), null, 'other origin refused');
    r = await preflight(c.url, page, 'content-type', 'PUT');
    assert.equal(r.headers.get('access-control-allow-origin'), null, 'only POST');
    assert.deepEqual(c.preflights.map((p) => p.allowed), [true, true, false, false, false, false]);
    assert.equal(c.requests.length, 0, 'preflights are not exports');

    // The actual POST carries the CORS headers too.
    const post = await fetch(c.url, { method: 'POST', headers: { ...PB, origin: page }, body: new Uint8Array(0) });
    assert.equal(post.headers.get('access-control-allow-origin'), page);
    assert.equal(post.headers.get('access-control-allow-credentials'), 'true');
    await post.arrayBuffer();
  } finally {
    await c.close();
  }

  const c2 = await startCollector({ cors: { origins: '*', allowHeaders: ['Content-Encoding', 'Authorization'], credentials: false, maxAgeS: 600 } });
  try {
    const r = await preflight(c2.url, 'http://localhost:5', 'content-type, content-encoding, authorization');
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:5', 'origin echoed even for *');
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, content-encoding, authorization');
    assert.equal(r.headers.get('access-control-max-age'), '600');
    const x = await preflight(c2.url, 'http://localhost:5', 'x-requested-with');
    assert.equal(x.headers.get('access-control-allow-origin'), null, 'X-Requested-With only when allowHeaders is omitted');
  } finally {
    await c2.close();
  }

  const c3 = await startCollector();
  try {
    const r = await preflight(c3.url, page, 'content-type');
    assert.equal(r.status, 405, 'no cors config: OPTIONS is not routed');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  } finally {
    await c3.close();
  }
});

test('scripted replies: status codes, headers, partial success, delay', async () => {
  const c = await startCollector({
    respond: (_req, i) => [
      { status: 503, headers: { 'retry-after': '7' } },
      { status: 429 },
      { body: partialSuccessBody('protobuf', 2, 'too old') },
      { delayMs: 150 },
    ][i] ?? {},
  });
  try {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans(['x']))!;
    const send = (): Promise<Response> => fetch(c.url, { method: 'POST', headers: PB, body: bin(body) });
    let r = await send();
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '7');
    await r.arrayBuffer();
    r = await send();
    assert.equal(r.status, 429);
    await r.arrayBuffer();
    r = await send();
    assert.equal(r.status, 200);
    const partial = ExportTraceServiceResponse.decode(new Uint8Array(await r.arrayBuffer()));
    assert.equal(Number(partial.partialSuccess.rejectedSpans), 2);
    assert.equal(partial.partialSuccess.errorMessage, 'too old');
    const t0 = Date.now();
    r = await send();
    assert.ok(Date.now() - t0 >= 140, 'delayed');
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(c.requests.length, 4, 'every request is recorded whatever the reply');

    c.setRespond(() => ({ status: 200, body: partialSuccessBody('json', 1, 'bad attr') }));
    r = await fetch(c.url, { method: 'POST', headers: JSON_CT, body: bin(JsonTraceSerializer.serializeRequest(sdkSpans(['y']))!) });
    assert.deepEqual(await r.json(), { partialSuccess: { rejectedSpans: '1', errorMessage: 'bad attr' } });
    assert.equal(c.spans().length, 5);

    c.setRespond(async () => { throw new Error('script bug'); });
    r = await send();
    assert.equal(r.status, 500);
    assert.match(await r.text(), /respond\(\) threw: script bug/);
  } finally {
    await c.close();
  }
});

test('hang: the request stays open until close(), which ends it promptly', async () => {
  const c = await startCollector({ respond: () => ({ hang: true }) });
  const body = ProtobufTraceSerializer.serializeRequest(sdkSpans(['h']))!;
  const pending = fetch(c.url, { method: 'POST', headers: PB, body: bin(body) }).then(() => 'answered', () => 'failed');
  await c.waitFor(() => c.requests.length === 1, 2000);
  const raced = await Promise.race([pending, new Promise((r) => setTimeout(() => r('still hanging'), 200))]);
  assert.equal(raced, 'still hanging');
  assert.equal(c.spans()[0]?.name, 'h', 'a hanging request is still recorded and decoded');
  const t0 = Date.now();
  await c.close();
  assert.ok(Date.now() - t0 < 2000, 'close() does not wait for the hanging request');
  assert.equal(await pending, 'failed');
  await c.close(); // idempotent

  // A long delay is cut short by close() too.
  const d = await startCollector({ respond: () => ({ delayMs: 60_000 }) });
  const p2 = fetch(d.url, { method: 'POST', headers: PB, body: bin(body) }).then(() => 'answered', () => 'failed');
  await d.waitFor(() => d.requests.length === 1, 2000);
  await d.close();
  assert.equal(await p2, 'failed');
});

test('static server: content types, routes, extra headers, no traversal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-static-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'm.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(dir, 'a.js'), 'export {}');
  const s = await startStaticServer({
    dir,
    headers: { 'content-security-policy': "script-src 'self'" },
    routes: { '/dyn.json': { body: '{"a":1}', headers: { 'x-route': '1' } }, '/raw.wasm': new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) },
  });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    let r = await fetch(s.url);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(r.headers.get('content-security-policy'), "script-src 'self'");
    assert.match(await r.text(), /<title>t<\/title>/);
    for (const p of ['/m.wasm', '/raw.wasm']) {
      r = await fetch(s.origin + p);
      assert.equal(r.headers.get('content-type'), 'application/wasm', p);
      assert.ok(WebAssembly.validate(new Uint8Array(await r.arrayBuffer())), p);
    }
    r = await fetch(s.origin + '/a.js');
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    await r.arrayBuffer();
    r = await fetch(s.origin + '/dyn.json');
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-route'), '1');
    assert.deepEqual(await r.json(), { a: 1 });
    r = await fetch(s.origin + '/missing.html');
    assert.equal(r.status, 404);
    await r.arrayBuffer();
    r = await fetch(s.origin + '/%2e%2e/%2e%2e/etc/passwd');
    assert.ok(r.status === 403 || r.status === 404, `traversal refused (${r.status})`);
    assert.doesNotMatch(await r.text(), /root:/);
    assert.ok(s.requests.some((q) => q.path === '/m.wasm'));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
