// Settings from the env (OTEL_* names) and options, and the attribute rules
// of requests the other tests do not send, in real workerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
import { fixture, startWorkers } from './harness.js';

let collector: Collector;
let mf: Miniflare;

const of = (service: string) => collector.spans().filter((s) => s.resource['service.name'] === service);

async function call(host: string, path: string, method = 'GET') {
  const res = await mf.dispatchFetch(`http://${host}.example${path}`, { method });
  return { status: res.status, body: await res.text() };
}

async function spanOf(service: string, pred: (s: FlatSpan) => boolean, what: string): Promise<FlatSpan> {
  await collector.waitFor(() => of(service).some(pred), 15_000).catch(() => {
    throw new Error(`no span ${what}; have: ${of(service).map((s) => s.name).join(', ')}`);
  });
  return of(service).find(pred)!;
}

before(async () => {
  collector = await startCollector();
  const worker = (name: string, bindings: Record<string, string>) => ({
    name,
    routes: [`${name}.example/*`],
    scriptPath: fixture('config.mjs'),
    serviceBindings: { SELF: name },
    bindings: { NAME: name, DEAD_URL: 'http://127.0.0.1:9/nothing', OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.origin}/`, ...bindings },
  });
  mf = startWorkers([
    worker('cfg', {
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b, x-team=one, broken',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=two',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', // no wasm: given: protobuf, with a warning
    }),
    worker('json', { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', JSON_WASM: '1' }),
    worker('off', { OTEL_SDK_DISABLED: ' TRUE ' }),
    worker('window', { OTEL_BSP_SCHEDULE_DELAY: '300' }),
    worker('each', { OTEL_BSP_SCHEDULE_DELAY: '0' }),
    worker('limits', { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '4', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '6' }),
    worker('gz', { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }),
  ]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

test('export headers from OTEL_EXPORTER_OTLP_HEADERS, the TRACES_ variant winning; protobuf when http/json has no wasm', async () => {
  await call('cfg', '/hello');
  await spanOf('cfg', (s) => s.kind === 2, 'cfg server');
  const q = collector.requests.find((r) => r.decoded?.resourceSpans.some((rs) => rs.resource.attributes.some((a) => a.key === 'service.name' && JSON.stringify(a.value) === '{"stringValue":"cfg"}')))!;
  assert.equal(q.path, '/v1/traces');
  assert.equal(q.headers['x-api-key'], 'a b');
  assert.equal(q.headers['x-team'], 'two');
  assert.equal(q.headers['content-type'], 'application/x-protobuf');
});

test('OTEL_EXPORTER_OTLP_COMPRESSION=gzip: gzipped bodies with Content-Encoding, decoded whole; others go uncompressed', async () => {
  await call('gz', '/zipped');
  await spanOf('gz', (s) => attrs(s.attributes)['url.path'] === '/zipped', 'gz server');
  const mine = (name: string) => collector.requests.filter((r) => r.decoded?.resourceSpans.some((rs) => rs.resource.attributes.some((a) => a.key === 'service.name' && JSON.stringify(a.value) === JSON.stringify({ stringValue: name }))));
  const gz = mine('gz');
  assert.ok(gz.length > 0 && gz.every((r) => r.headers['content-encoding'] === 'gzip' && r.rawBody[0] === 0x1f && r.rawBody[1] === 0x8b), 'every gz export is gzip');
  await call('cfg', '/plain');
  await spanOf('cfg', (s) => attrs(s.attributes)['url.path'] === '/plain', 'cfg server');
  assert.ok(mine('cfg').every((r) => r.headers['content-encoding'] === undefined), 'cfg exports are not compressed');
});

test('http/json with the json module: OTLP/JSON bodies', async () => {
  await call('json', '/hello');
  const s = await spanOf('json', (x) => x.kind === 2, 'json server');
  assert.equal(s.name, 'GET');
  const q = collector.requests.find((r) => r.headers['content-type'] === 'application/json');
  assert.ok(q?.decoded, 'a JSON export decoded');
});

test('OTEL_SDK_DISABLED: the handler runs, nothing is exported', async () => {
  assert.deepEqual(await call('off', '/hello'), { status: 200, body: 'GET ok' });
  await call('cfg', '/after-off'); // exported after anything "off" would have sent
  await spanOf('cfg', (s) => attrs(s.attributes)['url.path'] === '/after-off', 'after-off');
  assert.equal(of('off').length, 0);
});

test('span limits from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', async () => {
  await call('limits', '/a-long-path?q=1');
  const s = await spanOf('limits', (x) => x.kind === 2, 'limits server');
  assert.equal(s.attributes.length, 4);
  assert.ok(s.droppedAttributesCount > 0, `dropped ${s.droppedAttributesCount}`);
  for (const v of Object.values(attrs(s.attributes))) if (typeof v === 'string') assert.ok(v.length <= 6, v);
  assert.equal(s.resource['service.name'], 'limits'); // the resource is exempt
});

test('a burst of 6,000 spans in one invocation: every span arrives once (Wasm holds 2,048)', async () => {
  assert.deepEqual(await call('cfg', '/burst?n=6000'), { status: 200, body: '6000 spans' });
  const items = () => of('cfg').filter((s) => s.name === 'burst.item');
  await collector.waitFor(() => items().length >= 6000, 15_000).catch(() => assert.fail(`${items().length} of 6000 arrived`));
  const seen = new Set(items().map((s) => attrs(s.attributes).i));
  assert.equal(seen.size, 6000);
  assert.equal(items().length, 6000);
});

test('an unknown method is _OTHER, the span is named HTTP; redactQuery keys and signature keys are REDACTED', async () => {
  assert.equal((await call('cfg', '/odd?token=t&sig=s&keep=k&token', 'PURGE')).body, 'PURGE ok');
  const s = await spanOf('cfg', (x) => attrs(x.attributes)['url.path'] === '/odd', '/odd');
  const a = attrs(s.attributes);
  assert.equal(s.name, 'HTTP');
  assert.equal(a['http.request.method'], '_OTHER');
  assert.equal(a['http.request.method_original'], 'PURGE');
  assert.equal(a['url.full'], 'http://cfg.example/odd?token=REDACTED&sig=REDACTED&keep=k&token');
  assert.equal(a['url.query'], 'token=REDACTED&sig=REDACTED&keep=k&token');
});

test('ignore: the request runs untraced', async () => {
  assert.equal((await call('cfg', '/health')).body, 'GET ok');
  await call('cfg', '/after-health');
  await spanOf('cfg', (s) => attrs(s.attributes)['url.path'] === '/after-health', 'after-health');
  assert.equal(of('cfg').filter((s) => attrs(s.attributes)['url.path'] === '/health').length, 0);
});

test('CLIENT spans: a 4xx answer is an error; a fetch that cannot connect records the exception and rejects as before', async () => {
  const r = await call('cfg', '/calls');
  const seen = JSON.parse(r.body) as { status: number; failed: string };
  assert.equal(seen.status, 418);
  assert.notEqual(seen.failed, 'no'); // the rejection reached the handler
  const server = await spanOf('cfg', (s) => s.kind === 2 && attrs(s.attributes)['url.path'] === '/calls', '/calls');
  const teapot = await spanOf('cfg', (s) => s.kind === 3 && s.parentSpanId === server.spanId && attrs(s.attributes)['server.address'] === 'self.internal', 'binding client');
  const a = attrs(teapot.attributes);
  assert.equal(a['http.response.status_code'], '418');
  assert.equal(a['error.type'], '418');
  assert.equal(a['server.port'], '80');
  assert.equal(teapot.status.code, 2);
  const dead = await spanOf('cfg', (s) => s.kind === 3 && s.parentSpanId === server.spanId && attrs(s.attributes)['server.port'] === '9', 'dead client');
  assert.equal(attrs(dead.attributes)['error.type'], seen.failed);
  assert.equal(dead.status.code, 2);
  assert.ok(dead.events.some((e) => e.name === 'exception'));
  // The server span itself: a 200 (its own answer), not an error.
  assert.equal(server.status.code, 0);
});

/** The collector requests that carried spans of `service`, and how many of them each carried. */
const exportsOf = (service: string) =>
  collector.requests
    .filter((r) => r.decoded?.resourceSpans.some((rs) => rs.resource.attributes.some((a) => a.key === 'service.name' && JSON.stringify(a.value) === JSON.stringify({ stringValue: service }))))
    .map((r) => r.decoded!.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0));

test('OTEL_BSP_SCHEDULE_DELAY=300: 20 concurrent requests leave in a few exports, every span exactly once', async () => {
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call('window', `/c${i}`)));
  assert.ok(results.every((r) => r.body === 'GET ok'));
  await collector.waitFor(() => of('window').length >= 20, 15_000);
  await new Promise((r) => setTimeout(r, 500)); // anything sent twice would be here by now
  const paths = of('window').map((s) => String(attrs(s.attributes)['url.path'])).sort();
  assert.deepEqual(paths, Array.from({ length: 20 }, (_, i) => `/c${i}`).sort());
  const counts = exportsOf('window');
  assert.equal(counts.reduce((a, b) => a + b, 0), 20);
  // One window, or a few if the requests' ends spread past it on a slow machine; never one export per request (20).
  assert.ok(counts.length <= 10, `exports: ${JSON.stringify(counts)}`);
});

test('OTEL_BSP_SCHEDULE_DELAY=0: each invocation exports its own span at its end', async () => {
  for (let i = 0; i < 4; i++) {
    await call('each', `/e${i}`);
    await collector.waitFor(() => of('each').length === i + 1, 15_000);
  }
  assert.deepEqual(exportsOf('each'), [1, 1, 1, 1]);
});
