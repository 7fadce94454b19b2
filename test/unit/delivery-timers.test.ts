// Delivery's timers while batches wait for something no timer brings: a
// free request slot behind a slow collector, or a transport that can never
// take them. The retry timer was re-armed at 0 ms in a loop: a batch that
// could not start looked due (never tried), so its timer fired, pump() could
// not start it again, and the timer was armed again (hundreds of calls a
// second, for as long as the wait). Delivery's own setTimeout calls are
// counted (the collector's are not). Generated cases, a real node:http collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, received, sleep, storedSpans, tabFor, tracerFor, uniqueIds } from './delivery-harness.js';

const CASES = 4;

/** Counts the setTimeout calls made from src/export until stop(). */
function countTimers(): { count(): number; stop(): void } {
  const real = globalThis.setTimeout;
  let n = 0;
  globalThis.setTimeout = function (this: unknown, ...a: Parameters<typeof setTimeout>) {
    // Stack line 1 is this wrapper, line 2 its caller.
    if (/[\\/]src[\\/]export[\\/]/.test(new Error().stack?.split('\n')[2] ?? '')) n++;
    return real.apply(this, a);
  } as typeof setTimeout;
  return { count: () => n, stop: () => void (globalThis.setTimeout = real) };
}

test(`a backlog over maxConcurrentRequests behind a slow collector: no timer spins while it waits, each span delivered once (${CASES} generated)`, async () => {
  const r = prng(0x510c);
  for (let i = 0; i < CASES; i++) {
    const delayMs = 150 + Math.floor(r() * 150);
    const size = 2 + Math.floor(r() * 9);
    const slots = 1 + Math.floor(r() * 3);
    const batches = slots + 2 + Math.floor(r() * 4);
    const n = size * (batches - 1) + 1 + Math.floor(r() * size);
    const c = await startCollector({ respond: () => ({ delayMs }) });
    const timers = countTimers();
    try {
      const tracer = await tracerFor(c.url, { maxExportBatchSize: size, maxConcurrentRequests: slots });
      endSpans(tracer, n);
      const res = await tracer.flush();
      const calls = timers.count();
      const what = `case ${i}: ${n} spans in ${batches} batches of ${size}, ${slots} at a time, answered after ${delayMs} ms`;
      assert.deepEqual(res, { sent: n, queued: 0, dropped: 0 }, what);
      assert.equal(c.requests.length, batches, what);
      // A request's deadline timer (shared by those that start together) and its 2xx body's bound (send.ts), and at most one retry timer.
      assert.ok(calls <= 2 * batches + 1, `${what}: ${calls} setTimeout calls`);
      const { user } = received(c);
      assert.equal(user.length, n, `${what}: spans received`);
      assert.equal(uniqueIds(user), n, `${what}: each once`);
      await tracer.shutdown();
    } finally {
      timers.stop();
      await c.close();
    }
  }
});

test(`no fetch and no sendBeacon (Node without fetch): batches stay stored, retried within maxAttempts, then parked; with headers, parked at once (${CASES} generated)`, async () => {
  const r = prng(0xbea);
  const realFetch = globalThis.fetch;
  try {
    for (let i = 0; i < CASES; i++) {
      const headers = i % 2 === 1;
      const size = 1 + Math.floor(r() * 10);
      const n = 1 + Math.floor(r() * 40);
      const batches = Math.ceil(n / size);
      const maxAttempts = 1 + Math.floor(r() * 5);
      const what = `case ${i}: ${n} spans in batches of ${size}, maxAttempts ${maxAttempts}, headers ${headers}`;
      const area = createStorageArea();
      delete (globalThis as { fetch?: unknown }).fetch; // delivery goes sendBeacon-only when it is created without fetch
      let timers: ReturnType<typeof countTimers> | undefined;
      try {
        const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
          storage: area.open(), maxExportBatchSize: size, maxAttempts, ...(headers && { headers: { 'x-api-key': 'k' } }),
        });
        globalThis.fetch = realFetch;
        endSpans(tab.tracer, n);
        timers = countTimers(); // from the first attempt on
        assert.deepEqual(await tab.tracer.flush(), { sent: 0, queued: n, dropped: 0 }, what);
        await sleep(600); // past every backoff of a 5-attempt chain from 20 ms: at most 20+40+80+160 ms
        const calls = timers.count();
        // A timer per retry, and one more for each the runtime fires a fraction of a ms early; headers leave none to retry.
        const retries = headers ? 0 : batches * (maxAttempts - 1);
        assert.ok(calls <= 2 * retries, `${what}: ${calls} setTimeout calls`);
        await sleep(300);
        assert.equal(timers.count(), calls, `${what}: parked, no timer after the last attempt`);
        assert.equal(storedSpans(area), n, `${what}: every span stored`);
        assert.deepEqual(tab.errors, [], what);
        await tab.tracer.shutdown();
        assert.equal(storedSpans(area), n, `${what}: kept for the next page`);
      } finally {
        globalThis.fetch = realFetch;
        timers?.stop();
      }
    }
  } finally {
    globalThis.fetch = realFetch;
  }
});

// The clock moving on between pump() and scheduleRetry() (a loaded machine, a
// GC pause): a retry due in that gap was taken for one pump() had seen due
// and left for a free slot, so it got no timer and waited for the request in
// flight to settle (up to timeoutMs) instead of its backoff. The gap is made
// here by skewing performance.now() as scheduleRetry() reads it, once.
test(`a retry that falls due between pump() and scheduleRetry() gets its timer, not the wait for a request in flight (${CASES} generated)`, async () => {
  const r = prng(0x7a3);
  const real = performance.now;
  let skewOnce = 0;
  performance.now = function (this: Performance) {
    const t = real.call(this);
    if (skewOnce > 0 && /\bscheduleRetry\b/.test(new Error().stack ?? '')) {
      const s = skewOnce;
      skewOnce = 0;
      return t + s;
    }
    return t;
  };
  try {
    for (let i = 0; i < CASES; i++) {
      const per = 1 + Math.floor(r() * 6);
      const retryMs = 20 + Math.floor(r() * 60);
      const skew = retryMs + 50 + Math.floor(r() * 5000);
      const what = `case ${i}: batches of ${per}, retry after ${retryMs} ms, the clock ${skew} ms on at scheduleRetry()`;
      const held: Array<() => void> = [];
      const answers: number[] = [];
      const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
        maxExportBatchSize: per, maxConcurrentRequests: 2, retryInitialDelayMs: retryMs, retryMaxDelayMs: retryMs, timeoutMs: 60_000,
        // The first batch is held in the network for the whole case; the second is refused once, then taken.
        transport: () => {
          const k = answers.length;
          if (k === 0) return answers.push(-1), new Promise((res) => void held.push(() => res({ status: 200 })));
          const status = k === 1 ? 503 : 200;
          answers.push(status);
          if (status === 503) skewOnce = skew;
          return Promise.resolve({ status });
        },
      });
      endSpans(tab.tracer, 2 * per, `c${i}`);
      void tab.pipeline.flush();
      const until = Date.now() + 2000;
      while (answers.length < 3 && Date.now() < until) await sleep(10);
      assert.deepEqual(answers, [-1, 503, 200], `${what}: retried after its backoff while the first request is still held`);
      for (const h of held) h();
      assert.deepEqual(await tab.pipeline.shutdown(), { sent: per, queued: 0, dropped: 0 }, `${what}: the held batch answered at shutdown`);
    }
  } finally {
    performance.now = real;
  }
});
