// Page hide and unload, with a document and window faked on globalThis:
// keepalive requests started synchronously inside the handler, nothing
// compressed there, the 64 KiB budget kept, and what does not fit handed to
// the next page through storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { allSpans } from '../helpers/otlp.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { assertDecoded, endSpans, fakePage, flakyPort, hide, leaveStored, pageAndCollector, received, sleep, storedSpans, tabFor, tabRefusingFirst, uniqueIds, until, watchFetch, left } from './delivery-harness.js';

test('on a cross-origin page, auto compression is off (no preflight for Content-Encoding)', async (t) => {
  const { c, page } = await pageAndCollector(t);
  const a = await tabFor(c.url);
  endSpans(a.tracer, 3);
  await a.tracer.flush();
  assert.equal(c.requests[0]!.headers['content-encoding'], undefined);
  await a.tracer.shutdown();
});

test('hidden, then pagehide: keepalive fetch started inside the handler, uncompressed, nothing awaited', async (t) => {
  const { c, page } = await pageAndCollector(t);
  const area = createStorageArea();
  const a = await tabFor(c.url, { storage: area.open(), compression: 'gzip' });
  await sleep(80); // start-up adoption done
  const watch = watchFetch();
  t.after(() => watch.restore());
  endSpans(a.tracer, 20);
  hide(page);
  assert.equal(watch.calls.length, 1, 'the request started synchronously');
  assert.equal(watch.calls[0]!.keepalive, true);
  page.win.dispatchEvent(new Event('pagehide'));
  assert.equal(storedSpans(area), 0, 'a batch handed to the browser leaves storage');
  await c.waitFor(() => received(c).user.length === 20);
  assert.equal(c.requests[0]!.headers['content-encoding'], undefined, 'never compressed while hiding');
  await a.tracer.shutdown();
});

test('a batch handed off at unload is not stored again when the dying page sees its fetch rejected; it is if the page lives on', async (t) => {
  const { page } = await pageAndCollector(t);
  const area = createStorageArea();
  const pending: Array<(e: unknown) => void> = [];
  const a = await tabFor('http://127.0.0.1:9/v1/traces', {
    storage: area.open(), compression: 'none', retryInitialDelayMs: 60_000, retryMaxDelayMs: 60_000,
    // The two unload requests stay open until the test rejects them; later ones succeed.
    transport: () => (pending.length < 2 ? new Promise((_resolve, reject) => void pending.push(reject)) : Promise.resolve({ status: 200 })),
  });
  await sleep(80);
  endSpans(a.tracer, 10);
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  assert.equal(pending.length, 1, 'sent at unload');
  assert.equal(storedSpans(area), 0, 'handed to the browser');
  pending[0]!(new TypeError('Failed to fetch')); // the document being torn down
  await sleep(20);
  assert.equal(storedSpans(area), 0, 'not stored again: the browser still sends it, and the next page would send it twice');

  // A page restored from the back/forward cache lives on: a handed-off batch that fails is kept.
  const persisted = Object.assign(new Event('pageshow'), { persisted: true });
  page.win.dispatchEvent(persisted);
  endSpans(a.tracer, 5, 'second');
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  assert.equal(pending.length, 2);
  page.win.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
  pending[1]!(new TypeError('Failed to fetch'));
  // Decided a task later (a setTimeout, pipeline.ts settle()): polled, as a loaded machine can run a 20 ms sleep first.
  await until(() => storedSpans(area) > 0, 'the failed batch stored again', 10_000).catch(() => {});
  assert.equal(storedSpans(area), 5, 'the page outlived its unload: stored again');
  await a.tracer.shutdown();
});

test('at unload, what exceeds the keepalive budget waits in storage for the next page', async (t) => {
  const { c, page } = await pageAndCollector(t);
  const area = createStorageArea();
  const a = await tabFor(c.url, { storage: area.open(), maxConcurrentRequests: 4 });
  await sleep(80);
  const watch = watchFetch();
  t.after(() => watch.restore());
  endSpans(a.tracer, 1200, 'u', 150); // about 250 KB encoded
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  const started = watch.calls.reduce((n, o) => n + o.bytes, 0);
  assert.ok(started <= 48 * 1024, `${started} B started at unload: 16 KiB of the budget are left to the app`);
  assert.ok(watch.calls.every((o) => o.keepalive));
  const left = storedSpans(area);
  assert.ok(left > 0, 'the rest is in storage');
  assert.equal(area.entries().filter(([k]) => k.startsWith('wasmtrace:c:')).length, 0, 'claims released at unload');
  // The page is gone; the next page of the origin sends the rest.
  const b = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length >= 1200, 8000);
  await sleep(100);
  const { user } = received(c);
  assert.equal(user.length, 1200, 'every span once');
  assert.equal(uniqueIds(user), 1200);
  await b.tracer.shutdown();
  assert.equal(storedSpans(area), 0);
});

test('a page unloading while it adopts stored batches lets its claims go: the next page sends them at once', async (t) => {
  const page = fakePage('http://127.0.0.1:1');
  t.after(() => page.undo());
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  await leaveStored(area.open(), down.url, 8);
  const claims = () => area.entries().filter(([k]) => k.startsWith('wasmtrace:c:'));
  // B opens, claims the stored batch, and unloads within its settle wait.
  const b = await tabFor(down.url, { storage: area.open() });
  const until = Date.now() + 2000;
  while (claims().length === 0 && Date.now() < until) await sleep(1);
  assert.equal(claims().length, 1, 'B claimed the stored batch');
  page.win.dispatchEvent(new Event('pagehide'));
  assert.deepEqual(claims(), [], 'the claim goes with the page');
  // The next page adopts it at once (not after the 30 s lease) and sends it.
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const next = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === 8, 10_000); // far inside the 30 s lease
  await next.tracer.shutdown();
  assert.equal(uniqueIds(received(c).user), 8);
  assert.deepEqual(left(area), []);
});

test('online revives a parked batch', async (t) => {
  let fail = true;
  const { c, page } = await pageAndCollector(t, { respond: () => (fail ? { status: 503 } : {}) });
  const a = await tabFor(c.url, { maxAttempts: 2, retryInitialDelayMs: 10 });
  endSpans(a.tracer, 3);
  await a.tracer.flush();
  await c.waitFor(() => c.requests.length === 2);
  await sleep(100);
  assert.equal(c.requests.length, 2, 'parked after the retry chain');
  fail = false;
  page.win.dispatchEvent(new Event('online'));
  await c.waitFor(() => c.requests.length === 3);
  await a.tracer.shutdown();
  assert.equal(allSpans(c.requests[2]!.decoded!).length, 3, 'the same batch, accepted this time');
});

// The collector refused the last batch; the scheduled export starts the next
// one just before the navigation. Handed to the browser at pagehide without
// being stored, it was lost when that request failed too.
test('a batch started while the collector is not answering, in flight at pagehide, is kept for the next page', async (t) => {
  const { page } = await pageAndCollector(t);
  const area = createStorageArea();
  const { tab: a, pending, calls } = await tabRefusingFirst(area.open(), 60_000);
  await sleep(80);
  endSpans(a.tracer, 3, 'old');
  await a.pipeline.flush();
  assert.equal(storedSpans(area), 3, 'refused: stored');
  endSpans(a.tracer, 4, 'fresh');
  void a.pipeline.flush();
  await sleep(20);
  assert.equal(calls(), 2, 'the fresh batch is in flight');
  page.win.dispatchEvent(new Event('pagehide'));
  pending[0]?.(new TypeError('Failed to fetch')); // the browser's request fails after the page is gone
  await sleep(20);
  assert.equal(storedSpans(area), 7, 'old and fresh kept for the next page');
});

// The app clears storage (logout: localStorage.clear(), then a navigation)
// while batches wait there for their retry, the collector failing: at
// pagehide they were taken for stored and released, and the next page found
// nothing. Generated span counts, batch sizes and removals.
test('batches whose storage the app cleared before pagehide are written again for the next page (generated)', async (t) => {
  const { c, page } = await pageAndCollector(t);
  const r = prng(4747);
  for (let i = 0; i < 6; i++) {
    const port = await flakyPort();
    t.after(() => port.close());
    const area = createStorageArea();
    const ls = area.open();
    const a = await tabFor(port.url, { storage: ls, maxExportBatchSize: 1 + Math.floor(r() * 10), retryInitialDelayMs: 60_000 });
    const n = 1 + Math.floor(r() * 40);
    endSpans(a.tracer, n, `lo${i}`);
    await a.tracer.flush(); // refused: stored, its retry a minute away
    assert.equal(storedSpans(area), n, `case ${i}: written ahead`);
    if (r() < 0.5) ls.clear();
    else for (const [k] of area.entries()) if (k.startsWith('wasmtrace:')) ls.removeItem(k);
    page.doc.visibilityState = 'visible';
    hide(page);
    page.win.dispatchEvent(new Event('pagehide'));
    assert.equal(storedSpans(area), n, `case ${i}: written again at unload`);
    await port.up(c);
    const b = await tabFor(port.url, { storage: area.open() });
    await c.waitFor(() => received(c).user.filter((s) => s.name.startsWith(`lo${i}-`)).length >= n, 15_000).catch(() => {});
    await sleep(50);
    const got = received(c).user.filter((s) => s.name.startsWith(`lo${i}-`));
    assert.equal(got.length, n, `case ${i}: the next page sent every span`);
    assert.equal(uniqueIds(got), n, `case ${i}: once each`);
    await Promise.all([a.tracer.shutdown(), b.tracer.shutdown()]);
  }
});
