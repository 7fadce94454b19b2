// Bad input, generated: wrong types to every public method, huge strings,
// hostile objects, NaN and backwards times, double ends, use after shutdown,
// a million spans never flushed. Nothing may throw, memory stays bounded,
// and what is dropped is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeProtobuf } from '../helpers/otlp.js';
import type { Span } from '../../src/types.js';
import { createNoopTracer } from '../../src/tracer.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const hostile = new Proxy({}, {
  get() { throw new Error('hostile get'); },
  has() { throw new Error('hostile has'); },
  ownKeys() { throw new Error('hostile ownKeys'); },
  getPrototypeOf() { throw new Error('hostile proto'); },
});
const hostileArray = new Proxy([1, 2], { get() { throw new Error('hostile index'); } });
const throwingToString = { toString() { throw new Error('toString'); }, valueOf() { throw new Error('valueOf'); } };

const WEIRD: unknown[] = [
  undefined, null, NaN, Infinity, -Infinity, -0, 0, -1, 1e308, -1e308, 2 ** 64, 1.5, '', ' ', 'x'.repeat(100_000),
  '\u0000\ud800\udfff\ud800', '😀'.repeat(5000), true, false, {}, [], [null], [1, 'a'], [[1]], new Array(5000).fill('abc'),
  new Array(3000).fill(1.25), Symbol('s'), () => 1, 10n, new Date(NaN), new Date(0), new Date(8.64e15), hostile, hostileArray,
  throwingToString, Object.create(null), new Map(), new Uint8Array(4), { code: 2, message: 'm' }, { code: 99 }, { traceId: 'x' },
  { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }, { context: hostile }, new Headers(),
  { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: hostile },
];

/** 20,000 generated calls with bad arguments to the tracer's and its spans' methods; `tick` runs every 2,000. */
function fuzz(tracer: object, seed: number, tick: () => void): void {
  const r = rng(seed);
  const pick = () => WEIRD[Math.floor(r() * WEIRD.length)];
  const spans: unknown[] = [pick()];
  const any = tracer as unknown as Record<string, (...a: unknown[]) => unknown>;
  const spanMethods = ['setAttribute', 'setAttributes', 'addEvent', 'addLink', 'addLinks', 'setStatus', 'updateName', 'end', 'recordException', 'spanContext', 'isRecording'];
  const tracerMethods = ['startSpan', 'startActiveSpan', 'getActiveSpan', 'withSpan', 'inject', 'extract', 'stats', 'withBaggage', 'getBaggage'];
  const takesFn = new Set(['startActiveSpan', 'withSpan', 'withBaggage']);
  for (let i = 0; i < 20_000; i++) {
    const args = Array.from({ length: Math.floor(r() * 4) }, pick);
    if (r() < 0.4) {
      const m = tracerMethods[Math.floor(r() * tracerMethods.length)]!;
      if (takesFn.has(m) && r() < 0.7) args.push((s: unknown) => { spans.push(s); return s; });
      const result = any[m]!(...args);
      if (m === 'startSpan') spans.push(result);
    } else {
      const span = spans[Math.floor(r() * spans.length)] as Record<string, (...a: unknown[]) => unknown>;
      if (!span || typeof span !== 'object' || typeof span.end !== 'function') continue;
      const m = spanMethods[Math.floor(r() * spanMethods.length)]!;
      if (m === 'setAttribute' && r() < 0.5) args.unshift(`k${Math.floor(r() * 50)}`);
      span[m]!(...args);
    }
    if (spans.length > 500) spans.splice(1, 250);
    if (i % 2000 === 0) tick();
  }
}

test('thousands of generated calls with bad arguments never throw', async () => {
  const t = await coreTracer();
  fuzz(t.tracer, 42, () => t.drain());
  // What was recorded still decodes.
  for (const body of t.drain()) assert.ok(allSpans(decodeProtobuf(body)).length > 0);
  assert.equal(t.core.x.memory.buffer.byteLength, 1 << 20, 'Wasm memory never grows');
});

test('the tracer of a disabled SDK (or one without Wasm) takes the same generated calls without throwing', () => {
  const tracer = createNoopTracer();
  fuzz(tracer, 43, () => {});
  assert.equal(tracer.startSpan('x').isRecording(), false);
});

test('NaN, negative and backwards times give valid spans with end >= start', async () => {
  const t = await coreTracer();
  const times: unknown[] = [NaN, -1, -1e20, 1e20, Infinity, -Infinity, 0, new Date(NaN), '12', null];
  for (const a of times) for (const b of times) {
    const s = t.tracer.startSpan('t', { startTime: a as number });
    s.end(b as number);
  }
  const bwd = t.tracer.startSpan('backwards', { startTime: Date.now() });
  bwd.end(Date.now() - 60_000);
  const spans = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.equal(spans.length, times.length ** 2 + 1);
  for (const s of spans) assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), `${s.startTimeUnixNano} <= ${s.endTimeUnixNano}`);
});

test('ending twice and using spans after shutdown are harmless no-ops', async () => {
  const t = await coreTracer();
  const s = t.tracer.startSpan('once');
  s.end();
  s.end();
  s.setAttribute('late', 1).addEvent('late').setStatus({ code: 2 });
  assert.equal(t.ended(), 1);
  const survivor = t.tracer.startSpan('open at shutdown');
  await t.tracer.shutdown();
  const after = t.tracer.startSpan('after');
  assert.equal(after.isRecording(), false);
  after.setAttribute('x', 1).end();
  survivor.setAttribute('x', 1);
  survivor.end();
  assert.deepEqual(await t.tracer.flush(), { sent: 0, queued: 0, dropped: 0 });
  assert.deepEqual(await t.tracer.shutdown(), { sent: 0, queued: 0, dropped: 0 });
  const names = t.drain().flatMap((b) => allSpans(decodeProtobuf(b))).map((x) => x.name);
  assert.deepEqual(names.sort(), ['once', 'open at shutdown']);
});

test('10^6 spans with no flush: memory stays bounded, drops are counted exactly', async () => {
  const t = await coreTracer();
  const before = t.core.source.stats();
  const heapBefore = process.memoryUsage().heapUsed;
  const N = 1_000_000;
  let recording = 0;
  for (let i = 0; i < N; i++) {
    const s: Span = t.tracer.startSpan('flood');
    if (s.isRecording()) recording++;
    s.setAttribute('i', i);
    s.end();
  }
  const stats = t.tracer.stats();
  assert.equal(stats.droppedSpans - before.droppedSpans, N - recording);
  assert.equal(recording, t.core.source.pending(), 'every recorded span is buffered');
  assert.ok(recording > 1000 && recording < 4096, `the pool holds ${recording}`);
  assert.equal(t.core.x.memory.buffer.byteLength, 1 << 20);
  global.gc?.();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < 64 * 1024 * 1024, `JS heap grew ${grown} bytes`);
  const spans = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.equal(spans.length, recording);
  // After a drain the pool accepts spans again.
  const again = t.tracer.startSpan('again');
  assert.equal(again.isRecording(), true);
});

test('span memory exhausted by huge values: data dropped and counted, spans still exported', async () => {
  const t = await coreTracer({ valueLimit: 16 * 1024 });
  const big = 'b'.repeat(16 * 1024);
  const spans: Span[] = [];
  for (let i = 0; i < 40; i++) {
    const s = t.tracer.startSpan(`heavy-${i}`);
    for (let k = 0; k < 20; k++) s.setAttribute(`v${k}`, big);
    spans.push(s);
  }
  for (const s of spans) s.end();
  assert.ok(t.tracer.stats().droppedData > 0, 'blocks ran out and it was counted');
  const out = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.equal(out.length, 40, 'no span is lost, only some of its data');
  let kept = 0;
  let dropped = 0;
  for (const s of out) {
    for (const a of s.attributes) assert.equal((a.value as { stringValue: string }).stringValue.length, 16 * 1024);
    kept += s.attributes.length;
    dropped += s.droppedAttributesCount;
    assert.ok(s.attributes.length * 16 * 1024 <= 56 * 1024, 'a span never holds more than its byte cap');
  }
  assert.equal(kept + dropped, 40 * 20, 'kept + dropped adds up');
  assert.equal(t.tracer.stats().droppedOversize, 0);
});

test('the key table fills: new keys are still stored (inline), known keys still work', async () => {
  const t = await coreTracer();
  const s = t.tracer.startSpan('keys');
  for (let i = 0; i < 5000; i++) s.setAttribute(`key-number-${i}-${'k'.repeat(20)}`, i);
  s.setAttribute('key-number-1-' + 'k'.repeat(20), 'still settable');
  s.end();
  assert.equal(t.tracer.stats().droppedData, 0);
  const [span] = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.equal(span!.attributes.length, 128);
  assert.equal(span!.droppedAttributesCount, 5000 - 128);
  assert.equal(attrs(span!.attributes)['key-number-1-' + 'k'.repeat(20)], 'still settable');
  const s2 = t.tracer.startSpan('later');
  s2.setAttribute(`key-number-4999-${'k'.repeat(20)}`, 1);
  s2.setAttribute('never.seen', true);
  s2.end();
  const [later] = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.deepEqual(attrs(later!.attributes), { [`key-number-4999-${'k'.repeat(20)}`]: '1', 'never.seen': true });
});

test('init() with options that throw on every access (a Proxy), or throw what no String() can print, resolves to a tracer, in the Node and core entries', async (t) => {
  t.mock.method(console, 'warn', () => {}); // "tracing is off: …", once per kind
  const { init: initNode } = await import('../../src/node.js');
  const { init: initCore } = await import('../../src/index.js');
  const trap = () => {
    throw new Error('trap');
  };
  const hostile = [
    new Proxy({}, { ownKeys: trap, get: trap, has: trap, getOwnPropertyDescriptor: trap }),
    new Proxy({ serviceName: 's' }, { ownKeys: trap }),
    Object.defineProperty({}, 'serviceName', { get: trap, enumerable: true }),
    // Thrown values whose String() throws: the warning that tracing is off must not throw in turn.
    Object.defineProperty({}, 'debug', { get: () => { throw Object.create(null); }, enumerable: true }),
    new Proxy({}, { get: () => { throw Object.create(null); } }),
    Object.defineProperty({}, 'env', { get: () => { throw Symbol('env'); }, enumerable: true }),
  ];
  for (const init of [initNode, initCore])
    for (const options of hostile) {
      const tracer = await init(options as never);
      assert.equal(typeof tracer.startSpan, 'function');
      assert.doesNotThrow(() => tracer.startSpan('x').end());
    }
});

test('startActiveSpan without a function starts no span: thousands of such calls leave the pool free (they filled it, and stopped all recording)', async () => {
  const t = await coreTracer();
  const r = rng(44);
  const parent = t.tracer.startSpan('parent');
  const call = t.tracer.startActiveSpan as unknown as (...a: unknown[]) => unknown;
  for (let i = 0; i < 5000; i++) {
    // What may stand where the function goes: nothing, the options, a parent, anything else.
    const args = [[], [{}], [{ attributes: { i } }, parent], [{}, parent, WEIRD[Math.floor(r() * WEIRD.length)]]][i % 4]!;
    if (typeof args[args.length - 1] === 'function') continue;
    assert.equal(call(`no-fn-${i}`, ...args), undefined);
  }
  parent.end();
  const after = t.tracer.startSpan('after');
  assert.equal(after.isRecording(), true, 'the pool still has room');
  after.end();
  assert.equal(t.tracer.stats().droppedSpans, 0);
  const names = t.drain().flatMap((b) => allSpans(decodeProtobuf(b))).map((s) => s.name);
  assert.deepEqual(names.sort(), ['after', 'parent']);
  // With a function, the same calls start the span, active while it runs.
  const active = t.tracer.startActiveSpan('with-fn', {}, (s) => {
    s.end();
    return t.tracer.getActiveSpan() === s;
  });
  assert.equal(active, true);
  assert.deepEqual(t.drain().flatMap((b) => allSpans(decodeProtobuf(b))).map((s) => s.name), ['with-fn']);
});
