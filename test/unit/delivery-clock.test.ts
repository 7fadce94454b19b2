// The wall clock set back (an NTP step, the user, a VM resumed) by more than
// timeoutMs: every request after it got the already-aborted shared deadline
// and failed at once, and a retry due before the step waited for the length
// of the step. Delivery's timing is monotonic now. Generated steps (back by
// up to 10 h, or forward), a real node:http collector, Date.now patched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { allSpans, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, sleep, tabFor } from './delivery-harness.js';

const CASES = 8;
const TIMEOUT_MS = 500;

test(`a wall clock stepped back or forward stalls no request and no retry (${CASES} generated steps)`, async () => {
  const realNow = Date.now;
  let skew = 0;
  Date.now = () => realNow() + skew;
  // Every first request of a case's second batch is answered 503: its retry is due across the step.
  let failNext = false;
  const refused = new Set<number>();
  const c = await startCollector({ respond: (_q, k) => (failNext ? ((failNext = false), refused.add(k), { status: 503 }) : {}) });
  try {
    const r = prng(303);
    for (let i = 0; i < CASES; i++) {
      skew = 0;
      const step = (i % 4 === 3 ? 1 : -1) * Math.round(2 * TIMEOUT_MS + r() * 36_000_000);
      const tab = await tabFor(c.url, { timeoutMs: TIMEOUT_MS, maxAttempts: 5, retryInitialDelayMs: 20, retryMaxDelayMs: 40 });
      const n = 1 + Math.floor(r() * 6);
      const accepted = (): FlatSpan[] => c.requests.flatMap((q, k) => (refused.has(k) || !q.decoded ? [] : allSpans(q.decoded)));
      const mine = (name: string): number => accepted().filter((s) => s.name.startsWith(`${name}${i}-`)).length;
      endSpans(tab.tracer, n, `before${i}`);
      await tab.pipeline.flush();
      await c.waitFor(() => mine('before') === n, 15_000); // retried if a busy machine made it time out
      await sleep(TIMEOUT_MS * 1.5); // the shared deadline of that request has fired
      failNext = true;
      endSpans(tab.tracer, n, `retried${i}`);
      assert.deepEqual(await tab.pipeline.flush(), { sent: 0, queued: n, dropped: 0 }, `case ${i}: 503, retry due`);
      skew = step;
      // A bound only: a retry stalled by the step waits 1.7 h or more (the steps back of this seed).
      await c.waitFor(() => mine('retried') === n, 15_000).catch(() => {});
      assert.equal(mine('retried'), n, `case ${i}: the retry due across a ${step} ms step`);
      endSpans(tab.tracer, n, `after${i}`);
      assert.equal((await tab.pipeline.flush()).queued, 0, `case ${i}: nothing waits`);
      assert.equal(mine('after'), n, `case ${i}: a request after a ${step} ms step`);
      await tab.pipeline.shutdown();
    }
  } finally {
    Date.now = realNow;
    await c.close();
  }
});
