// An app that clears localStorage (localStorage.clear() at logout is common;
// or removes keys by prefix; or the user clears site data) while batches of
// this page wait there for their retry. The page still holds each batch in
// memory, but start() took the missing entry for "another page adopted it"
// and forgot the batch: its spans were lost, counted nowhere. A key written
// with the first entry and removed by no page tells the two apart: gone with
// the entry, storage was cleared, and the batch is sent from memory.
// Generated removals and span counts; a port that refuses connections, then
// forwards to a real node:http collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, flakyPort, received, sleep, storedSpans, tabFor, uniqueIds } from './delivery-harness.js';

const CASES = Number(process.env.CASES ?? 12);

test(`batches waiting in storage for their retry survive the app clearing storage (${CASES} generated)`, async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  const r = prng(3141);
  for (let i = 0; i < CASES; i++) {
    const port = await flakyPort();
    t.after(() => port.close());
    const area = createStorageArea();
    const ls = area.open(); // the page's localStorage: the app's and wasmtrace's
    const tab = await tabFor(port.url, { storage: ls, maxExportBatchSize: 1 + Math.floor(r() * 8), retryInitialDelayMs: 400, retryMaxDelayMs: 800 });
    t.after(() => tab.pipeline.shutdown());
    const n = 1 + Math.floor(r() * 30);
    endSpans(tab.tracer, n, `clr${i}`);
    await tab.pipeline.flush(); // refused: written ahead, retried in 200-400 ms
    assert.equal(storedSpans(area), n, `case ${i}: written ahead`);
    const byPrefix = r() < 0.5;
    if (byPrefix) for (const [k] of area.entries()) k.startsWith('wasmtrace:') && ls.removeItem(k);
    else ls.clear();
    await port.up(c);
    await c.waitFor(() => received(c).user.filter((s) => s.name.startsWith(`clr${i}-`)).length >= n, 15_000).catch(() => {});
    await sleep(100);
    const got = received(c).user.filter((s) => s.name.startsWith(`clr${i}-`));
    assert.equal(got.length, n, `case ${i}: ${byPrefix ? 'every wasmtrace: key removed' : 'clear()'}: every span sent`);
    assert.equal(uniqueIds(got), n, `case ${i}: once each`);
  }
});
