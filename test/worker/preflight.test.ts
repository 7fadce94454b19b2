// CORS preflights are not traced by default (browsers send them without a
// traceparent, so each would be a one-span trace); the real request is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)]!;

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

/**
 * Generated requests of every method, with and without
 * Access-Control-Request-Method (and the other headers a preflight has): only
 * an OPTIONS with that header is a preflight, left untraced; an OPTIONS
 * without it is a request an API answers, and gets its SERVER span. Fails
 * with mutant W4 (every OPTIONS untraced).
 */
test('60 generated requests: only OPTIONS with Access-Control-Request-Method goes untraced; any other OPTIONS gets its span', async () => {
  const r = prng(0x0b7105);
  const cases = Array.from({ length: 60 }, (_, i) => {
    // OPTIONS in half the cases, at least 10 of each kind at the boundary (OPTIONS with and without the header).
    const method = i % 2 ? 'OPTIONS' : pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']);
    const acrm = i % 4 < 2 ? undefined : pick(r, ['POST', 'PUT', 'GET', 'DELETE', 'PATCH']);
    const headers: Record<string, string> = {};
    if (r() < 0.7) headers.origin = 'http://page.example';
    if (r() < 0.5) headers['access-control-request-headers'] = 'content-type, x-api-key';
    if (acrm !== undefined) headers['access-control-request-method'] = acrm;
    return { path: `/case-${i}`, method, headers, preflight: method === 'OPTIONS' && acrm !== undefined };
  });
  const n0 = collector.spans().length;
  for (const c of cases) await (await mf.dispatchFetch(`http://shop.example${c.path}`, { method: c.method, headers: c.headers })).arrayBuffer();
  const traced = cases.filter((c) => !c.preflight);
  const paths = () => new Set(collector.spans().slice(n0).map((s) => attrs(s.attributes)['url.path']));
  await collector.waitFor(() => traced.every((c) => paths().has(c.path)), 10_000);
  // The untraced ones had the same time to arrive.
  await new Promise((r) => setTimeout(r, 300));
  const spans = collector.spans().slice(n0);
  for (const c of cases) {
    const own = spans.filter((s) => attrs(s.attributes)['url.path'] === c.path);
    assert.equal(own.length, c.preflight ? 0 : 1, JSON.stringify(c));
    if (own[0]) assert.deepEqual([own[0].kind, attrs(own[0].attributes)['http.request.method']], [2, c.method], JSON.stringify(c));
  }
  assert.ok(cases.filter((c) => c.preflight).length >= 10 && traced.filter((c) => c.method === 'OPTIONS').length >= 10);
});
