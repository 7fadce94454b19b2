// Two tabs share the stored queue: a page's claim on a batch must outlast the
// request it makes, or another tab adopts the batch while it is in flight
// and sends it too. The claim lasted 30 s whatever timeoutMs was (up to 600 s).
// The wall clock is moved on while tab A's retry is in flight (Date.now
// patched: claims are wall time, A's own deadline is monotonic), by more than
// 30 s and less than A's timeoutMs; then tab B opens on the same storage.
// Generated timeouts and gaps, a real node:http collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { allSpans } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, sleep, tabFor } from './delivery-harness.js';

const CASES = 4;

test(`a batch in flight longer than 30 s is not adopted and sent again by another tab (${CASES} generated)`, async () => {
  const realNow = Date.now;
  let skew = 0;
  Date.now = () => realNow() + skew;
  // Per case: the first request is answered 503 (the batch is written ahead), its retry 1.2 s late.
  let first = -1;
  const c = await startCollector({ respond: (_q, k) => (k === first ? { status: 503 } : k === first + 1 ? { delayMs: 1200 } : {}) });
  try {
    const r = prng(404);
    for (let i = 0; i < CASES; i++) {
      skew = 0;
      const timeoutMs = 31_000 + Math.floor(r() * 569_000);
      const gap = 30_500 + Math.floor(r() * (timeoutMs - 31_000));
      const area = createStorageArea();
      first = c.requests.length;
      const a = await tabFor(c.url, { storage: area.open(), timeoutMs, retryInitialDelayMs: 20, retryMaxDelayMs: 40 });
      const n = 1 + Math.floor(r() * 5);
      endSpans(a.tracer, n, `lease${i}`);
      await a.pipeline.flush(); // 503: stored, retried in 20-40 ms
      await c.waitFor(() => c.requests.length === first + 2, 2000); // the retry is in flight
      skew = gap;
      const b = await tabFor(c.url, { storage: area.open() });
      await sleep(1500); // B's adoption, and A's late answer
      await b.pipeline.flush();
      const accepted = c.requests.slice(first + 1).flatMap((q) => (q.decoded ? allSpans(q.decoded) : [])).filter((s) => s.name.startsWith(`lease${i}-`));
      assert.equal(accepted.length, n, `case ${i}: timeoutMs ${timeoutMs}, ${gap} ms in flight: each span accepted once`);
      await a.pipeline.shutdown();
      await b.pipeline.shutdown();
    }
  } finally {
    Date.now = realNow;
    await c.close();
  }
});
