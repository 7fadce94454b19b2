// A stored batch whose retry is in flight when the page unloads, its
// collector having failed the last answer: hidden() releases it for the next
// page, which adopts and sends it at once. The old page's keepalive request,
// left going, was finished by the browser after unload: sent twice once the
// collector was back (e2e sdk-firefox offlineThenReload, 80 deliveries of 40
// on a loaded host). Its request is aborted at unload now, so only the next
// page sends it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, type Collector } from '../helpers/collector.js';
import { allSpans, type FlatSpan } from '../helpers/otlp.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { assertDecoded, endSpans, fakePage, gatePort, hide, mortalTab, sleep, storedSpans, tabFor, tabRefusingFirst, uniqueIds, left } from './delivery-harness.js';

/** Spans of the requests the collector answered with a 2xx. */
const acceptedSpans = (c: Collector, accepted: Set<number>): FlatSpan[] =>
  c.requests.flatMap((r, i) => (accepted.has(i) && r.decoded ? allSpans(r.decoded) : []));

async function until(pred: () => boolean, ms: number, what: string, poll = (): unknown => 0): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    poll();
    await sleep(20);
  }
}

/** A collector answering 503 while `down`; a request the gate held gets `held()`'s answer. */
async function collector(t: { after(f: () => unknown): void }): Promise<{ c: Collector; accepted: Set<number>; set(down: boolean, held?: 'success' | '503'): void }> {
  let down = true;
  let heldAnswer: 'success' | '503' = 'success';
  const accepted = new Set<number>();
  const c = await startCollector({
    respond: (req, i) => {
      if (req.headers['x-gate-held'] ? heldAnswer === '503' : down) return { status: 503 };
      accepted.add(i);
      return {};
    },
  });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  return { c, accepted, set: (d, h = 'success') => void ((down = d), (heldAnswer = h)) };
}

// Generated: 1-3 batches of 1-8 spans, all retried at once; the old page's
// requests, held in the network at unload, then answered (had they gone on)
// with a success, a 503, a network error, or never. Before: every `success`
// case delivered each span twice.
test('a stored batch retried in flight at unload after a failed answer is sent once, by the next page (generated)', async (t) => {
  const { c, accepted, set } = await collector(t);
  const r = prng(1616);
  const answers = ['success', '503', 'network-error', 'held'] as const;
  for (let i = 0; i < 12; i++) {
    const answer = answers[i % answers.length]!;
    const batches = 1 + Math.floor(r() * 3);
    const per = 1 + Math.floor(r() * 8);
    const n = batches * per;
    const name = `p${i}-`;
    const what = `case ${i} (${batches} x ${per} spans, ${answer})`;
    const page = fakePage('http://127.0.0.1:1');
    try {
      set(true);
      const gate = await gatePort(c);
      t.after(() => gate.close());
      const area = createStorageArea();
      const a = await mortalTab(gate.url, area.open(), { compression: 'none', maxExportBatchSize: per, retryInitialDelayMs: 100, retryMaxDelayMs: 100, maxAttempts: 100 });
      await sleep(80); // start-up adoption done
      endSpans(a.tracer, n, name.slice(0, -1));
      await a.pipeline.flush();
      assert.equal(storedSpans(area), n, `${what}: refused with a 503, stored`);
      // The collector is back; the retries are in the network when the page unloads.
      set(false, answer === '503' ? '503' : 'success');
      gate.hold(true);
      // Retried on their timers; flushes start any that wait for a held request.
      await until(() => gate.held() === batches, 5000, `${what}: every batch retried (flying ${a.inFlight()}, held ${gate.held()}, cancelled ${gate.cancelled()}, requests ${c.requests.length}, stored ${storedSpans(area)}, ${JSON.stringify(area.entries().map(([k, v]) => k + "=" + v.slice(0, 20)))})`, () => void a.pipeline.flush());
      hide(page);
      page.win.dispatchEvent(new Event('pagehide'));
      a.kill(); // the page is gone: it sees no answer, touches no storage
      await sleep(50);
      if (answer === 'success' || answer === '503') gate.release('forward');
      else if (answer === 'network-error') gate.release('destroy');
      await sleep(50);
      // The next page of the origin.
      const b = await tabFor(c.url, { storage: area.open() });
      const mine = (): FlatSpan[] => acceptedSpans(c, accepted).filter((s) => s.name.startsWith(name));
      await c.waitFor(() => mine().length >= n, 15_000).catch(() => {});
      await sleep(100); // room for a duplicate
      assert.equal(uniqueIds(mine()), n, `${what}: every span delivered`);
      assert.equal(mine().length, n, `${what}: each once (old page's requests cancelled: ${gate.cancelled()})`);
      await b.tracer.shutdown();
      assert.equal(storedSpans(area), 0, `${what}: nothing left stored`);
    } finally {
      page.undo();
    }
  }
});

// bfcache: the page is shown again after the unload that aborted its
// request. The abort throws nothing, counts nothing (no drop, no attempt) and
// the page itself sends the batch, once.
test('a page shown again after its unload aborted a retry sends the batch itself, once, with nothing thrown or counted', async (t) => {
  const { c, accepted, set } = await collector(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const page = fakePage('http://127.0.0.1:1');
  t.after(() => page.undo());
  const gate = await gatePort(c);
  t.after(() => gate.close());
  const area = createStorageArea();
  const a = await tabFor(gate.url, { storage: area.open(), compression: 'none', maxExportBatchSize: 5, retryInitialDelayMs: 100, retryMaxDelayMs: 100, maxAttempts: 100 });
  await sleep(80);
  endSpans(a.tracer, 10, 'bf');
  await a.pipeline.flush();
  assert.equal(storedSpans(area), 10, 'refused: stored');
  set(false);
  gate.hold(true);
  // Flushes, which settle with the aborts: they must start nothing at unload.
  await until(() => gate.held() === 2, 5000, 'both batches retried', () => void a.pipeline.flush());
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  await until(() => gate.cancelled() === 2, 2000, 'the retries aborted at unload');
  gate.hold(false);
  await sleep(150);
  assert.equal(gate.held(), 0, 'nothing started after unload');
  assert.equal(c.requests.length, 2, 'nothing sent after unload');
  assert.equal(storedSpans(area), 10, 'kept for the next page');
  assert.deepEqual(area.entries().filter(([k]) => k.startsWith('wasmtrace:c:')), [], 'claims released');
  // Shown again from the back/forward cache: no next page; this one sends them.
  page.doc.visibilityState = 'visible';
  page.win.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
  const mine = (): FlatSpan[] => acceptedSpans(c, accepted).filter((s) => s.name.startsWith('bf-'));
  await c.waitFor(() => mine().length >= 10, 5000);
  await sleep(100);
  assert.equal(mine().length, 10, 'each once');
  assert.equal(uniqueIds(mine()), 10);
  const res = await a.pipeline.shutdown();
  assert.deepEqual(res, { sent: 0, queued: 0, dropped: 0 });
  assert.equal(a.dropped(), 0, 'no drop counted');
  assert.deepEqual(a.errors, [], 'no error reported');
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
  assert.deepEqual(left(area), []);
});

// Chromium rejects a page's keepalive fetches as its document starts to
// unload, before pagehide, and goes on sending them; the failure is decided a
// task later. Such a retry, the collector having failed the last answer, was
// released for the next page too (the abort does not stop Chromium): sent
// twice once the collector was back (e2e sdk-chromium offlineThenReload,
// the old request arriving after pagehide). It is the browser's now.
test('a retry whose keepalive fetch was rejected just before pagehide (Chromium) is left to the browser, not to the next page', async (t) => {
  const page = fakePage('http://127.0.0.1:1');
  t.after(() => page.undo());
  const area = createStorageArea();
  const { tab: a, pending, calls } = await tabRefusingFirst(area.open(), 20);
  await sleep(80);
  endSpans(a.tracer, 6, 'cr');
  await a.pipeline.flush();
  assert.equal(storedSpans(area), 6, 'refused: stored');
  await until(() => pending.length === 1, 3000, 'the retry');
  pending[0]!(new TypeError('Failed to fetch')); // the document starts to unload
  for (let k = 0; k < 20; k++) await null; // its failure waits a task: pagehide comes first
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  assert.equal(storedSpans(area), 0, 'handed to the browser, which sends it');
  await sleep(50);
  assert.equal(storedSpans(area), 0, 'not stored again');
  assert.deepEqual(left(area), []);
  assert.equal(calls(), 2, 'nothing sent after unload');
  assert.equal(a.dropped(), 0);
});
