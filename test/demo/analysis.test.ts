// analyzeTrace (demo/collector/analysis.mjs) on generated span graphs whose parent links
// form cycles (self-parents, A↔B, longer rings) mixed with real roots, trees hanging off
// the cycles and orphans. Each case runs in a worker with a small heap and a deadline: a
// walk that follows a cycle forever fails the test instead of taking the process down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { prng } from '../../demo/collector/synthetic.mjs';

const analysisUrl = new URL('../../demo/collector/analysis.mjs', import.meta.url).href;

type Span = { traceId: string; spanId: string; parentSpanId: string; startTimeUnixNano: string; endTimeUnixNano: string } & Record<string, unknown>;

/** A trace of 1–40 spans: 1–3 parent cycles of length 1–6, maybe a real root, trees and orphans around them. */
function cyclicTrace(seed: number): Span[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const ids: string[] = [];
  const parent: string[] = [];
  const newId = () => (ids.push((ids.length + 1).toString(16).padStart(16, '0')), ids.length - 1);
  if (rand() < 0.5) parent[newId()] = ''; // a real root
  for (let c = 1 + int(3); c > 0; c--) {
    const len = 1 + int(6);
    const ring = Array.from({ length: len }, newId);
    ring.forEach((i, k) => { parent[i] = ids[ring[(k + 1) % len]!]!; });
  }
  for (let extra = int(20); extra > 0; extra--) {
    const i = newId();
    parent[i] = rand() < 0.1 ? 'f'.repeat(16) : ids[int(i)]!; // orphan, or child of any earlier span
  }
  const base = 1_700_000_000_000_000_000n;
  return ids.map((spanId, i) => {
    // Small time range so that windows overlap often; some zero-length spans.
    const s = int(1000);
    const e = rand() < 0.1 ? s : s + 1 + int(1000);
    return {
      traceId: 'c1'.repeat(16), spanId, parentSpanId: parent[i]!, name: `s${i}`, kind: 1, service: `svc${i % 3}`,
      startTimeUnixNano: String(base + BigInt(s * 1000)), endTimeUnixNano: String(base + BigInt(e * 1000)),
      attributes: {}, events: [], links: [], status: { code: 0, message: '' }, resource: { attributes: {} }, scope: { name: '', version: '' },
    };
  });
}

/** Runs analyzeTrace on each case in a worker (64 MiB heap, 20 s); rejects if it dies or hangs. */
function analyzeInWorker(cases: Span[][]): Promise<any[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ analyzeTrace }) => parentPort.postMessage(workerData.cases.map((c) => analyzeTrace(c))));`;
  const w = new Worker(code, { eval: true, workerData: { url: analysisUrl, cases }, resourceLimits: { maxOldGenerationSizeMb: 64 } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error('analyzeTrace did not return within 20 s'));
    }, 20_000);
    w.once('message', (out) => {
      clearTimeout(timer);
      void w.terminate();
      resolve(out);
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

test('400 generated traces with parent cycles: analyzed in bounded time, every span shown once, critical path adds up', async () => {
  const seeds = Array.from({ length: 400 }, (_, i) => 9000 + i);
  const cases = seeds.map(cyclicTrace);
  const results = await analyzeInWorker(cases);
  for (let i = 0; i < cases.length; i++) {
    const flat = cases[i]!;
    const t = results[i];
    const where = `seed ${seeds[i]}`;
    assert.equal(t.spanCount, flat.length, where);
    assert.deepEqual(t.spans.map((s: any) => s.spanId).sort(), flat.map((s) => s.spanId).sort(), `${where}: each span once`);
    const ids = new Set(flat.map((s) => s.spanId));
    assert.ok(ids.has(t.rootSpanId), where);
    assert.ok(t.roots.length >= 1 && t.roots.every((r: string) => ids.has(r)), where);
    // Depth-first order: a span's depth is at most one more than the span before it.
    t.spans.forEach((s: any, k: number) => assert.ok(s.depth <= (k === 0 ? 0 : t.spans[k - 1].depth + 1), `${where}: depth at ${k}`));
    // Segments are ordered, disjoint, inside the primary span, and cover it exactly.
    let cursor = -Infinity;
    let total = 0;
    for (const g of t.criticalPath.segments) {
      assert.ok(ids.has(g.spanId) && g.startOffsetMs >= cursor && g.endOffsetMs > g.startOffsetMs, `${where}: segment ${JSON.stringify(g)}`);
      cursor = g.endOffsetMs;
      total += g.endOffsetMs - g.startOffsetMs;
    }
    assert.ok(Math.abs(total - t.criticalPath.durationMs) < 1e-9, `${where}: ${total} vs ${t.criticalPath.durationMs}`);
  }
});
