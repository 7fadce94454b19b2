// A synchronous burst: an app that ends many spans in one task, before any
// timer or microtask can export them. Wasm's span pool is fixed (2,048
// slots); spans past it must move to the bounded queue, not be dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
// @ts-expect-error: the built bundle has no declaration file next to it in tests
import * as wasmtrace from '../../dist/node.js';

type Api = typeof import('../../src/node.js');
const { init } = wasmtrace as Api;

// shutdown() waits for requests in flight at most timeoutMs (10 s by default), then
// returns with them still counted as queued: on a loaded machine a burst's last batches
// were still on their way when the assertions ran. These waits are long enough, and each
// shutdown must say it left nothing queued.
const TIMEOUT_MS = 120_000;

test('spans ended in one synchronous burst all arrive, within the queue bound; past it, drops are counted', async () => {
  const collector = await startCollector();
  try {
    // Bursts of several sizes and batch settings, each in one task.
    for (const [burst, batch] of [[1_500, 512], [7_000, 512], [12_000, 100_000], [3_000, 64]] as const) {
      const tracer = await init({ serviceName: 'burst', endpoint: collector.url, storage: null, maxExportBatchSize: batch, maxQueueBytes: 4 << 20, timeoutMs: TIMEOUT_MS });
      const before = collector.spans().length;
      for (let i = 0; i < burst; i++) tracer.startSpan('b', { attributes: { i } }).end();
      const r = await tracer.shutdown();
      assert.equal(r.queued, 0, `burst ${burst}: shutdown left nothing in flight (${JSON.stringify(r)})`);
      const got = collector.spans().slice(before);
      assert.equal(tracer.stats().droppedSpans, 0, `burst ${burst}: nothing dropped`);
      const seen = new Set(got.filter((s) => s.name === 'b').map((s) => attrs(s.attributes).i));
      assert.equal(seen.size, burst, `burst ${burst}, batch ${batch}: every span once`);
      assert.equal(got.filter((s) => s.name === 'wasmtrace.dropped').length, 0);
    }
    // A queue bound too small for the burst: the oldest batches go, counted and reported.
    const small = await init({ serviceName: 'burst', endpoint: collector.url, storage: null, maxQueueBytes: 64 * 1024, timeoutMs: TIMEOUT_MS });
    const before = collector.spans().length;
    for (let i = 0; i < 20_000; i++) small.startSpan('s', { attributes: { i } }).end();
    const r = await small.shutdown();
    assert.equal(r.queued, 0, `small queue: shutdown left nothing in flight (${JSON.stringify(r)})`);
    const got = collector.spans().slice(before);
    const arrived = got.filter((s) => s.name === 's').length;
    const reported = got.filter((s) => s.name === 'wasmtrace.dropped').reduce((n, s) => n + Number(attrs(s.attributes)['wasmtrace.drop.spans']), 0);
    assert.ok(arrived > 0 && arrived < 20_000, `${arrived} arrived`);
    assert.equal(arrived + reported, 20_000, `${arrived} arrived + ${reported} reported dropped (shutdown said ${JSON.stringify(r)})`);
    assert.equal(small.stats().droppedQueueFull, reported);
  } finally {
    await collector.close();
  }
});
