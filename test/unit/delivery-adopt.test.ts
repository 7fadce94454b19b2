// A success adopts the batches earlier pages left in storage (once a lease
// after the last adoption) and must start them: nothing else would until the
// next flush, as no retry timer runs while a request is in flight. Before
// d5d96f4 they were adopted and left waiting (the e2e pagehide-delivery next
// page sent none of a stored batch). Tab B adopts early (storage empty), an
// earlier page then leaves a batch stored, B's own batch is refused once
// (503) and its retry — started by the retry timer, not a flush — succeeds
// after B's clock has moved on past the lease (performance.now patched: it is
// delivery's clock). Generated span counts and clock steps, a real collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { allSpans, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, flakyPort, leaveStored, sleep, storedSpans, tabFor } from './delivery-harness.js';

const CASES = 4;
const LEASE_MS = 30_000; // pipeline.ts: adoption after a success waits this long after the last one

test(`stored batches adopted after a retry's success are sent at once, not at the next flush (${CASES} generated)`, async () => {
  const realNow = performance.now.bind(performance);
  let skew = 0;
  performance.now = () => realNow() + skew;
  let refuse = -1;
  const c = await startCollector({ respond: (_q, k) => (k === refuse ? { status: 503 } : {}) });
  const down = await flakyPort();
  try {
    const r = prng(517);
    for (let i = 0; i < CASES; i++) {
      skew = 0;
      const area = createStorageArea();
      const b = await tabFor(c.url, { storage: area.open(), retryInitialDelayMs: 300, retryMaxDelayMs: 600 });
      await sleep(20); // B's first adoption: nothing stored yet
      const nEarlier = 1 + Math.floor(r() * 20);
      const nOwn = 1 + Math.floor(r() * 20);
      await leaveStored(area.open(), down.url, nEarlier, `earlier${i}`);
      assert.equal(storedSpans(area), nEarlier, `case ${i}: the earlier page's batch is stored`);
      refuse = c.requests.length;
      endSpans(b.tracer, nOwn, `own${i}`);
      assert.deepEqual(await b.pipeline.flush(), { sent: 0, queued: nOwn, dropped: 0 }, `case ${i}: 503, a retry due; nothing adopted within the lease`);
      skew = LEASE_MS + Math.floor(r() * 10 * LEASE_MS);
      const accepted = (): FlatSpan[] => c.requests.flatMap((q, k) => (k === refuse || !q.decoded ? [] : allSpans(q.decoded)));
      const got = (name: string): number => accepted().filter((s) => s.name.startsWith(`${name}${i}-`)).length;
      await c.waitFor(() => got('earlier') >= nEarlier && got('own') >= nOwn, 15_000).catch(() => {});
      await sleep(100); // copies, if any
      assert.equal(got('own'), nOwn, `case ${i}: B's retry succeeded`);
      assert.equal(got('earlier'), nEarlier, `case ${i}: the ${nEarlier} stored spans adopted after it were sent, each once (clock +${skew} ms)`);
      assert.equal(storedSpans(area), 0, `case ${i}: nothing left stored`);
      await b.pipeline.shutdown();
    }
  } finally {
    performance.now = realNow;
    await down.close();
    await c.close();
  }
});
