// Smart sampling: every error and every slow trace kept, the rest sampled by
// trace-id ratio, consistently across services, with bounded holding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer, type CoreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { setClock } from '../../src/clock.js';
import { SpanStatusCode } from '../../src/types.js';
import { configureTail, type SamplerOptions } from '../../src/sampler.js';
import type { WasmExports } from '../../src/wasm.js';
import { prng } from '../../demo/collector/synthetic.mjs';

/** OTEP 235 threshold for a ratio, computed here independently of the SDK: 56 bits, hex, trailing zeros trimmed. */
function thresholdHex(ratio: number): string {
  const t = BigInt(Math.round((1 - ratio) * 2 ** 56));
  return t === 0n ? '0' : t.toString(16).padStart(14, '0').replace(/0+$/, '');
}

let clock = 0;
setClock(() => clock, 1_760_000_000_000);

const exported = (t: CoreTracer): FlatSpan[] => t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));

/** The head decision computed independently: the trace id's last 56 bits against the threshold (OTEP 235). */
function headKeeps(traceId: string, ratio: number): boolean {
  const th = thresholdHex(ratio).padEnd(14, '0');
  return traceId.slice(18) >= th;
}

test('10,000 traces at ratio 0.01: every error and slow trace kept, the rest near 1%', async () => {
  const ratio = 0.01;
  const t = await coreTracer({ ratio, seed: 11, sampler: { keepErrors: true, slowMs: 100 } });
  const kinds = new Map<string, 'error' | 'exception' | 'slow' | 'plain'>();
  const spans: FlatSpan[] = [];
  let maxHeld = 0;
  for (let i = 0; i < 10_000; i++) {
    const kind = i % 100 === 7 ? (i % 200 === 7 ? 'error' : 'exception') : i % 100 === 42 ? 'slow' : 'plain';
    const root = t.tracer.startSpan('request');
    kinds.set(root.spanContext().traceId, kind);
    const child = t.tracer.startSpan('db', {}, root);
    clock += 1;
    if (kind === 'error') child.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    if (kind === 'exception') child.recordException(new Error('boom'));
    child.end();
    clock += kind === 'slow' ? 150 : 10;
    root.end();
    maxHeld = Math.max(maxHeld, t.core.source.stats().held ?? 0);
    if (i % 200 === 199) spans.push(...exported(t));
  }
  spans.push(...exported(t));
  const byTrace = new Map<string, FlatSpan[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  for (const [traceId, kind] of kinds) {
    const got = byTrace.get(traceId)?.length ?? 0;
    if (kind !== 'plain') assert.equal(got, 2, `${kind} trace ${traceId} kept whole`);
    else if (got) assert.ok(headKeeps(traceId, ratio), 'a plain trace is kept only by the trace-id decision');
    else assert.ok(!headKeeps(traceId, ratio), 'every plain trace the ratio keeps is exported');
  }
  const plain = [...kinds.values()].filter((k) => k === 'plain').length;
  const keptPlain = [...kinds].filter(([id, k]) => k === 'plain' && byTrace.has(id)).length;
  // Binomial(9800, 0.01): mean 98, sd 9.85; the bound is 5 sd.
  const sd = Math.sqrt(plain * ratio * (1 - ratio));
  assert.ok(Math.abs(keptPlain - plain * ratio) < 5 * sd, `kept ${keptPlain} of ${plain} plain traces`);
  // Kept-by-ratio spans carry the threshold for re-weighting.
  const ratioKept = spans.find((s) => kinds.get(s.traceId) === 'plain');
  assert.equal(ratioKept?.traceState, `ot=th:${thresholdHex(ratio)}`);
  assert.ok(maxHeld <= 2, `held spans stay bounded (max ${maxHeld})`);
  assert.equal(t.core.x.memory.buffer.byteLength, 1 << 20);
});

test('two services decide the same for the same trace id, and outgoing flags carry the decision', async () => {
  const ratio = 0.25;
  const browser = await coreTracer({ ratio, seed: 1, sampler: { keepErrors: true } });
  const worker = await coreTracer({ ratio, seed: 2, sampler: { keepErrors: true } });
  let kept = 0;
  for (let i = 0; i < 4000; i++) {
    const page = browser.tracer.startSpan('click');
    const ctx = page.spanContext();
    const expected = headKeeps(ctx.traceId, ratio);
    assert.equal((ctx.traceFlags & 1) === 1, expected, 'the browser decides from the trace id');
    const headers: Record<string, string> = {};
    browser.tracer.inject(headers, page);
    const server = worker.tracer.startSpan('GET /api', {}, worker.tracer.extract(headers));
    assert.equal((server.spanContext().traceFlags & 1) === 1, expected, 'the worker honours the same decision');
    if (expected) assert.equal(headers.tracestate, `ot=th:${thresholdHex(ratio)}`);
    server.end();
    page.end();
    kept += ctx.traceFlags & 1;
    if (i % 500 === 499) {
      browser.drain();
      worker.drain();
    }
  }
  // Both branches ran: Binomial(4000, 0.25) kept, mean 1000, sd 27.4; the bound is 5 sd.
  assert.ok(Math.abs(kept - 4000 * ratio) < 5 * Math.sqrt(4000 * ratio * (1 - ratio)), `${kept} of 4000 kept`);
});

test('a bounded hold: spans waiting on an open root are decided when the held-span or the time bound is hit', async () => {
  const ratio = 0.0001;
  const t = await coreTracer({ ratio, seed: 3, sampler: { keepErrors: true, maxHoldMs: 1000 } });
  // 1,200 traces whose roots never end, each holding a child: more than the
  // 1,024 spans the hold keeps. Every 10th has a failed child. Traces decided
  // early are decided with what is known: a failure keeps them, otherwise the
  // trace-id ratio does.
  const roots = [];
  const failed = new Set<string>();
  for (let i = 0; i < 1200; i++) {
    const root = t.tracer.startSpan('open-root');
    const child = t.tracer.startSpan('child', {}, root);
    if (i % 10 === 0) {
      child.setStatus({ code: SpanStatusCode.ERROR });
      failed.add(root.spanContext().traceId);
    }
    child.end();
    roots.push(root);
    clock += 1;
  }
  assert.ok((t.core.source.stats().held ?? 0) <= 1024, 'no more than 1,024 spans held');
  const early = exported(t);
  assert.ok(early.length >= 4, 'the oldest traces were decided when the table filled');
  for (const s of early) assert.ok(failed.has(s.traceId) || headKeeps(s.traceId, ratio), 'evicted: kept only for a failure or by ratio');
  clock += 2000; // past maxHoldMs: the rest are decided as the source is drained
  t.core.source.pending();
  assert.equal(t.core.source.stats().held, 0, 'nothing waits longer than maxHoldMs');
  const late = exported(t);
  const kept = new Set([...early, ...late].map((s) => s.traceId));
  for (const id of failed) assert.ok(kept.has(id), `failed trace ${id} kept`);
  for (const r of roots) r.end();
});

test('shutdown (and page hide) decide held traces: those with errors or slow ones are exported', async () => {
  const t = await coreTracer({ ratio: 0.0001, seed: 4, sampler: { keepErrors: true, slowMs: 500 } });
  const failing = t.tracer.startSpan('open-with-error');
  t.tracer.startSpan('child', {}, failing).setStatus({ code: SpanStatusCode.ERROR }).end();
  const slow = t.tracer.startSpan('open-and-slow');
  t.tracer.startSpan('child', {}, slow).end();
  clock += 1000;
  const quiet = t.tracer.startSpan('open-quiet');
  assert.ok(!headKeeps(quiet.spanContext().traceId, 0.0001));
  clock += 1;
  t.tracer.startSpan('child', {}, quiet).end();
  assert.equal(t.core.source.pending(), 0, 'still held before the page hides');
  t.core.x.settle(clock, 1); // what page hide and shutdown do
  const got = exported(t);
  const traces = new Set(got.map((s) => s.traceId));
  assert.ok(traces.has(failing.spanContext().traceId));
  assert.ok(traces.has(slow.spanContext().traceId), 'open longer than slowMs counts as slow');
  assert.ok(!traces.has(quiet.spanContext().traceId));
});

test('tail-sampling settings, as init() and the Worker both apply them: bad values clamped with one warning each', (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.join(' ')));
  // [given, what Wasm gets, warns?] for slowMs (0..3600000, default 0) and maxHoldMs (1..3600000, default 30000).
  const slow: Array<[unknown, number, boolean]> = [[undefined, 0, false], [2000, 2000, false], [-5, 0, true], [1.5, 1, true], [Number.NaN, 0, true], ['2000', 0, true], [1e12, 3_600_000, true]];
  const hold: Array<[unknown, number, boolean]> = [[undefined, 30_000, false], [500, 500, false], [0, 1, true], [Infinity, 30_000, true], [null, 30_000, true], [7e9, 3_600_000, true]];
  for (const [slowMs, wantSlow, slowWarns] of slow) {
    for (const [maxHoldMs, wantHold, holdWarns] of hold) {
      const calls: number[][] = [];
      const x = { sampling: (...a: number[]) => void calls.push(a) } as unknown as WasmExports;
      warned.length = 0;
      configureTail(x, { keepErrors: false, slowMs, maxHoldMs } as SamplerOptions);
      const what = `slowMs ${String(slowMs)}, maxHoldMs ${String(maxHoldMs)}`;
      assert.deepEqual(calls, [[0, wantSlow, wantHold]], what);
      // warnOnce prints each distinct message once per process: count the ones this case could print first.
      assert.ok(warned.every((w) => /bad sampler\.(slowMs|maxHoldMs)/.test(w)), `${what}: ${warned.join('; ')}`);
      if (!slowWarns && !holdWarns) assert.deepEqual(warned, [], what);
    }
  }
  configureTail({ sampling: () => {} } as unknown as WasmExports, { slowMs: -77 });
  assert.deepEqual(warned, ['[wasmtrace] bad sampler.slowMs -77; using 0']);
});

test('a new trace the ratio keeps carries ot=th for every ratio below 1 (near 1 included), none at 1', async () => {
  const r = prng(0x5a5);
  const near = [0.99, 0.995, 0.999, 0.9999, 1 - 2 ** -20, 1 - 2 ** -40, 1 - 2 ** -52];
  const ratios = [...near, ...Array.from({ length: 60 }, () => (r() < 0.5 ? 0.99 + r() * 0.01 : r())), 1];
  for (const [i, ratio] of ratios.entries()) {
    const t = await coreTracer({ ratio, seed: 100 + i });
    // The first root the ratio keeps (near 0, it may take a while: give up after 500).
    let kept;
    for (let k = 0; k < 500 && !kept; k++) {
      const span = t.tracer.startSpan('root');
      if (span.spanContext().traceFlags & 1) kept = span.spanContext();
      span.end();
    }
    if (!kept) continue;
    assert.equal(kept.traceState, ratio < 1 ? `ot=th:${thresholdHex(ratio)}` : undefined, `ratio ${ratio}`);
  }
});

test('the Wasm keeps a root whose randomness equals the threshold, and drops it one threshold step above', async () => {
  // Trace ids made at ratio 1; those whose randomness R is a multiple of 8 below 2^55 give a
  // ratio 1 - R/2^56 whose threshold is exactly R (f64 is exact there). The same seed gives the same id.
  const firstTrace = async (seed: number, ratio: number) => {
    const span = (await coreTracer({ ratio, seed })).tracer.startSpan('root');
    return span.spanContext();
  };
  let cases = 0;
  for (let seed = 1; seed <= 256; seed++) {
    const { traceId } = await firstTrace(seed, 1);
    const randomness = BigInt(`0x${traceId.slice(18)}`);
    if (randomness % 8n !== 0n || randomness >= 1n << 55n || randomness < 8n) continue;
    cases++;
    for (const step of [-8n, 0n, 8n]) {
      const threshold = randomness + step;
      const ratio = 1 - Number(threshold) / 2 ** 56;
      assert.equal(thresholdHex(ratio).padEnd(14, '0'), threshold.toString(16).padStart(14, '0'), 'the ratio gives this threshold');
      const ctx = await firstTrace(seed, ratio);
      assert.equal(ctx.traceId, traceId);
      assert.equal(ctx.traceFlags & 1, randomness >= threshold ? 1 : 0, `randomness ${randomness}, threshold ${threshold}`);
    }
  }
  assert.ok(cases >= 8, `${cases} trace ids on a threshold`);
});
