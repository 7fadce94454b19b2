// A request answered after the page's final hide (pagehide), while the page
// still runs: its settle pumped the queue as on any other answer. A stored
// batch the unload had left for the next page (over the unload keepalive
// budget) was claimed again and sent with keepalive, yet stayed in storage
// under this page's claim: once the page died, the next page adopted it when
// the claim lapsed and sent it a second time. After the final hide, what an
// answer (or the retry timer) starts is sent as at unload: the batches the
// budget takes are handed to the browser and leave storage, the rest stay
// there for the next page. Generated sizes and answers; a recording transport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageArea } from '../helpers/memory-storage.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import type { TransportMeta, TransportResponse } from '../../src/export/types.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, fakePage, sleep, storedBatches, tabFor } from './delivery-harness.js';

const CASES = 12;

interface Call {
  names: string[];
  meta: TransportMeta;
  answer(r: TransportResponse | Error): void;
}

const names = (body: Uint8Array): string[] => allSpans(decodeProtobuf(body)).map((s) => s.name);

test(`after the final hide, an answer starts no batch that storage also keeps for the next page (${CASES} generated)`, async () => {
  const r = prng(0xaf7e);
  const answers = ['200', '503', 'network-error'] as const;
  for (let i = 0; i < CASES; i++) {
    const answer = answers[i % answers.length]!;
    const per = 10 + Math.floor(r() * 4); // spans per batch; each pad within the 4,096-byte value limit
    // Batch A (in flight at the hide) takes 30-40 KB of the 48 KB unload budget;
    // the 1-3 batches after it, 18-28 KB each, do not fit beside it.
    const padA = Math.floor((30_000 + r() * 10_000) / per);
    const later = 1 + Math.floor(r() * 3);
    const pads = Array.from({ length: later }, () => Math.floor((18_000 + r() * 10_000) / per));
    const what = `case ${i}: A ${per} x ${padA} B, then ${later} batch(es) of ${per} x ${pads.join('/')} B; A answered ${answer}`;
    const page = fakePage('http://127.0.0.1:1');
    try {
      const area = createStorageArea();
      const calls: Call[] = [];
      const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
        storage: area.open(), compression: 'none', maxExportBatchSize: per,
        transport: (body, meta) =>
          new Promise((res, rej) => void calls.push({ names: names(body), meta, answer: (a) => (a instanceof Error ? rej(a) : res(a)) })),
      });
      await sleep(60); // start-up adoption done
      endSpans(tab.tracer, per, `A${i}`, padA);
      void tab.pipeline.flush();
      await sleep(20);
      assert.equal(calls.length, 1, `${what}: A in flight`);
      // Ended in the task that hides the page: cut into batches by the hide itself.
      for (const [k, pad] of pads.entries()) endSpans(tab.tracer, per, `B${i}.${k}`, pad);
      page.doc.visibilityState = 'hidden';
      page.doc.dispatchEvent(new Event('visibilitychange'));
      page.win.dispatchEvent(new Event('pagehide'));
      const atHide = calls.length;
      calls[0]!.answer(answer === '200' ? { status: 200 } : answer === '503' ? { status: 503 } : new TypeError('network error'));
      await sleep(80); // the settle, and anything it starts
      // Started after the answer: each batch at once, with keepalive (nothing else outlives the page).
      const after = calls.slice(atHide);
      for (const c of after) assert.ok(c.meta.keepalive, `${what}: a request started after the final hide is keepalive`);
      // The page dies now. What it sent is the browser's; what storage keeps, the next page sends.
      const sent = new Set(calls.slice(1).flatMap((c) => c.names));
      const stored = new Set(storedBatches(area).flatMap((b) => (b.body ? names(b.body) : [])));
      const both = [...sent].filter((n) => stored.has(n));
      assert.deepEqual(both, [], `${what}: sent after unload and kept for the next page (${after.length} started after the answer)`);
      // Nothing lost: every later span is either on its way or stored; A unless accepted.
      for (const [k] of pads.entries()) {
        for (let j = 0; j < per; j++) {
          const n = `B${i}.${k}-${j}`;
          assert.ok(sent.has(n) || stored.has(n), `${what}: ${n} neither sent nor stored`);
        }
      }
      // A was handed to the browser at the hide: stored again when the collector
      // refused it; a network error after unload is the browser's (Chromium
      // rejects a page's keepalive fetches as it unloads and still sends them).
      const aStored = [...stored].filter((n) => n.startsWith(`A${i}-`)).length;
      assert.equal(aStored, answer === '503' ? per : 0, `${what}: A stored again only when refused`);
      for (const c of calls.slice(1)) c.answer(new TypeError('page gone'));
    } finally {
      page.undo();
    }
  }
});
