// The page's final hide while the collector failed its last answer: what is
// stored waits for the next page (sent now as well, it went twice once the
// collector was back). But a batch storage would not take (the origin's
// quota filled by the app's own keys, a storage that throws on writes) is in
// this page's memory alone: it was neither sent nor stored, and counted
// nowhere (`dropped` 0, stats() 0), lost with the page. It is sent at the
// hide instead, with keepalive (the browser's from then on), the one chance
// it has. Generated span counts and sizes; a recording transport.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageArea } from '../helpers/memory-storage.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import type { TransportMeta, TransportResponse } from '../../src/export/types.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, fakePage, sleep, storedBatches, tabFor } from './delivery-harness.js';

const CASES = 8;

let awake: ReturnType<typeof setInterval>;
before(() => void (awake = setInterval(() => {}, 50)));
after(() => clearInterval(awake));

const names = (body: Uint8Array): string[] => allSpans(decodeProtobuf(body)).map((s) => s.name);

test(`at the final hide after a failed answer, batches storage refused are sent, not left in memory to die (${CASES} generated)`, async () => {
  const r = prng(0x5707);
  for (let i = 0; i < CASES; i++) {
    const full = i % 2 === 0; // the app filled the quota; else a storage that refuses every write of ours
    const page = fakePage('http://127.0.0.1:1');
    const area = createStorageArea({ quota: 4000 });
    area.poke('app:cache', 'x'.repeat(3900)); // the app's own data, near the quota
    const storage = area.open();
    if (!full) {
      const set = storage.setItem.bind(storage);
      storage.setItem = (k: string, v: string) => (k.startsWith('wasmtrace:q:') ? (() => { throw new DOMException('The operation is insecure.', 'SecurityError'); })() : set(k, v));
    }
    const calls: Array<{ names: string[]; meta: TransportMeta; answer(a: TransportResponse | Error): void }> = [];
    const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
      compression: 'none',
      storage,
      retryInitialDelayMs: 60_000,
      retryMaxDelayMs: 60_000,
      transport: (body, meta) => new Promise((res, rej) => void calls.push({ names: names(body), meta, answer: (a) => (a instanceof Error ? rej(a) : res(a)) })),
    });
    await sleep(60); // start-up adoption done
    const a = 1 + Math.floor(r() * 20);
    const pad = Math.floor(r() * 200);
    endSpans(tab.tracer, a, `A${i}`, pad);
    void tab.pipeline.flush();
    await sleep(20);
    assert.equal(calls.length, 1, `case ${i}: A in flight`);
    calls[0]!.answer(i % 4 < 2 ? { status: 503 } : new TypeError('Failed to fetch')); // waits a minute for its retry
    await sleep(30);
    const b = 1 + Math.floor(r() * 20);
    endSpans(tab.tracer, b, `B${i}`, pad); // cut by the hide itself
    page.doc.visibilityState = 'hidden';
    page.doc.dispatchEvent(new Event('visibilitychange'));
    page.win.dispatchEvent(new Event('pagehide'));
    await sleep(20);
    // The page dies now: what left at the hide is the browser's; what storage holds, the next page's.
    const sent = new Set(calls.slice(1).flatMap((c) => c.names));
    const stored = new Set(storedBatches(area).flatMap((s) => (s.body ? names(s.body) : [])));
    const what = `case ${i} (${full ? 'quota full' : 'writes refused'}): A ${a}, B ${b} spans`;
    assert.equal(stored.size, 0, `${what}: storage took nothing`);
    for (const [name, n] of [[`A${i}`, a], [`B${i}`, b]] as const) {
      for (let j = 0; j < n; j++) assert.ok(sent.has(`${name}-${j}`), `${what}: ${name}-${j} neither sent at the hide nor stored`);
    }
    for (const c of calls.slice(1)) assert.ok(c.meta.keepalive, `${what}: sent at the hide with keepalive`);
    for (const c of calls.slice(1)) c.answer({ status: 200 });
    await tab.pipeline.shutdown();
    page.undo();
  }
});

// Made due once, at the hide itself: a page that runs on after its final
// hide (an answer arrives, the page is restored later) sends from then on as
// at unload, and a batch failing there waits its backoff. Made due at every
// such pass, it went again at each failed answer, past maxAttempts, with no
// delay (182 requests in a second to a collector answering 503 in 5 ms).
test(`after the final hide, a batch storage refused is sent once, not again at each failed answer (${CASES} generated)`, async () => {
  const r = prng(0x100b);
  for (let i = 0; i < CASES; i++) {
    const page = fakePage('http://127.0.0.1:1');
    const area = createStorageArea({ quota: 4000 });
    area.poke('app:cache', 'x'.repeat(3900));
    const answer: TransportResponse | Error = [{ status: 503 }, { status: 429 }, new TypeError('Failed to fetch')][i % 3]!;
    const delay = 1 + Math.floor(r() * 10);
    const maxAttempts = 2 + Math.floor(r() * 4);
    let calls = 0;
    const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
      compression: 'none',
      storage: area.open(),
      maxAttempts,
      retryInitialDelayMs: 60_000,
      retryMaxDelayMs: 60_000,
      transport: () => (calls++, new Promise((res, rej) => setTimeout(() => (answer instanceof Error ? rej(answer) : res(answer)), delay))),
    });
    await sleep(60);
    endSpans(tab.tracer, 1 + Math.floor(r() * 20), `A${i}`, Math.floor(r() * 200));
    void tab.pipeline.flush();
    await sleep(30 + delay); // failed: waits a minute for its retry
    assert.equal(calls, 1, `case ${i}: one request before the hide`);
    page.doc.visibilityState = 'hidden';
    page.doc.dispatchEvent(new Event('visibilitychange'));
    page.win.dispatchEvent(new Event('pagehide'));
    await sleep(300); // the page runs on: every answer fails
    assert.equal(calls, 2, `case ${i} (${answer instanceof Error ? answer.message : answer.status} in ${delay} ms, maxAttempts ${maxAttempts}): sent once at the hide, then its backoff`);
    await tab.pipeline.shutdown();
    page.undo();
  }
});
