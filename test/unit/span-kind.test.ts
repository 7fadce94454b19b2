// A span's kind is checked as the caller gave it: an integer number 0..4, else
// INTERNAL, through startSpan and startActiveSpan, in both encodings. Checked
// after Wasm's i32 conversion, 2**32 + 4 came out CONSUMER, 2.5 CLIENT, '3'
// PRODUCER, true SERVER; a BigInt, a Symbol or a throwing valueOf lost the span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeJson, decodeProtobuf } from '../helpers/otlp.js';
import { kindCases } from '../helpers/kinds.js';
import type { SpanKind } from '../../src/types.js';

const CASES = kindCases(20261206, 400);

for (const json of [false, true]) {
  test(`${json ? 'JSON' : 'protobuf'}: ${CASES.length} generated kinds, valid and not, each exported as given or INTERNAL`, async () => {
    const t = await coreTracer({ json });
    const exported = new Map<string, number>();
    const drain = (): void => {
      for (const b of t.drain()) for (const s of allSpans(json ? decodeJson(b) : decodeProtobuf(b))) exported.set(s.name, s.kind);
    };
    for (const [i, c] of CASES.entries()) {
      const kind = new Function(`return (${c.src});`)() as SpanKind;
      t.tracer.startSpan(`s${i}`, { kind }).end();
      t.tracer.startActiveSpan(`a${i}`, { kind }, (span) => span.end());
      if (i % 50 === 49) drain();
    }
    drain();
    for (const [i, c] of CASES.entries()) {
      assert.deepEqual([exported.get(`s${i}`), exported.get(`a${i}`)], [c.otlp, c.otlp], `kind ${c.src}`);
    }
    assert.equal(t.tracer.stats().droppedSpans, 0);
  });
}
