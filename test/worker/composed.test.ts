// instrument() in apps that compose their handlers (in real workerd):
// - a second instrument() in the same isolate exports through the runtime's
//   fetch, not the first one's traced fetch (its exports were CLIENT spans);
// - a frozen env and ctx (tests and frameworks freeze theirs): a Proxy must
//   read a frozen property as it is, so bindings and waitUntil go through
//   untraced instead of the wrapper throwing a TypeError into the app;
// - a route callback that throws, or gives no string: the request is traced,
//   named without a route (a throw lost the span before, a number named it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { fixture, startWorkers } from './harness.js';

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers([
    { name: 'composed', routes: ['composed.example/*'], scriptPath: fixture('composed.mjs'), serviceBindings: { SVC: 'echo' }, bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'first' } },
    { name: 'echo', routes: ['echo.example/*'], scriptPath: fixture('echo.mjs') },
  ]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

const call = async (path: string) => {
  const res = await mf.dispatchFetch(`http://composed.example${path}`);
  return { status: res.status, body: await res.text() };
};
const server = (path: string) => collector.spans().find((s) => s.kind === 2 && attrs(s.attributes)['url.path'] === path);

test('two instrument() wrappers in one isolate: each traces its requests, and no export request becomes a CLIENT span', async () => {
  // The second wrapper's requests end, and export, while one of the first's is open.
  const slow = call('/slow');
  await new Promise((r) => setTimeout(r, 100));
  for (const path of ['/second/two', '/second/three']) {
    const r = await call(path);
    assert.equal(r.status, 200, r.body);
  }
  await collector.waitFor(() => ['/second/two', '/second/three'].every((p) => server(p)), 10_000);
  assert.equal((await slow).status, 200);
  for (const path of ['/one', '/one-more']) assert.equal((await call(path)).status, 200);
  await collector.waitFor(() => ['/one', '/one-more', '/slow'].every((p) => server(p)), 10_000);
  await new Promise((r) => setTimeout(r, 300)); // a CLIENT span of an export would come with its batch
  const spans = collector.spans();
  const clients = spans.filter((s) => s.kind === 3);
  // One CLIENT span per request (its binding call); none to the collector.
  assert.deepEqual(clients.filter((s) => String(attrs(s.attributes)['url.full']).startsWith(collector.url.split('/v1')[0]!)), []);
  assert.equal(clients.filter((s) => attrs(s.attributes)['url.full'] === 'http://svc.example/').length, 5);
  assert.equal(server('/second/two')!.resource['service.name'], 'second');
  assert.equal(server('/one')!.resource['service.name'], 'first');
});

test('a frozen env and ctx: the app reads its bindings and calls waitUntil as it would untraced; its request is still traced', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await call('/frozen');
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { svc: { traceparent: string | null }; frozen: boolean };
    assert.equal(body.frozen, true);
    assert.equal(body.svc.traceparent, null, 'the frozen binding goes untraced');
  }
  await collector.waitFor(() => !!server('/frozen'), 10_000);
  assert.equal(server('/frozen')!.name, 'GET');
});

test('a route callback that throws or gives no string: the request is traced, named after its method alone, with no http.route', async () => {
  for (const path of ['/route-throws', '/route-number', '/routed']) assert.equal((await call(path)).status, 200, path);
  await collector.waitFor(() => ['/route-throws', '/route-number', '/routed'].every((p) => server(p)), 10_000);
  for (const path of ['/route-throws', '/route-number']) {
    const s = server(path)!;
    assert.equal(s.name, 'GET', path);
    assert.equal(attrs(s.attributes)['http.route'], undefined, path);
  }
  assert.equal(server('/routed')!.name, 'GET /routed');
  assert.equal(attrs(server('/routed')!.attributes)['http.route'], '/routed');
});
