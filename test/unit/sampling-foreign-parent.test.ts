// Tail sampling with slowMs: a span whose parent is not a span of this tracer
// is a local root, however its context is marked. A spanContext() copied from
// another thread or process (postMessage, JSON: isRemote false), a context
// built by hand (isRemote absent, as OpenTelemetry's may be) or an extracted
// one (isRemote true): slow, the trace is kept; fast, the head decision
// (ratio 0) drops it. Since 052e1ec only isRemote: true counted, and slow
// work under the other two was dropped. The exported parent-is-remote flag
// still says what the context said. Virtual clock, real collector,
// independent decoder; seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { setClock } from '../../src/clock.js';
import { startCollector } from '../helpers/collector.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('a slow span under a foreign parent is kept whatever its isRemote mark; a fast one follows the head decision (generated)', async (t) => {
  let clock = 0;
  setClock(() => clock, 1_760_000_000_000);
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const collector = await startCollector();
  t.after(() => collector.close());
  const r = prng(0x5107);
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('').replace(/^0/, '1');
  const slowMs = 50;
  const tracer = await init({
    serviceName: 'foreign', wasm: protoWasm, endpoint: collector.url, storage: null, compression: 'none', scheduledDelayMs: 60_000,
    sampler: { ratio: 0, keepErrors: false, slowMs, maxHoldMs: 1_000 },
  });
  const MARKS = ['true', 'false', 'absent', 'json copy', 'structured clone'] as const;
  const cases = Array.from({ length: 60 }, (_, i) => ({ name: `c${i}`, mark: MARKS[i % MARKS.length]!, slow: r() < 0.5, traceId: hex(32), spanId: hex(16) }));
  const spans = cases.map((c) => {
    const base = { traceId: c.traceId, spanId: c.spanId, traceFlags: 0 };
    const copied = { ...base, isRemote: false }; // what another tracer's spanContext() gives
    const parent =
      c.mark === 'true' ? { ...base, isRemote: true }
      : c.mark === 'false' ? copied
      : c.mark === 'absent' ? base
      : c.mark === 'json copy' ? JSON.parse(JSON.stringify(copied))
      : structuredClone(copied);
    return tracer.startSpan(c.name, {}, parent);
  });
  clock += slowMs / 2;
  cases.forEach((c, i) => !c.slow && spans[i]!.end());
  clock += slowMs * 2;
  cases.forEach((c, i) => c.slow && spans[i]!.end());
  clock += 2_000; // past maxHoldMs: every entry decided
  await tracer.flush();
  await tracer.flush();
  const got = new Map(collector.spans().map((s) => [s.name, s]));
  assert.ok(cases.some((c) => c.slow) && cases.some((c) => !c.slow), 'both kinds generated');
  const wrong = cases.filter((c) => got.has(c.name) !== c.slow).map((c) => `${c.name} (${c.mark}, ${c.slow ? 'slow' : 'fast'}): ${got.has(c.name) ? 'exported' : 'dropped'}`);
  assert.deepEqual(wrong, []);
  for (const c of cases.filter((x) => x.slow)) {
    const s = got.get(c.name)!;
    assert.equal(s.parentSpanId, c.spanId, c.name);
    assert.equal(s.flags & 0x300, c.mark === 'true' ? 0x300 : 0x100, `${c.name} (${c.mark}): the exported parent-is-remote flag is the context's`);
  }
  await tracer.shutdown();
});
