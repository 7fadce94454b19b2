// maxExportBatchSize (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) is "the maximum batch
// size of every export": no request carries more spans, whatever triggered it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf } from '../helpers/otlp.js';
import { startCollector } from '../helpers/collector.js';
import { tracerFor } from './delivery-harness.js';
import { setAttr } from '../../src/attributes.js';

function random(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

test('drain cuts at maxSpans as well as maxBytes: every span once, in order', async () => {
  const rnd = random(3);
  for (let round = 0; round < 40; round++) {
    const json = round % 2 === 1;
    const t = await coreTracer({ json });
    const maxSpans = 1 + rnd(round % 4 === 0 ? 3 : 600);
    const count = 1 + rnd(1000); // within the span memory (1,664 blocks of 256 B)
    const maxBytes = [1000, 8192, 60 * 1024][rnd(3)]!;
    for (let i = 0; i < count; i++) t.tracer.startSpan(`s${i}`, { attributes: { i, pad: 'p'.repeat(rnd(100)) } }).end();
    const seen: number[] = [];
    for (let e = t.core.source.drain(maxBytes, maxSpans); e; e = t.core.source.drain(maxBytes, maxSpans)) {
      const spans = allSpans(json ? decodeJson(e.body) : decodeProtobuf(e.body));
      const where = `round ${round}: maxSpans ${maxSpans}, ${count} spans, ${maxBytes} B`;
      assert.equal(spans.length, e.spans, where);
      assert.ok(spans.length >= 1 && spans.length <= maxSpans, `${where}: ${spans.length} spans in a request`);
      for (const s of spans) seen.push(Number(attrs(s.attributes).i));
    }
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i), `round ${round}: every span once, oldest first`);
  }
});

test('a span larger than maxBytes comes back alone; the spans after it still go in bodies within maxBytes', async () => {
  // The resource and one span together are over 60 KiB (delivery's body bound, under the keepalive budget).
  for (const json of [false, true]) {
    const t = await coreTracer({ json, valueLimit: 16384 });
    setAttr(t.core, 0, 'big.resource', 'r'.repeat(30_000), 0);
    const big = t.tracer.startSpan('big');
    big.setAttribute('a', 'x'.repeat(16_000));
    big.setAttribute('b', 'y'.repeat(16_000));
    big.end();
    for (let i = 0; i < 300; i++) t.tracer.startSpan(`s${i}`).end();
    const where = json ? 'JSON' : 'protobuf';
    const first = t.core.source.drain(60 * 1024)!;
    assert.deepEqual(allSpans(json ? decodeJson(first.body) : decodeProtobuf(first.body)).map((s) => s.name), ['big'], where);
    assert.equal(first.spans, 1, where);
    let n = 0;
    for (let e = t.core.source.drain(60 * 1024); e; e = t.core.source.drain(60 * 1024)) {
      assert.ok(e.body.length <= 60 * 1024, `${where}: ${e.body.length} B`);
      n += allSpans(json ? decodeJson(e.body) : decodeProtobuf(e.body)).length;
    }
    assert.equal(n, 300, where);
  }
});

test('maxExportBatchSize and OTEL_BSP_MAX_EXPORT_BATCH_SIZE cap every export request', async () => {
  const c = await startCollector();
  try {
    const rnd = random(11);
    for (let round = 0; round < 8; round++) {
      const batch = 1 + rnd(40);
      const count = 1 + rnd(300);
      const fromEnv = round % 2 === 1;
      const tracer = await tracerFor(c.url, fromEnv
        ? { env: { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(batch) } }
        : { maxExportBatchSize: batch, protocol: round % 4 === 2 ? 'http/json' : 'http/protobuf' });
      const before = c.requests.length;
      for (let i = 0; i < count; i++) tracer.startSpan('b', { attributes: { round, i } }).end();
      await tracer.shutdown();
      const requests = c.requests.slice(before);
      const seen = new Set<unknown>();
      for (const r of requests) {
        const spans = r.decoded ? allSpans(r.decoded).filter((s) => s.name === 'b') : [];
        assert.ok(spans.length <= batch, `round ${round}: ${spans.length} spans in a request, batch ${batch}`);
        for (const s of spans) {
          const a = attrs(s.attributes);
          if (a.round === String(round)) seen.add(a.i);
        }
      }
      assert.equal(seen.size, count, `round ${round}: every span arrives`);
      assert.ok(requests.length >= Math.ceil(count / batch), `round ${round}: ${requests.length} requests`);
    }
  } finally {
    await c.close();
  }
});

test('a page (resource attributes set again before each batch, as session.id is) keeps the cap too', async () => {
  const { initWith } = await import('../../src/init.js');
  const { protoWasm } = await import('../helpers/core-tracer.js');
  for (const [max, n] of [[1, 3], [10, 35], [7, 7], [64, 200]] as const) {
    const bodies: Uint8Array[] = [];
    let sessions = 0;
    const tracer = await initWith(
      { language: 'webjs', defaultWasm: () => protoWasm, liveResource: () => ({ 'session.id': (++sessions % 10).toString(16).repeat(32) }) },
      { serviceName: 'page', wasm: protoWasm, storage: null, compression: 'none', maxExportBatchSize: max, scheduledDelayMs: 60_000, transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }) },
    );
    for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
    await tracer.shutdown();
    const per = bodies.map((b) => allSpans(decodeProtobuf(b)).length);
    assert.ok(per.every((k) => k <= max), `max ${max}: ${per.join(',')}`);
    assert.equal(per.reduce((a, b) => a + b, 0), n);
    assert.ok(sessions >= bodies.length, 'the live resource was read for every body');
  }
});
