// A span keeps its id words split (low 30 bits, and the top bits of all six
// in one field: small integers in Chromium). Whatever the words' top bits,
// its spanContext and the parent ids its children carry must be the ids it
// was exported with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeProtobuf } from '../helpers/otlp.js';

test('spanContext and children carry the exported ids, for random ids of every top-bit pattern', async () => {
  const tops = new Set<string>();
  for (let seed = 1; seed <= 4; seed++) {
    const t = await coreTracer({ seed });
    const contexts = new Map<number, { traceId: string; spanId: string; parent: number }>();
    for (let i = 0; i < 150; i++) {
      const parent = t.tracer.startSpan(`p${i}`, { attributes: { i } });
      const child = t.tracer.startSpan(`c${i}`, { attributes: { i: 1000 + i } }, parent);
      contexts.set(i, { ...parent.spanContext(), parent: -1 });
      contexts.set(1000 + i, { ...child.spanContext(), parent: i });
      child.end();
      parent.end();
      const ctx = parent.spanContext();
      for (let w = 0; w < 24; w += 8) tops.add(`${w}:${Number.parseInt(ctx.traceId.slice(w, w + 2), 16) & 0xc0}`);
    }
    const spans = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
    assert.equal(spans.length, 300);
    for (const s of spans) {
      const c = contexts.get(Number(attrs(s.attributes).i))!;
      assert.equal(s.traceId, c.traceId, `span ${s.name}: trace id`);
      assert.equal(s.spanId, c.spanId, `span ${s.name}: span id`);
      assert.equal(s.parentSpanId, c.parent < 0 ? '' : contexts.get(c.parent)!.spanId, `span ${s.name}: parent span id`);
      if (c.parent >= 0) assert.equal(s.traceId, contexts.get(c.parent)!.traceId, `span ${s.name}: its parent's trace`);
    }
  }
  assert.ok(tops.size >= 8, `top bits seen: ${[...tops].join(' ')}`);
});
