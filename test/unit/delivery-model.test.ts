// Delivery across tabs sharing one origin's storage: a tab shut down or
// killed while its adoption of stored batches is under way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTask } from 'node:timers/promises';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import {
  assertDecoded, endSpans, expireClaimsOf, flakyPort, mortalTab, received, sleep, storedSpans, tabFor, uniqueIds,
} from './delivery-harness.js';

/** Polls `cond` every ms; throws after `ms`. Returns in the same turn as the check that passed. */
async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(1);
  }
}

// Generated schedules found this (seeds 1073, 1207 of the model): a tab
// shut down while its first adoption (a later task, SETTLE_MS long) was under
// way. Its flush skipped the adoption, shutdown returned, and then the closed
// pipeline took the batches, sent them, and on failure held their claims for
// the 30 s lease, so the next page could not deliver them.
test('a tab shut down while its first adoption settles tries the adopted batch and hands it on at once', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  const a = await tabFor(down.url, { storage: area.open(), maxAttempts: 1 });
  endSpans(a.tracer, 5, 'stored');
  await a.tracer.shutdown();
  assert.equal(storedSpans(area), 5);
  let sends = 0;
  const failing = async (): Promise<never> => {
    sends++;
    throw new TypeError('fetch failed');
  };
  const b = await tabFor(down.url, { storage: area.open(), transport: failing });
  const claims = (): Array<[string, string]> => area.entries().filter(([k]) => k.startsWith('wasmtrace:c:'));
  await until(() => claims().length > 0, 'b to claim the stored batch'); // its adoption waits SETTLE_MS now
  assert.deepEqual(await b.tracer.shutdown(), { sent: 0, queued: 5, dropped: 0 }, 'the batch being adopted is part of the shutdown');
  const sendsAtShutdown = sends;
  assert.equal(sendsAtShutdown, 1, 'tried once, as a flush does');
  assert.deepEqual(claims(), [], 'no claim outlives shutdown');
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const next = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === 5, 2000); // far inside the 30 s lease
  await next.tracer.shutdown();
  await sleep(60); // longer than SETTLE_MS: a late adoption by b would have sent by now
  assert.equal(sends, sendsAtShutdown, 'b sends nothing after shutdown');
  assert.equal(uniqueIds(received(c).user), 5);
  assert.deepEqual(area.entries(), []);
});

// The fix made a flush wait for an adoption under way; seed 1046 then found
// that the flush's own new batch waited unwritten meanwhile, and died with
// its page. A flush that joins the adoption writes its batches ahead first.
test('a flush that joins an adoption under way writes its new batch ahead while it waits', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  const a = await tabFor(down.url, { storage: area.open(), maxAttempts: 1 });
  endSpans(a.tracer, 5, 'stored');
  await a.tracer.shutdown();
  const b = await mortalTab(down.url, area.open(), { compression: 'none' });
  await until(() => area.entries().some(([k]) => k.startsWith('wasmtrace:c:')), 'b to claim the stored batch');
  endSpans(b.tracer, 4, 'fresh');
  void b.tracer.flush();
  await nextTask(); // a task later, well inside SETTLE_MS: b's page may die here
  const stored = storedSpans(area);
  const flying = b.flying().length;
  assert.ok(stored === 9 || (stored === 5 && flying === 1), `the new batch is in storage or in flight (stored ${stored} spans, ${flying} in flight)`);
  b.kill();
  const owner = b.owner();
  if (owner) expireClaimsOf(area, owner);
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const next = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === stored, 2000);
  await next.tracer.shutdown();
  assert.equal(uniqueIds(received(c).user), stored);
  assert.deepEqual(area.entries(), []);
});
