// Queue entries this version cannot read: another release's format (a
// rolling deploy, old and new tabs open together) or any entry another live
// page holds. They were deleted as corrupt at this version's first
// write-ahead, even under a live claim, and each reported as a drop of 0
// spans. Now they are left alone (counted toward the bound, never adopted,
// evicted only by the bound: below); an unreadable entry nobody holds is
// removed, unreported.
// Generated storage contents, a real node:http collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, received, storedSpans, tabFor } from './delivery-harness.js';

const CASES = 20;

test(`entries of another version, or held by another page, are left alone; no drop of 0 spans is reported (${CASES} generated)`, async () => {
  let first = -1;
  const c = await startCollector({ respond: (_q, k) => (k === first ? { status: 503 } : {}) });
  try {
    const r = prng(707);
    for (let i = 0; i < CASES; i++) {
      const area = createStorageArea();
      const kept = new Map<string, string>();
      const removed: string[] = [];
      const live = `otherTab,${Date.now() + 300_000}`; // within the longest lease (630 s)
      const expired = `deadTab,${Date.now() - 1000}`;
      for (let j = 0, n = 1 + Math.floor(r() * 5); j < n; j++) {
        const key = `wasmtrace:q:00000000${j}-e${i}`;
        const kind = Math.floor(r() * 4);
        // A newer (or other) release's tag; garbage under a live claim; garbage unclaimed or with an expired claim.
        const value = kind === 0 ? `W${2 + Math.floor(r() * 8)},p,-,${1 + Math.floor(r() * 50)},100,${'x'.repeat(Math.floor(r() * 200))}`
          : kind === 1 ? `V1,{"layout":"new"},${'y'.repeat(Math.floor(r() * 100))}` : `W1,garbage${'z'.repeat(Math.floor(r() * 50))}`;
        area.poke(key, value);
        if (kind === 2) area.poke(key.replace(':q:', ':c:'), live);
        if (kind === 3 && r() < 0.5) area.poke(key.replace(':q:', ':c:'), expired);
        if (kind === 3) removed.push(key);
        else kept.set(key, value);
      }
      first = c.requests.length;
      const tab = await tabFor(c.url, { storage: area.open(), maxAttempts: 3 });
      const spans = 1 + Math.floor(r() * 8);
      endSpans(tab.tracer, spans, `f${i}`);
      await tab.pipeline.flush(); // 503: written ahead, which lists the queue
      await c.waitFor(() => received(c).user.filter((s) => s.name.startsWith(`f${i}-`)).length >= 2 * spans, 10_000);
      const now = new Map(area.entries());
      for (const [k, v] of kept) assert.equal(now.get(k), v, `case ${i}: ${k} left alone`);
      for (const k of removed) assert.ok(!now.has(k), `case ${i}: ${k} (unreadable, unheld) removed`);
      assert.deepEqual([...tab.drops], [], `case ${i}: no drop reported`);
      assert.deepEqual(tab.pipeline.stats(), { droppedRejected: 0, droppedQueueFull: 0, droppedUnsent: 0 }, `case ${i}`);
      await tab.pipeline.shutdown();
    }
  } finally {
    await c.close();
  }
});

// Another release's entries that no page holds (it was rolled back, or its
// pages are gone) filled the bound for good: never evicted, they kept every
// batch of this version out of storage, so a failed export could not be
// written ahead and was lost with its page. The bound evicts them as it
// does this version's, oldest first, and never one a live page holds.
test(`the bound evicts another release's unheld entries, oldest first, to store this version's batch (${CASES} generated)`, async () => {
  const c = await startCollector({ respond: () => ({ status: 503 }) });
  try {
    const r = prng(808);
    for (let i = 0; i < CASES; i++) {
      const area = createStorageArea();
      const maxQueueBytes = 8000 + Math.floor(r() * 8000);
      const foreign: string[] = [];
      let held = '';
      for (let j = 0, total = 0; total <= maxQueueBytes; j++) {
        const key = `wasmtrace:q:00000000${j}-f${i}`;
        const value = `W${2 + Math.floor(r() * 8)},p,-,${1 + Math.floor(r() * 50)},100,${'x'.repeat(2000 + Math.floor(r() * 3000))}`;
        area.poke(key, value);
        total += value.length;
        if (j === 1) {
          held = key;
          area.poke(key.replace(':q:', ':c:'), `newTab,${Date.now() + 300_000}`);
        } else foreign.push(key);
      }
      const tab = await tabFor(c.url, { storage: area.open(), maxQueueBytes, maxAttempts: 1 });
      const spans = 1 + Math.floor(r() * 8);
      endSpans(tab.tracer, spans, `g${i}`);
      await tab.pipeline.flush(); // 503: written ahead
      assert.equal(storedSpans(area), spans, `case ${i}: this version's batch is stored`);
      const keys = new Set(area.entries().map(([k]) => k));
      assert.ok(keys.has(held), `case ${i}: the entry a live page holds stays`);
      const gone = foreign.filter((k) => !keys.has(k)).length;
      assert.ok(gone > 0 && foreign.slice(0, gone).every((k) => !keys.has(k)), `case ${i}: the oldest unheld ones went first`);
      await tab.pipeline.shutdown();
    }
  } finally {
    await c.close();
  }
});
