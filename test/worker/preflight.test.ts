// CORS preflights are not traced by default (browsers send them without a
// traceparent, so each would be a one-span trace); the real request is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { fixture, startWorkers } from './harness.js';

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers([{ name: 'app', scriptPath: fixture('app.mjs'), bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'edge', UPSTREAM: 'http://127.0.0.1:9' }, serviceBindings: { SVC: 'app' } }]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

test('a preflight runs untraced; the request that follows is traced', async () => {
  const pre = await mf.dispatchFetch('http://shop.example/plain', { method: 'OPTIONS', headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' } });
  await pre.text();
  const real = await mf.dispatchFetch('http://shop.example/plain', { headers: { origin: 'http://page.example' } });
  assert.equal(await real.text(), 'plain ok');
  await collector.waitFor(() => collector.spans().length >= 1, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  const methods = collector.spans().map((s) => s.name);
  assert.deepEqual(methods, ['GET'], 'only the real request has a span');
});
