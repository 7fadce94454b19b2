// Past the event count limit new events are dropped and counted (as
// OpenTelemetry Java; OpenTelemetry JS drops the oldest instead): an
// exception recorded then is not exported as an event, but it still marks
// the trace failed, so keepErrors keeps it, and an ERROR status still goes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('past the event limit: the first events kept, the rest counted; a late exception or ERROR still keeps the unsampled trace', async () => {
  const r = prng(7777);
  for (let round = 0; round < 6; round++) {
    const limit = 1 + Math.floor(r() * 40);
    const bodies: Uint8Array[] = [];
    const tracer = await init({
      serviceName: 'event-limit', wasm: protoWasm, storage: null, compression: 'none', env: {},
      sampler: { ratio: 0, keepErrors: true }, limits: { events: limit },
      transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }),
    });
    const cases = Array.from({ length: 8 }, (_, i) => ({
      name: `s-${round}-${i}`,
      events: limit + 1 + Math.floor(r() * 3 * limit),
      // how it fails: an exception past the limit, an ERROR status too, or not at all (the control)
      fail: (['exception', 'both', 'none'] as const)[i % 3]!,
    }));
    for (const c of cases) {
      const span = tracer.startSpan(c.name);
      for (let e = 0; e < c.events; e++) span.addEvent(`retry ${e}`, { attempt: e });
      if (c.fail !== 'none') span.recordException(new Error(`final failure ${c.name}`));
      if (c.fail === 'both') span.setStatus({ code: 2, message: 'gave up' });
      span.end();
    }
    await tracer.shutdown();
    const got = new Map<string, FlatSpan>(bodies.flatMap((b) => allSpans(decodeProtobuf(b))).map((s) => [s.name, s]));
    for (const c of cases) {
      const s = got.get(c.name);
      if (c.fail === 'none') {
        assert.equal(s, undefined, `${c.name}: unsampled and not failed, so not kept`);
        continue;
      }
      assert.ok(s, `${c.name} (${c.fail}, ${c.events} events, limit ${limit}): kept by keepErrors`);
      assert.deepEqual(s.events.map((e) => e.name), Array.from({ length: limit }, (_, e) => `retry ${e}`));
      assert.equal(s.droppedEventsCount, c.events + 1 - limit);
      assert.deepEqual([s.status.code, s.status.message], c.fail === 'both' ? [2, 'gave up'] : [0, '']);
    }
  }
});
