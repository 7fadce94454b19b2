// Tail sampling in the WASI library. Generated timelines run through a small
// WASI command (fixtures/tail.ts, compiled here with asc) under node:wasi,
// given the entropy coreTracer gives the JS tracer, so both make the same ids;
// each timeline runs through the JS tracer over the real Wasm module too.
// What leaves (JSON lines, read with the independent decoder) is checked
// against the rule (a trace is kept when the ratio keeps it, a span failed,
// or its root was slow) and against the JS tracer's spans, span for span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { allSpans, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { coreTracer, seedBytes } from '../helpers/core-tracer.js';
import { setClock } from '../../src/clock.js';
import { checkThreshold, thresholdHex } from '../../src/sampler.js';
import { parseTracestate } from '../../src/propagation.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import type { Span } from '../../src/types.js';
import { wasiFixture } from './fixture.js';

const fixture = wasiFixture('tail');

// The JS tracer's clock: one ms per op, so its start times are as ordered as the WASI run's.
let clock = 0;
setClock(() => clock, 1_760_000_000_000);

type Op =
  | { k: 's'; i: number; p: number } // start span i under span p (-1: none given)
  | { k: 'e'; i: number; d?: number } // end span i (a root: d ms after its start)
  | { k: 'x' | 'r'; i: number } // ERROR status; an exception
  | { k: 'f' | 'm' } // flush; a marker line
  | { k: 'w'; ms: number }; // sleep

const encode = (ops: Op[]): string => ops.map((o) =>
  o.k === 's' ? `s${o.i}.${o.p}` : o.k === 'e' ? (o.d === undefined ? `e${o.i}` : `e${o.i}.${o.d}`)
    : o.k === 'x' || o.k === 'r' ? `${o.k}${o.i}` : o.k === 'w' ? `w${o.ms}` : o.k).join(' ');

/** A trace as generated: its spans (the first its root), which never end, which start after it is over here, which fail; its root's duration. */
interface Trace { spans: number[]; live: Set<number>; late: Set<number>; failed: Set<number>; d?: number }
interface Plan { ops: Op[]; traces: Trace[] }

type Rand = () => number;

/**
 * `count` traces, up to `open` at once, their ops interleaved: a root and 0 to
 * 5 descendants started in a random order that respects parents, failures
 * (status or exception) before a span's end, some spans never ended, a
 * root slow (1.2 to 2.2 times slowMs) or fast (under `fast` ms), now and
 * then a child started after the whole trace ended, and flushes.
 */
function generate(r: Rand, count: number, open: number, slowMs: number, fast = slowMs / 2): Plan {
  let next = 0;
  const traces: Trace[] = [];
  const scripts: Op[][] = [];
  const newTrace = (): Op[] => {
    const n = 1 + Math.floor(r() * 6);
    const spans = Array.from({ length: n }, () => next++);
    const t: Trace = { spans, live: new Set(), late: new Set(), failed: new Set() };
    traces.push(t);
    const parent = spans.map((_, j) => (j === 0 ? -1 : spans[Math.floor(r() * j)]!));
    // Per span, its ops in order: start, failures, end (unless it stays live).
    const queues = spans.map((s, j): Op[] => {
      const q: Op[] = [{ k: 's', i: s, p: parent[j]! }];
      if (r() < 0.1) q.push({ k: 'x', i: s });
      if (r() < 0.06) q.push({ k: 'r', i: s });
      if (q.length > 1) t.failed.add(s);
      if (r() < 0.05) t.live.add(s);
      else if (j === 0) {
        t.d = Math.floor(r() < 0.25 ? slowMs * (1.2 + r()) : r() * fast);
        q.push({ k: 'e', i: s, d: t.d });
      } else q.push({ k: 'e', i: s });
      return q;
    });
    const started = new Set<number>();
    const ops: Op[] = [];
    for (;;) {
      // A child starts under a started parent; the root ends once every child has started (a span
      // started after its trace is complete here is a late one, below).
      const ready = queues.filter((q, j) => q.length && (q[0]!.k === 's' ? j === 0 || started.has(parent[j]!)
        : j > 0 || q[0]!.k !== 'e' || started.size === n));
      if (!ready.length) break;
      const op = ready[Math.floor(r() * ready.length)]!.shift()!;
      if (op.k === 's') started.add(op.i);
      ops.push(op);
    }
    if (!t.live.size && r() < 0.1) {
      const s = next++;
      t.spans.push(s);
      t.late.add(s);
      ops.push({ k: 's', i: s, p: spans[0]! });
      if (r() < 0.3) {
        ops.push({ k: 'x', i: s });
        t.failed.add(s);
      }
      ops.push({ k: 'e', i: s });
    }
    return ops;
  };
  for (let i = 0; i < Math.min(open, count); i++) scripts.push(newTrace());
  const ops: Op[] = [];
  while (scripts.length) {
    const j = Math.floor(r() * scripts.length);
    ops.push(scripts[j]!.shift()!);
    if (!scripts[j]!.length) {
      if (traces.length < count) scripts[j] = newTrace();
      else scripts.splice(j, 1);
    }
    if (r() < 0.02) ops.push({ k: 'f' });
  }
  ops.push({ k: 'm' });
  return { ops, traces };
}

interface Config { ratio: number; keepErrors: boolean; slowMs: number; maxHoldMs?: number; batch?: number; env?: Record<string, string> }
interface Run { spans: FlatSpan[]; before: Set<string>; ids: Map<number, { traceId: string; spanId: string; flags: number }>; stderr: string }

/** The plan through the fixture: the spans it exported (`before`: span ids exported before the first marker), each span's ids, stderr. */
async function runPlan(ops: Op[], c: Config, seed: number, options: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string> = {
    PLAN: encode(ops), RATIO: String(c.ratio), KEEP: c.keepErrors ? '1' : '0', SLOW: String(c.slowMs), BATCH: String(c.batch ?? 512), ...options, ...c.env,
  };
  if (c.maxHoldMs !== undefined) env.HOLD = String(c.maxHoldMs);
  const run = await runWasi({ wasm: fixture(), sockets: false, env, entropy: [...seedBytes(seed)], timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines.pop(), '');
  const idsLine = lines.pop()!.split(' ');
  assert.equal(idsLine.shift(), 'ids');
  const ids = new Map(idsLine.map((w) => {
    const [i, traceId, spanId, flags] = w.split(':');
    return [Number(i), { traceId: traceId!, spanId: spanId!, flags: Number(flags) }] as const;
  }));
  const spans: FlatSpan[] = [];
  const early = new Set<string>();
  const marker = lines.indexOf('--');
  lines.forEach((line, n) => {
    if (line === '--') return;
    const got = allSpans(decodeJson(line));
    spans.push(...got);
    if (n < marker) for (const s of got) early.add(s.spanId);
  });
  return { spans, before: early, ids, stderr: run.stderr.replace(/.*ExperimentalWarning.*\n?/g, '') };
}

/** The plan through the JS tracer (coreTracer, the same seed), decided at shutdown as JS's tracer decides: its spans. */
async function runJs(ops: Op[], c: Config, seed: number, caller?: Record<string, string>): Promise<FlatSpan[]> {
  const t = await coreTracer({ ratio: c.ratio, seed, sampler: { keepErrors: c.keepErrors, slowMs: c.slowMs } });
  const parent = caller ? t.tracer.extract(caller) : undefined;
  const spans = new Map<number, Span>();
  const started = new Map<number, number>();
  for (const o of ops) {
    clock += 1;
    if (o.k === 's') {
      started.set(o.i, clock);
      spans.set(o.i, t.tracer.startSpan(`s${o.i}`, {}, o.p >= 0 ? spans.get(o.p) : parent));
    } else if (o.k === 'e') spans.get(o.i)!.end(o.d === undefined ? undefined : started.get(o.i)! + o.d);
    else if (o.k === 'x') spans.get(o.i)!.setStatus({ code: 2, message: 'failed' });
    else if (o.k === 'r') spans.get(o.i)!.recordException(new Error('boom'));
  }
  t.core.x.settle(clock + 1, 1);
  return t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
}

/** What the two runs are compared on, sorted. */
const summary = (spans: FlatSpan[]): string[] =>
  spans.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.name, s.flags, s.traceState, s.status.code].join(' ')).sort();

/**
 * Checks a run against the rule: a trace's ended spans leave once, all of
 * them when it is kept (the ratio, a failure with keepErrors, a slow root),
 * none otherwise; those of a trace still open at the end leave at shutdown
 * (those of a trace the head decision keeps leave as they end);
 * the flag is the head decision, and only a trace the ratio kept carries
 * its threshold. A late span (after the trace was decided) leaves by the
 * head decision or its own failure, or because tail sampling kept its trace
 * (remembered, or not: the JS comparison settles that).
 */
function checkRule(plan: Plan, run: Run, c: Config, label: string): void {
  const exported = new Map<string, number>();
  for (const s of run.spans) exported.set(s.spanId, (exported.get(s.spanId) ?? 0) + 1);
  for (const [id, n] of exported) assert.equal(n, 1, `${label}: span ${id} exported ${n} times`);
  const byId = new Map(run.spans.map((s) => [s.spanId, s]));
  let count = 0;
  for (const t of plan.traces) {
    const head = (run.ids.get(t.spans[0]!)!.flags & 1) === 1;
    const failed = c.keepErrors && [...t.failed].some((s) => !t.late.has(s));
    const slow = c.slowMs > 0 && t.d !== undefined && t.d > c.slowMs;
    const kept = head || failed || slow;
    const open = t.live.size > 0;
    for (const s of t.spans) {
      const ids = run.ids.get(s)!;
      const span = byId.get(ids.spanId);
      const what = `${label}: span ${s} of trace ${t.spans[0]} (head ${head}, failed ${failed}, slow ${slow}, open ${open})`;
      if (t.live.has(s)) assert.equal(span, undefined, `${what}: never ended, never exported`);
      else if (t.late.has(s)) {
        if (head || (c.keepErrors && t.failed.has(s))) assert.ok(span, `${what}: late, kept by head or failure`);
        else if (!kept) assert.equal(span, undefined, `${what}: late, of a trace dropped`);
      } else assert.equal(!!span, kept, what);
      if (!span) continue;
      count++;
      assert.equal(span.flags & 1, head ? 1 : 0, `${what}: the flag is the head decision`);
      assert.equal(span.traceState, head ? `ot=th:${thresholdHex(c.ratio)}` : '', what);
      if (open && !head) assert.ok(!run.before.has(span.spanId), `${what}: held until shutdown`);
    }
  }
  assert.equal(run.spans.length, count, `${label}: nothing else exported`);
}

for (const ratio of [0, 0.25]) {
  test(`ratio ${ratio}: generated timelines keep failed, slow and head-sampled traces, each span once, as the JS tracer does`, async () => {
    const r = prng(0x7a11 + ratio * 100);
    let kept = 0;
    let dropped = 0;
    for (let n = 0; n < 14; n++) {
      const seed = 1 + Math.floor(r() * 1e6);
      const c: Config = { ratio, keepErrors: n % 4 !== 3, slowMs: n % 5 === 4 ? 0 : 20_000 + Math.floor(r() * 40_000), batch: 1 + Math.floor(r() * 40) };
      const plan = generate(r, 10 + Math.floor(r() * 50), 1 + Math.floor(r() * 5), c.slowMs || 20_000);
      const label = `case ${n} (seed ${seed}, ${JSON.stringify(c)})`;
      const run = await runPlan(plan.ops, c, seed);
      assert.equal(run.stderr, '', label);
      checkRule(plan, run, c, label);
      assert.deepEqual(summary(run.spans), summary(await runJs(plan.ops, c, seed)), `${label}: as the JS tracer`);
      const traces = new Set(run.spans.map((s) => s.traceId));
      kept += traces.size;
      dropped += plan.traces.length - traces.size;
    }
    // Both outcomes happened often enough to mean something.
    assert.ok(kept > 50 && dropped > 50, `kept ${kept}, dropped ${dropped}`);
  });
}

test('past 1,024 held spans the oldest trace is decided with what is known, as in JS; a later failure keeps its later spans', async () => {
  const r = prng(0xb0b);
  for (const ratio of [0, 0.1]) {
    const seed = 1 + Math.floor(r() * 1e6);
    const c: Config = { ratio, keepErrors: true, slowMs: 0 };
    // 400 traces whose roots stay live, each holding three children (1,200 in all) with a
    // fourth live (the span pool, 2,047, never fills, so what the JS tracer has not drained
    // makes no difference); every 9th fails early, and the last child of every 7th fails
    // after the hold may have decided its trace. A trace the ratio keeps holds nothing: at
    // ratio 0.1 the others (about 360) still hold more than 1,024.
    const traces = 400;
    const ops: Op[] = [];
    const late: Op[] = [];
    for (let t = 0; t < traces; t++) {
      const [root, a, b, c, z] = [5 * t, 5 * t + 1, 5 * t + 2, 5 * t + 3, 5 * t + 4];
      ops.push({ k: 's', i: root, p: -1 }, { k: 's', i: a, p: root }, { k: 's', i: b, p: root }, { k: 's', i: c, p: a }, { k: 's', i: z, p: root });
      if (t % 9 === 0) ops.push({ k: 'x', i: a });
      ops.push({ k: 'e', i: c }, { k: 'e', i: a }, { k: 'e', i: b });
      if (r() < 0.05) ops.push({ k: 'f' });
      late.push(...(t % 7 === 0 ? [{ k: 'x', i: z } as Op] : []), { k: 'e', i: z });
    }
    ops.push(...late, { k: 'm' });
    const label = `ratio ${ratio}, seed ${seed}`;
    const run = await runPlan(ops, c, seed, { BATCH: '100' });
    const js = await runJs(ops, c, seed);
    assert.deepEqual(summary(run.spans), summary(js), `${label}: as the JS tracer`);
    assert.equal(new Set(run.spans.map((s) => s.spanId)).size, run.spans.length, `${label}: each span once`);
    // Decided early: exported before the end, without waiting for their roots.
    assert.ok(run.before.size > 0, label);
    const names = new Set(run.spans.map((s) => s.name));
    let rescued = 0;
    for (let t = 0; t < traces; t++) {
      if (t % 9 === 0) assert.ok(names.has(`s${5 * t + 1}`), `${label}: trace ${t}'s child that failed early is kept`);
      if (t % 7 === 0) assert.ok(names.has(`s${5 * t + 4}`), `${label}: trace ${t}'s child that failed late is kept`);
      if (t % 7 === 0 && !names.has(`s${5 * t + 2}`)) rescued++;
    }
    // Traces dropped early and failing later: the spans freed before are reported as lost.
    assert.ok(rescued > 0, label);
    assert.equal(run.stderr, `wasmtrace: ${3 * rescued} spans lost; ${3 * rescued} dropped for lack of buffer space, ` +
      'or freed by a bound of tail sampling before their trace was kept\n', label);
  }
});

test('a held trace is decided at maxHoldMs when a span ends or at a flush, as its root is still live; with ratio 1 nothing is held', async () => {
  // Trace 0: a live root and an ended child; then a sleep past maxHoldMs and
  // another trace's span (or a flush) lets the hold decide it before shutdown
  // (a batch is one span: what the hold lets go leaves at once).
  const plan = (fail: boolean, trigger: 'end' | 'flush'): Op[] => [
    { k: 's', i: 0, p: -1 }, { k: 's', i: 1, p: 0 }, ...(fail ? [{ k: 'x', i: 1 } as Op] : []), { k: 'e', i: 1 },
    { k: 'w', ms: 150 },
    ...(trigger === 'end' ? [{ k: 's', i: 2, p: -1 }, { k: 'e', i: 2, d: 0 }] as Op[] : [{ k: 'f' } as Op]), { k: 'm' },
    { k: 'e', i: 0, d: 1 },
  ];
  const child = (run: Run) => run.ids.get(1)!.spanId;
  const rootId = (run: Run) => run.ids.get(0)!.spanId;
  for (const trigger of ['end', 'flush'] as const) {
    // Failed: kept at maxHoldMs, the child before the marker, the root when it ends.
    let run = await runPlan(plan(true, trigger), { ratio: 0, keepErrors: true, slowMs: 0, maxHoldMs: 50, batch: 1 }, 5);
    assert.ok(run.before.has(child(run)), `${trigger}: the failed trace's child leaves at maxHoldMs`);
    assert.ok(run.spans.some((s) => s.spanId === rootId(run)) && !run.before.has(rootId(run)), trigger);
    // Not failed, not slow, ratio 0: dropped at maxHoldMs; its root is freed when it ends.
    run = await runPlan(plan(false, trigger), { ratio: 0, keepErrors: true, slowMs: 0, maxHoldMs: 50, batch: 1 }, 5);
    assert.deepEqual(run.spans.filter((s) => s.traceId === run.ids.get(0)!.traceId), [], trigger);
    // A root live longer than slowMs when maxHoldMs is reached counts as slow: kept.
    run = await runPlan(plan(false, trigger), { ratio: 0, keepErrors: true, slowMs: 60, maxHoldMs: 50, batch: 1 }, 5);
    assert.ok(run.before.has(child(run)), `${trigger}: a slow live root keeps its trace at maxHoldMs`);
    // WASMTRACE_MAX_HOLD_MS wins over the option: nothing decided before shutdown.
    run = await runPlan(plan(true, trigger), { ratio: 0, keepErrors: true, slowMs: 0, maxHoldMs: 50, batch: 1, env: { WASMTRACE_MAX_HOLD_MS: '60000' } }, 5);
    assert.ok(run.spans.some((s) => s.spanId === child(run)) && !run.before.has(child(run)), `${trigger}: held until its root ends`);
  }
  // Ratio 1: nothing is held, the child leaves with its batch while its root is live.
  const run = await runPlan(plan(false, 'flush'), { ratio: 1, keepErrors: true, slowMs: 10, maxHoldMs: 60_000, batch: 1 }, 5);
  assert.ok(run.before.has(child(run)), 'ratio 1 holds nothing');
  assert.equal(run.spans.length, 2);
});

test('WASMTRACE_KEEP_ERRORS, WASMTRACE_SLOW_MS and WASMTRACE_MAX_HOLD_MS win over the options; a bad value is named on stderr and the option used', async () => {
  const r = prng(0xe4e);
  const keepValues = ['', '', 'true', 'false', 'TRUE', 'False', ' true ', 'yes', '1', '0', 'off', 'truex'];
  // Any slowMs; a maxHoldMs these runs do not reach (so the JS tracer, which decides no trace before shutdown here, compares).
  const slowValues = ['', '', '0', '10000', '25000', '3600000', ' 30000 ', '3600001', '-5', '1.5', 'abc', '1e4', '0012000', '99999999'];
  const holdValues = ['', '', '30000', ' 45000 ', '3600000', '0', '3600001', '-5', '1.5', 'abc', '99999999'];
  for (let n = 0; n < 12; n++) {
    const seed = 1 + Math.floor(r() * 1e6);
    const option = { keepErrors: r() < 0.5, slowMs: r() < 0.3 ? 0 : 20_000 + Math.floor(r() * 20_000), maxHoldMs: 20_000 + Math.floor(r() * 40_000) };
    const pick = (xs: string[]) => xs[Math.floor(r() * xs.length)]!;
    const env = { WASMTRACE_KEEP_ERRORS: pick(keepValues), WASMTRACE_SLOW_MS: pick(slowValues), WASMTRACE_MAX_HOLD_MS: pick(holdValues) };
    // What each variable makes: a valid value wins; a bad one is named and the option used.
    const warnings: string[] = [];
    const keep = env.WASMTRACE_KEEP_ERRORS.trim().toLowerCase();
    let keepErrors = option.keepErrors;
    if (keep === 'true' || keep === 'false') keepErrors = keep === 'true';
    else if (keep) warnings.push(`wasmtrace: bad WASMTRACE_KEEP_ERRORS ${env.WASMTRACE_KEEP_ERRORS.trim()}; using ${option.keepErrors}`);
    const ms = (name: 'WASMTRACE_SLOW_MS' | 'WASMTRACE_MAX_HOLD_MS', fallback: number, min: number): number => {
      const text = env[name].trim();
      if (!text) return fallback;
      if (/^\d{1,7}$/.test(text) && Number(text) >= min && Number(text) <= 3_600_000) return Number(text);
      warnings.push(`wasmtrace: bad ${name} ${text}; using ${fallback}`);
      return fallback;
    };
    const c: Config = { ratio: 0, keepErrors, slowMs: ms('WASMTRACE_SLOW_MS', option.slowMs, 0) };
    ms('WASMTRACE_MAX_HOLD_MS', option.maxHoldMs, 1);
    const label = `case ${n}: options ${JSON.stringify(option)}, env ${JSON.stringify(env)}`;
    // Slow roots past every slowMs here but an hour; fast ones end as they start.
    const plan = generate(r, 30, 3, 110_000, 1);
    const run = await runPlan(plan.ops, { ...c, maxHoldMs: option.maxHoldMs, env }, seed,
      { KEEP: option.keepErrors ? '1' : '0', SLOW: String(option.slowMs) });
    assert.equal(run.stderr, warnings.map((w) => w + '\n').join(''), label);
    checkRule(plan, run, c, label);
    assert.deepEqual(summary(run.spans), summary(await runJs(plan.ops, c, seed)), `${label}: as the JS tracer`);
  }
});

test('a caller that did not sample: a trace tail sampling keeps is exported without the threshold, as JS exports it', async () => {
  const r = prng(0x7ace);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  let erased = 0;
  for (let n = 0; n < 10; n++) {
    const seed = 1 + Math.floor(r() * 1e6);
    const sampled = n % 3 === 0;
    const traceId = hex(32);
    // A threshold and randomness that agree with the flag (kept when the caller sent them) or not.
    const th = hex(1 + Math.floor(r() * 14));
    const ot = [`th:${th}`, ...(r() < 0.7 ? [`rv:${hex(14)}`] : []), ...(r() < 0.3 ? ['p:8'] : [])];
    const members = [`ot=${ot.join(';')}`, ...(r() < 0.6 ? ['vendor=abc'] : [])];
    if (r() < 0.5) members.reverse();
    const caller = { traceparent: `00-${traceId}-${hex(16)}-0${sampled ? 1 : 0}`, tracestate: members.join(',') };
    const c: Config = { ratio: 0.25, keepErrors: true, slowMs: 20_000 };
    const plan = generate(r, 6, 2, 20_000);
    const label = `case ${n}: ${JSON.stringify(caller)}`;
    const run = await runPlan(plan.ops, c, seed, { TRACEPARENT: caller.traceparent, TRACESTATE: caller.tracestate });
    assert.equal(run.stderr, '', label);
    assert.deepEqual(summary(run.spans), summary(await runJs(plan.ops, c, seed, caller)), `${label}: as the JS tracer`);
    assert.equal(new Set(run.spans.map((s) => s.spanId)).size, run.spans.length, label);
    // The caller's tracestate as checked, and the threshold gone from it when the caller did not sample.
    const given = checkThreshold(parseTracestate(caller.tracestate) ?? '', traceId, sampled);
    for (const s of run.spans) {
      assert.equal(s.traceId, traceId, label);
      assert.equal(s.flags & 1, sampled ? 1 : 0, label);
      assert.equal(s.traceState, sampled ? given : checkThreshold(given, traceId), label);
    }
    if (!sampled && run.spans.length && given.includes('th:')) erased++;
  }
  assert.ok(erased >= 2, `${erased} runs exported spans whose threshold was erased`);
});
