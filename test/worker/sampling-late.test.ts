// Tail sampling in real workerd when work outlives the response: a waitUntil
// job that fails after the invocation's span ended keeps the whole trace,
// and one that succeeds keeps nothing (ratio 0). Seeded delays and outcomes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs';

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers([{ name: 'late', scriptPath: fixture('late.mjs'), bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'edge' } }]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

test('a waitUntil job failing after the response keeps its trace whole; one succeeding keeps nothing (16 requests)', async () => {
  const r = prng(0x1a7e);
  const expected = new Map<string, boolean>();
  await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const fails = i % 2 === 0 || r() < 0.3;
      const ms = 10 + Math.floor(r() * 80);
      const traceId = `${i.toString(16).padStart(4, '0')}${'b'.repeat(28)}`;
      const res = await mf.dispatchFetch(`http://edge.example/late?ms=${ms}${fails ? '&fail=1' : ''}`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` } });
      assert.equal(await res.text(), 'accepted');
      expected.set(traceId, fails);
    }),
  );
  const failed = [...expected].filter(([, f]) => f).map(([id]) => id);
  await collector.waitFor(() => collector.spans().length >= 2 * failed.length, 10_000);
  await new Promise((res) => setTimeout(res, 300)); // nothing more arrives
  const got = new Map<string, string[]>();
  for (const s of collector.spans()) got.set(s.traceId, [...(got.get(s.traceId) ?? []), s.name].sort());
  assert.deepEqual([...got.keys()].sort(), failed.sort(), 'exactly the traces whose job failed');
  for (const id of failed) assert.deepEqual(got.get(id), ['GET', 'background-job'], `trace ${id} whole`);
});
