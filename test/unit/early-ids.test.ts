// Spans whose ids were given out before the tracer existed (a page's requests
// sent while the Wasm was loading): started with the internal EARLY option,
// they carry exactly those ids, with no parent, in protobuf and in JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeJson, decodeProtobuf } from '../helpers/otlp.js';
import { EARLY, type EarlyIds } from '../../src/tracer.js';
import type { SpanOptions } from '../../src/types.js';

const hex = (n: number): string => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');
const early = (ids: EarlyIds, more: SpanOptions = {}): SpanOptions => ({ ...more, [EARLY]: ids }) as SpanOptions;

for (const json of [false, true]) {
  test(`an early span keeps the ids it was sent with (${json ? 'JSON' : 'protobuf'})`, async () => {
    const t = await coreTracer({ json });
    const cases = Array.from({ length: 50 }, (_, i) => ({ traceId: hex(16), spanId: hex(8), traceFlags: 1, traceState: i % 2 ? `k${i}=v` : undefined }));
    for (const ids of cases) {
      const s = t.tracer.startSpan('GET', early(ids, { kind: 2, startTime: Date.now() - 5, attributes: { 'url.full': 'https://api.example/x' } }));
      assert.deepEqual([s.spanContext().traceId, s.spanContext().spanId], [ids.traceId, ids.spanId]);
      // A child started under it afterwards is an ordinary span of that trace.
      t.tracer.startSpan('child', {}, s).end();
      s.end();
    }
    const decode = json ? decodeJson : decodeProtobuf;
    const spans = t.drain().flatMap((b) => allSpans(decode(b)));
    assert.equal(spans.length, 100);
    const seen = new Set<string>();
    for (const ids of cases) {
      const s = spans.find((x) => x.spanId === ids.spanId && x.name === 'GET');
      assert.ok(s, `span ${ids.spanId} exported`);
      assert.equal(s.traceId, ids.traceId);
      assert.equal(s.parentSpanId, '', 'no parent');
      assert.equal(s.traceState, ids.traceState ?? '');
      assert.equal(s.flags & 0xff, 1);
      assert.equal(s.flags & 0x300, 0x100, 'parent known not to be remote');
      assert.equal(s.kind, 3, 'CLIENT');
      const child = spans.find((x) => x.parentSpanId === ids.spanId);
      assert.ok(child && child.traceId === ids.traceId && child.spanId !== ids.spanId, 'the child has its own new id');
      seen.add(child.spanId);
    }
    assert.equal(seen.size, cases.length, 'the pinned id is used once: children all differ');
  });
}

test('an early span of a trace sent unsampled is not recorded, and the pin does not outlive it', async () => {
  const t = await coreTracer();
  const ids = { traceId: hex(16), spanId: hex(8), traceFlags: 0 };
  const s = t.tracer.startSpan('GET', early(ids));
  assert.equal(s.isRecording(), false);
  assert.equal(s.spanContext().spanId, ids.spanId, 'its context still names the id that was sent');
  s.end();
  const next = t.tracer.startSpan('next');
  assert.notEqual(next.spanContext().spanId, ids.spanId);
  next.end();
  const spans = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.deepEqual(spans.map((x) => x.name), ['next']);
});

test('malformed early ids are ignored: an ordinary span', async () => {
  const t = await coreTracer();
  for (const bad of [{ traceId: 'xyz', spanId: hex(8) }, { traceId: hex(16), spanId: '12' }, { traceId: '0'.repeat(32), spanId: hex(8) }, { traceId: hex(16), spanId: '0'.repeat(16) }]) {
    const s = t.tracer.startSpan('op', early({ ...bad, traceFlags: 1 }));
    assert.notEqual(s.spanContext().spanId, bad.spanId);
    assert.notEqual(s.spanContext().traceId, bad.traceId);
    s.end();
  }
  const spans = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
  assert.equal(spans.length, 4);
  for (const s of spans) assert.equal(s.parentSpanId, '');
});

test('the loader decides sampling exactly as the Wasm does: 20,000 generated trace ids over 8 ratios', async () => {
  const { sampledRoot } = await import('../../src/browser/early.js');
  const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
  for (const ratio of [0, 1e-9, 0.001, 0.1, 0.25, 0.5, 0.999999, 1]) {
    const t = await coreTracer({ ratio, seed: Math.round(ratio * 1e6) + 7 });
    let kept = 0;
    for (let i = 0; i < 2500; i++) {
      const s = t.tracer.startSpan('root');
      const ctx = s.spanContext();
      const wasm = (ctx.traceFlags & 1) === 1;
      assert.equal(sampledRoot(hexBytes(ctx.traceId), ratio), wasm, `ratio ${ratio}, trace ${ctx.traceId}`);
      if (wasm) kept++;
      s.end();
    }
    t.drain();
    if (ratio === 0) assert.equal(kept, 0);
    if (ratio === 1) assert.equal(kept, 2500);
    if (ratio === 0.5) assert.ok(kept > 1000 && kept < 1500, `about half kept: ${kept}`);
  }
});

test('the loader sampling boundary: randomness threshold − 1 drops, threshold and + 1 keep', async () => {
  const { sampledRoot } = await import('../../src/browser/early.js');
  for (const ratio of [1e-6, 0.001, 0.1, 1 / 3, 0.5, 0.75, 0.999]) {
    const threshold = BigInt(Math.round((1 - ratio) * 2 ** 56));
    for (const [delta, keep] of [[-1n, false], [0n, true], [1n, true]] as const) {
      const r = threshold + delta;
      const id = new Uint8Array(16);
      crypto.getRandomValues(id.subarray(0, 9));
      for (let i = 0; i < 7; i++) id[15 - i] = Number((r >> BigInt(8 * i)) & 0xffn);
      assert.equal(sampledRoot(id, ratio), keep, `ratio ${ratio}, randomness threshold${delta >= 0n ? '+' : ''}${delta}`);
    }
  }
});
