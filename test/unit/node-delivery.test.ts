// Delivery from Node, through dist/node.js as a server imports it: there is no
// page to outlive, so requests are not keepalive and the browser's 64 KiB
// budget for keepalive bodies does not hold large batches back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { allSpans } from '../helpers/otlp.js';
import { endSpans, sleep, watchFetch } from './delivery-harness.js';

const { init } = (await import(new URL('../../dist/node.js', import.meta.url).href)) as typeof import('../../src/node.js');

for (const concurrent of [1, 2, 3]) {
  test(`Node: ${concurrent} request(s) of 40-60 KB in flight at once against a slow collector (maxConcurrentRequests ${concurrent}), none keepalive`, async (t) => {
    let open = 0;
    let maxOpen = 0;
    const c = await startCollector({
      respond: async () => {
        maxOpen = Math.max(maxOpen, ++open);
        await sleep(150);
        open--;
        return {};
      },
    });
    t.after(() => c.close());
    const watch = watchFetch();
    t.after(() => watch.restore());
    const tracer = await init({ serviceName: 'node-delivery', endpoint: c.url, compression: 'none', maxConcurrentRequests: concurrent, scheduledDelayMs: 60_000 });
    const n = 2000;
    endSpans(tracer, n, 'op', 120); // ~300 KB: at least five bodies of 40-60 KB
    assert.equal((await tracer.flush()).sent, n);
    await tracer.shutdown();
    const bodies = c.requests.map((r) => r.rawBody.length);
    assert.ok(bodies.length >= 5 && bodies.every((b) => b <= 60 * 1024), `bodies ${bodies.join(', ')}`);
    assert.ok(bodies.filter((b) => b > 40_000).length >= 4, `bodies ${bodies.join(', ')}`);
    assert.equal(maxOpen, concurrent, `${maxOpen} requests at once`);
    assert.ok(watch.calls.length > 0 && watch.calls.every((o) => !o.keepalive), 'no keepalive request');
    const names = new Set(c.requests.flatMap((r) => allSpans(r.decoded!).map((s) => s.name)));
    assert.equal(names.size, n, 'every span once');
  });
}

test('Node: export requests name the exporter in User-Agent (OTLP), unless the user sets one (any case, option or variable)', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  const { VERSION } = await import('../../src/version.js');
  const cases: Array<[Record<string, unknown>, string]> = [
    [{}, `wasmtrace/${VERSION} (Node.js ${process.version})`],
    [{ headers: { 'User-Agent': 'mine/1' } }, 'mine/1'],
    [{ headers: { 'user-agent': 'mine/2', 'x-k': 'v' } }, 'mine/2'],
    [{ env: { OTEL_EXPORTER_OTLP_HEADERS: 'User-Agent=env%2F3' } }, 'env/3'],
    [{ env: { OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-k=v' } }, `wasmtrace/${VERSION} (Node.js ${process.version})`],
  ];
  for (const [options, want] of cases) {
    const before = c.requests.length;
    const tracer = await init({ serviceName: 'ua', endpoint: c.url, ...options });
    tracer.startSpan('s').end();
    await tracer.shutdown();
    assert.equal(c.requests.length, before + 1);
    assert.equal(c.requests[before]!.headers['user-agent'], want, JSON.stringify(options));
  }
});
