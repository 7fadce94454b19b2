// Tail sampling's hold over the real Wasm: a trace is decided once it is
// complete here (a local root ended, no span live), within its bounds, and
// what a bound throws away is counted. Generated cases against a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { coreTracer, protoWasm, type CoreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { SpanStatusCode, type Span } from '../../src/types.js';
import { init } from '../../src/node.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const exported = (t: CoreTracer): FlatSpan[] => t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));

const byTrace = (spans: FlatSpan[]): Map<string, FlatSpan[]> => {
  const m = new Map<string, FlatSpan[]>();
  for (const s of spans) m.set(s.traceId, [...(m.get(s.traceId) ?? []), s]);
  return m;
};

/** Fails a span the way `pick` (0..1) says: a status, or an exception recorded alone. */
function fail(span: Span, pick: number): void {
  if (pick < 0.5) span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
  else span.recordException(new Error('boom'));
}

test('a trace waits until its root has ended and none of its spans is live: a failure after the root ends keeps it whole (60 seeds)', async () => {
  let late = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const r = prng(seed);
    const t = await coreTracer({ ratio: 0, seed, sampler: { keepErrors: true } });
    // Traces at once, each a root and 1-6 children (some of a child); spans end in a random order across all of them.
    const traces: Array<{ id: string; spans: number; failed: boolean }> = [];
    const live: Array<{ span: Span; trace: number; root: boolean }> = [];
    for (let k = 1 + Math.floor(r() * 12); k > 0; k--) {
      const root = t.tracer.startSpan('root');
      const trace = traces.push({ id: root.spanContext().traceId, spans: 1, failed: false }) - 1;
      live.push({ span: root, trace, root: true });
      const kids: Span[] = [root];
      for (let c = 1 + Math.floor(r() * 6); c > 0; c--) {
        const parent = kids[Math.floor(r() * kids.length)]!;
        const kid = t.tracer.startSpan('child', {}, parent);
        kids.push(kid);
        live.push({ span: kid, trace, root: false });
        traces[trace]!.spans++;
      }
    }
    const rootEnded = new Set<number>();
    while (live.length) {
      const { span, trace, root } = live.splice(Math.floor(r() * live.length), 1)[0]!;
      if (r() < 0.12) {
        fail(span, r());
        traces[trace]!.failed = true;
        if (rootEnded.has(trace)) late++;
      }
      span.end();
      if (root) rootEnded.add(trace);
    }
    const got = byTrace(exported(t));
    for (const tr of traces) {
      assert.equal(got.get(tr.id)?.length ?? 0, tr.failed ? tr.spans : 0, `seed ${seed}: trace ${tr.id} (${tr.failed ? 'failed' : 'fine'}, ${tr.spans} spans)`);
    }
    assert.equal(t.core.source.stats().held, 0);
    assert.equal(t.core.source.stats().droppedSpans, 0);
  }
  assert.ok(late > 30, `failures after the root ended: ${late}`);
});

test('more traces open at once than the old 256-trace table: every failed trace arrives whole; past the 1,024 held spans, what is lost is counted (12 seeds)', async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const r = prng(seed * 7919);
    // Half the seeds stay under the held bound, half go past it.
    const n = seed % 2 ? 257 + Math.floor(r() * 760) : 1100 + Math.floor(r() * 400);
    const t = await coreTracer({ ratio: 0, seed, sampler: { keepErrors: true } });
    const roots: Span[] = [];
    for (let i = 0; i < n; i++) {
      const root = t.tracer.startSpan(`root${i}`);
      t.tracer.startSpan(`child${i}`, {}, root).end(); // held: the root is live
      roots.push(root);
    }
    assert.ok((t.core.source.stats().held ?? 0) <= 1024);
    for (const root of roots) {
      fail(root, r()); // a status or an exception alone: both keep the trace
      root.end();
    }
    const spans = exported(t);
    const got = byTrace(spans);
    const dropped = t.core.source.stats().droppedSpans;
    for (const root of roots) assert.ok(got.get(root.spanContext().traceId)?.some((s) => s.name.startsWith('root')), `seed ${seed}: every failed root is exported`);
    assert.equal(spans.length + dropped, 2 * n, `seed ${seed}, ${n} traces: ${spans.length} exported, ${dropped} counted as dropped`);
    if (n <= 1024) assert.equal(dropped, 0, `seed ${seed}: ${n} traces hold no more than 1,024 spans`);
    else assert.ok(dropped >= n - 1024, `seed ${seed}: the children decided early are counted (${dropped})`);
  }
});

test('a full span pool never gives up a trace already kept: its live spans are exported when they end (8 seeds)', async () => {
  for (let seed = 1; seed <= 8; seed++) {
    const r = prng(seed * 104729);
    const t = await coreTracer({ ratio: 0, seed, sampler: { keepErrors: true } });
    const root = t.tracer.startSpan('root');
    const kids: Span[] = [];
    const first = 300 + Math.floor(r() * 900);
    for (let i = 0; i < first; i++) kids.push(t.tracer.startSpan('child', {}, root));
    fail(root, r());
    root.end(); // kept: failed, though children are live
    const more = 2048 - first + Math.floor(r() * 300); // the pool (2,047 span slots) fills
    for (let i = 0; i < more; i++) kids.push(t.tracer.startSpan('late-child', {}, root));
    const recorded = kids.filter((k) => k.isRecording()).length;
    for (const k of kids) k.end();
    const spans = exported(t);
    const { droppedSpans } = t.core.source.stats();
    assert.equal(spans.filter((s) => s.name !== 'root').length, recorded, `seed ${seed}: every recorded child exported`);
    assert.equal(recorded + droppedSpans, first + more, `seed ${seed}: the rest found no slot and were counted`);
    assert.ok(droppedSpans > 0);
  }
});

test('maxHoldMs holds while the tracer is idle: held spans leave on time with no flush and no later span (Node, 4 settings)', async () => {
  for (const [maxHoldMs, traces] of [[80, 1], [150, 3], [250, 7], [120, 20]] as const) {
    const got: Array<{ name: string; at: number }> = [];
    const tracer = await init({
      serviceName: 'hold', wasm: protoWasm, storage: null, compression: 'none', scheduledDelayMs: 30,
      sampler: { ratio: 0, keepErrors: true, maxHoldMs },
      transport: async (body: Uint8Array) => {
        for (const s of allSpans(decodeProtobuf(body))) got.push({ name: s.name, at: performance.now() });
        return { status: 200 };
      },
    });
    const started = performance.now();
    const roots: Span[] = [];
    for (let i = 0; i < traces; i++) {
      const root = tracer.startSpan('open-root');
      const child = tracer.startSpan(`failed-child-${i}`, {}, root);
      fail(child, i / traces);
      child.end();
      roots.push(root);
    }
    for (let waited = 0; got.length < traces && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.length, traces, `maxHoldMs ${maxHoldMs}: every held failed child left while idle`);
    for (const g of got) assert.ok(g.at - started >= maxHoldMs, `${g.name} waited its bound (${Math.round(g.at - started)} ms)`);
    for (const root of roots) root.end();
    await tracer.shutdown();
  }
});

test('the hold timer does not keep Node alive: a process with held spans exits at once and exports them', () => {
  const script = `
    import { readFileSync } from 'node:fs';
    import { init } from './src/node.ts';
    const tracer = await init({ serviceName: 'exit', wasm: readFileSync('dist/wasmtrace.wasm'), storage: null, compression: 'none',
      sampler: { ratio: 0, keepErrors: true, maxHoldMs: 60000 },
      transport: async (b) => (process.stdout.write('exported ' + b.length + '\\n'), { status: 200 }) });
    const root = tracer.startSpan('open-root');
    tracer.startSpan('child', {}, root).setStatus({ code: 2 }).end();
  `;
  const t0 = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../../', import.meta.url), encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /exported \d+/, 'held spans decided and sent at exit');
  assert.ok(Date.now() - t0 < 20_000, `exited in ${Date.now() - t0} ms, not after maxHoldMs`);
});

test('a trace the head decision keeps is not held: its spans leave as they end, and take none of the 1,024 places of traces still undecided (generated, 6 seeds)', async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const r = prng(seed * 104729);
    const t = await coreTracer({ ratio: 0.5, seed, sampler: { keepErrors: true } });
    /** A root the head decision keeps (`want`) or not; the others are ended and dropped. */
    const root = (want: boolean): Span => {
      for (;;) {
        const s = t.tracer.startSpan('root', {}, null);
        if (((s.spanContext().traceFlags & 1) === 1) === want) return s;
        s.end();
      }
    };
    const undecided = root(false);
    const waiting = 1 + Math.floor(r() * 20);
    for (let i = 0; i < waiting; i++) t.tracer.startSpan('waiting', {}, undecided).end();
    const kept = root(true); // a long-lived span the ratio sampled (a page's)
    const n = 1100 + Math.floor(r() * 800);
    let early = 0;
    for (let i = 0; i < n; i++) {
      t.tracer.startSpan('sampled', {}, kept).end();
      if (i % 100 === 99) early += exported(t).filter((s) => s.name === 'sampled').length;
    }
    early += exported(t).filter((s) => s.name === 'sampled').length;
    assert.equal(early, n, `seed ${seed}: every sampled child left while its root is open`);
    assert.equal(t.core.source.stats().held, waiting, `seed ${seed}: only the undecided trace's spans wait`);
    fail(undecided, r());
    undecided.end();
    kept.end();
    const got = exported(t);
    assert.equal(got.filter((s) => s.traceId === undecided.spanContext().traceId).length, waiting + 1, `seed ${seed}: the trace that failed later arrives whole`);
    assert.equal(t.core.source.stats().droppedSpans, 0, `seed ${seed}: nothing lost`);
  }
});
