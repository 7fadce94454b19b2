// Tail sampling with slowMs: slowness is a local root's own duration. A span
// that starts after its trace was decided and released here (fire-and-forget
// work after the response, a web vital reported at page hide) opens a new hold
// entry that never sees the root: it follows the head decision, or its own
// failure, and is never kept as "slow" however long it waits or how early it
// claims to have started; unless tail sampling kept its trace here before
// (slow root, failure): the hold remembers the last 128 such traces, and a
// late span of one is kept at once. Seeded timelines on a virtual clock,
// through init() and a real collector (independent decoder), and a bound test
// on the Wasm core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { setClock } from '../../src/clock.js';
import { formatTraceparent } from '../../src/propagation.js';
import { SpanStatusCode, type Span } from '../../src/types.js';
import { startCollector } from '../helpers/collector.js';
import { coreTracer, protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const ORIGIN = 1_760_000_000_000;
let clock = 0;

interface Made {
  span: Span;
  failed: boolean;
  /** Started after its trace's root had ended. */
  late: boolean;
}

interface Trace {
  id: string;
  root: Span;
  head: boolean;
  rootMs: number;
  spans: Made[];
}

const hex = (r: () => number, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('').replace(/^0/, '1');

test('late children of decided traces are never kept as slow: nothing exported without its root, unless failed under keepErrors; those of kept traces are all kept (48 seeds)', async (t) => {
  setClock(() => clock, ORIGIN);
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const collector = await startCollector();
  t.after(() => collector.close());
  let orphanCandidates = 0;
  let slowRoots = 0;
  let liveAtHold = 0;
  let keptLate = 0;
  for (let seed = 1; seed <= 48; seed++) {
    const r = prng(seed * 7877);
    const ratio = [0, 0.25, 0.5][seed % 3]!;
    const keepErrors = seed % 2 === 0;
    const slowMs = 20 + Math.floor(r() * 200);
    const maxHoldMs = slowMs + 50 + Math.floor(r() * 400);
    const service = `late-${seed}`;
    clock = 0;
    const tracer = await init({
      serviceName: service, wasm: protoWasm, endpoint: collector.url, storage: null, compression: 'none', scheduledDelayMs: 60_000,
      sampler: { ratio, keepErrors, slowMs, maxHoldMs },
    });
    // A timeline of actions at virtual times; flushes between them decide what is held past maxHoldMs.
    const events: Array<{ at: number; run: () => void | Promise<unknown> }> = [];
    const traces: Trace[] = [];
    const failMaybe = (m: Made, p: number): void => {
      if (r() >= p) return;
      m.failed = true;
      if (r() < 0.5) m.span.setStatus({ code: SpanStatusCode.ERROR });
      else m.span.recordException(new Error('boom'));
    };
    for (let k = 1 + Math.floor(r() * 6); k > 0; k--) {
      const begin = Math.floor(r() * 300);
      // A root's duration: fast, slow, or past maxHoldMs (still live when its trace is decided by the bound).
      const pick = r();
      const rootMs = pick < 0.6 ? Math.floor(r() * slowMs) : pick < 0.85 ? slowMs + 1 + Math.floor(r() * slowMs) : maxHoldMs + 1 + Math.floor(r() * 100);
      events.push({
        at: begin,
        run: () => {
          // A new trace, or one from upstream with its sampled flag: both are local roots here.
          const remote = r() < 0.4 ? tracer.extract({ traceparent: formatTraceparent(hex(r, 32), hex(r, 16), r() < 0.5 ? 1 : 0) }) : null;
          const root = tracer.startSpan('root', {}, remote);
          const ctx = root.spanContext();
          const tr: Trace = { id: ctx.traceId, root, head: (ctx.traceFlags & 1) === 1, rootMs, spans: [] };
          traces.push(tr);
          const rootMade: Made = { span: root, failed: false, late: false };
          tr.spans.push(rootMade);
          const parents: Span[] = [root];
          // Children while the root is live, some outliving it.
          for (let c = Math.floor(r() * 4); c > 0; c--) {
            const at = begin + Math.floor(r() * rootMs);
            const dur = Math.floor(r() * 2 * slowMs);
            events.push({
              at,
              run: () => {
                const m: Made = { span: tracer.startSpan('child', {}, parents[Math.floor(r() * parents.length)]), failed: false, late: false };
                tr.spans.push(m);
                parents.push(m.span);
                events.push({ at: at + dur, run: () => (failMaybe(m, 0.1), m.span.end()) });
              },
            });
          }
          events.push({
            at: begin + rootMs,
            run: () => {
              failMaybe(rootMade, 0.1);
              root.end();
              // Late children: after a delay, of any span of the trace; long ones, or backdated to the trace's start (a web vital at hide).
              for (let c = Math.floor(r() * 4); c > 0; c--) {
                const at = clock + 1 + Math.floor(r() * maxHoldMs * 1.5);
                const dur = Math.floor(r() * 2 * slowMs);
                const backdated = r() < 0.3;
                events.push({
                  at,
                  run: () => {
                    const options = backdated ? { startTime: new Date(ORIGIN + begin) } : {};
                    const m: Made = { span: tracer.startSpan('late', options, parents[Math.floor(r() * parents.length)]), failed: false, late: true };
                    tr.spans.push(m);
                    events.push({ at: at + dur, run: () => (failMaybe(m, 0.15), m.span.end()) });
                  },
                });
              }
            },
          });
        },
      });
    }
    for (let at = 0; at < 3000; at += 40 + Math.floor(r() * 80)) events.push({ at, run: () => tracer.flush() });
    // In time order; actions add later ones as they run.
    while (events.length) {
      events.sort((a, b) => a.at - b.at);
      const e = events.shift()!;
      clock = Math.max(clock, e.at);
      await e.run();
    }
    clock += maxHoldMs + 1;
    await tracer.flush();
    await tracer.shutdown();

    const got = new Map<string, string>(); // spanId -> traceId, this seed's service only
    for (const s of collector.spans()) if (s.resource['service.name'] === service) got.set(s.spanId, s.traceId);
    const sent = (m: Made): boolean => got.has(m.span.spanContext().spanId);
    const what = `seed ${seed} (ratio ${ratio}, keepErrors ${keepErrors}, slowMs ${slowMs}, maxHoldMs ${maxHoldMs})`;
    for (const tr of traces) {
      const rootSent = sent(tr.spans[0]!);
      const failedSent = tr.spans.some((m) => m.failed && sent(m));
      const failed = tr.spans.some((m) => m.failed);
      for (const m of tr.spans) {
        if (!sent(m)) continue;
        assert.ok(rootSent || (keepErrors && failedSent), `${what}: a ${m.late ? 'late ' : ''}span of ${tr.id} exported without its root (root ${tr.rootMs} ms, head ${tr.head})`);
      }
      if (tr.head || tr.rootMs > slowMs) assert.ok(rootSent, `${what}: root of ${tr.id} kept (head ${tr.head}, ${tr.rootMs} ms)`);
      if (rootSent) assert.ok(tr.head || tr.rootMs > slowMs || (keepErrors && failed), `${what}: root of ${tr.id} kept with no reason (${tr.rootMs} ms)`);
      if (tr.head) assert.ok(tr.spans.every(sent), `${what}: every span of a head-sampled trace ${tr.id} exported`);
      if (keepErrors) assert.ok(tr.spans.every((m) => !m.failed || sent(m)), `${what}: every failed span of ${tr.id} exported`);
      // Kept before its late spans started (the head, a slow root, a failure under keepErrors): they are kept too.
      if (tr.head || tr.rootMs > slowMs || (keepErrors && tr.spans.some((m) => m.failed && !m.late))) {
        const lost = tr.spans.filter((m) => m.late && !sent(m)).length;
        assert.equal(lost, 0, `${what}: late spans of kept trace ${tr.id} exported (root ${tr.rootMs} ms, head ${tr.head})`);
        keptLate += tr.spans.filter((m) => m.late && !tr.head).length;
      }
      if (!tr.head && tr.rootMs <= slowMs && !failed) orphanCandidates += tr.spans.filter((m) => m.late).length;
      if (tr.rootMs > slowMs) slowRoots++;
      if (tr.rootMs > maxHoldMs) liveAtHold++;
    }
  }
  assert.ok(orphanCandidates > 40, `late spans of fast, unsampled, unfailed traces: ${orphanCandidates}`);
  assert.ok(slowRoots > 20 && liveAtHold > 5, `slow roots ${slowRoots}, roots live past maxHoldMs ${liveAtHold}`);
  assert.ok(keptLate > 40, `late spans of traces kept by tail sampling: ${keptLate}`);
});

test('more kept traces than the hold remembers: late spans of the last 8 kept always exported at once, of at most 128 in all, none of dropped traces; memory fixed (8 seeds)', async (t) => {
  setClock(() => clock, ORIGIN);
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  let overflowed = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const r = prng(seed * 104729);
    const slowMs = 10 + Math.floor(r() * 100);
    const core = await coreTracer({ ratio: 0, seed, sampler: { keepErrors: true, slowMs, maxHoldMs: 60_000 } });
    const bytes = core.core.x.memory.buffer.byteLength;
    clock = 0;
    // Traces decided one after another: slow, failed or plain (dropped at ratio 0).
    const traces: Array<{ root: Span; kept: boolean }> = [];
    for (let n = 20 + Math.floor(r() * 1500); n > 0; n--) {
      const root = core.tracer.startSpan('root', {}, null);
      const pick = r();
      if (pick < 0.25) core.tracer.startSpan('child', {}, root).setStatus({ code: SpanStatusCode.ERROR }).end();
      clock += pick >= 0.25 && pick < 0.5 ? slowMs + 1 : Math.floor(r() * slowMs);
      root.end();
      traces.push({ root, kept: pick < 0.5 });
    }
    const kept = traces.filter((x) => x.kept).map((x) => x.root.spanContext().traceId);
    const early = core.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
    assert.deepEqual(new Set(early.map((s) => s.traceId)), new Set(kept), `seed ${seed}: the slow and failed traces exported as decided`);
    // Then a late span of each, after every decision; drained at once, with no clock tick.
    clock += 10;
    for (const x of traces) core.tracer.startSpan('late', {}, x.root).end();
    const late = new Set(core.drain().flatMap((b) => allSpans(decodeProtobuf(b))).map((s) => s.traceId));
    // The rest (of dropped traces, of kept ones forgotten) wait for maxHoldMs, then follow the head decision.
    clock += 60_001;
    core.core.source.pending();
    const after = core.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
    assert.deepEqual(after.map((s) => s.traceId), [], `seed ${seed}: late spans not kept at once are dropped`);
    for (const x of traces) if (!x.kept) assert.ok(!late.has(x.root.spanContext().traceId), `seed ${seed}: a late span of a dropped trace is dropped`);
    for (const id of kept.slice(-8)) assert.ok(late.has(id), `seed ${seed}: a late span of one of the last 8 kept traces exported at once`);
    assert.ok(late.size <= 128, `seed ${seed}: ${late.size} of ${kept.length} kept traces remembered, at most 128`);
    if (kept.length > 128) overflowed++;
    assert.equal(core.core.source.stats().held ?? 0, 0, `seed ${seed}: nothing held`);
    assert.equal(core.core.x.memory.buffer.byteLength, bytes, `seed ${seed}: memory does not grow`);
  }
  assert.ok(overflowed >= 4, `seeds with more kept traces than remembered: ${overflowed}`);
});
