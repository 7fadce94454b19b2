// Smart sampling in real workerd: the worker decides from the trace id as the
// browser does (OTEP 235 threshold on the trace id's last 56 bits), exports
// exactly the traces it keeps, and keeps every failed request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { fixture, startWorkers } from './harness.js';

/** OTEP 235 threshold for a ratio, computed here independently of the SDK: 56 bits, hex, trailing zeros trimmed. */
function thresholdHex(ratio: number): string {
  const t = BigInt(Math.round((1 - ratio) * 2 ** 56));
  return t === 0n ? '0' : t.toString(16).padStart(14, '0').replace(/0+$/, '');
}

const RATIO = 0.5;
let collector: Collector;
let mf: Miniflare;

/** The decision computed independently of the SDK. */
const keeps = (traceId: string) => traceId.slice(18) >= thresholdHex(RATIO).padEnd(14, '0');

before(async () => {
  collector = await startCollector();
  mf = startWorkers([{ name: 'sampled', scriptPath: fixture('sampled.mjs'), bindings: { RATIO: String(RATIO), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'edge' } }]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

test('the worker decides by trace id like every other service, and exports exactly what it keeps', async () => {
  const seen: Array<{ traceId: string; traceFlags: number; traceState: string }> = [];
  for (let i = 0; i < 40; i++) {
    const res = await mf.dispatchFetch('http://edge.example/ok');
    seen.push((await res.json()) as (typeof seen)[number]);
  }
  const failed: string[] = [];
  for (let i = 0; i < 10; i++) {
    // A caller that did not sample: the worker still keeps the failure.
    const traceId = `${i.toString(16).padStart(2, '0')}${'a'.repeat(16)}000000000000001`.slice(0, 32);
    const res = await mf.dispatchFetch('http://edge.example/throw', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` } });
    assert.equal(res.status, 500);
    await res.text();
    failed.push(traceId);
  }
  const kept = seen.filter((s) => keeps(s.traceId));
  for (const s of seen) {
    assert.equal((s.traceFlags & 1) === 1, keeps(s.traceId), `decision for ${s.traceId}`);
    if (keeps(s.traceId)) assert.equal(s.traceState, `ot=th:${thresholdHex(RATIO)}`);
  }
  assert.ok(kept.length > 5 && kept.length < 35, `about half kept (${kept.length} of 40)`);
  await collector.waitFor(() => new Set(collector.spans().map((s) => s.traceId)).size >= kept.length + failed.length, 10_000);
  await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
  const exported = new Set(collector.spans().map((s) => s.traceId));
  assert.deepEqual([...exported].sort(), [...kept.map((s) => s.traceId), ...failed].sort());
  for (const s of collector.spans().filter((x) => failed.includes(x.traceId))) assert.equal(s.status.code, 2);
});
