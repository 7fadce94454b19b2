// Array attributes with null (or undefined) elements: the specification keeps
// them as they are, which OTLP writes as an empty AnyValue. Spans over the
// real Wasm, bodies decoded by the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeJson, decodeProtobuf, type OtlpAnyValue } from '../helpers/otlp.js';
import type { AttributeValue } from '../../src/types.js';

function random(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

/** What OTLP should carry for one element. */
function expected(v: unknown, ints: boolean): OtlpAnyValue {
  if (v == null) return {} as OtlpAnyValue;
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return ints ? { intValue: String(v) } : { doubleValue: v as number };
}

test('null and undefined array elements are kept as empty values, in every array kind', async () => {
  const rnd = random(21);
  const element = [
    () => ['', 'a', 'ünï', '😀'.repeat(rnd(4)), '"\\'][rnd(5)],
    () => rnd(2) === 0,
    () => rnd(2000) - 1000,
    () => (rnd(2000) - 1000) / 8,
  ];
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const want = new Map<string, OtlpAnyValue[]>();
    const s = t.tracer.startSpan('arrays');
    for (let i = 0; i < 100; i++) {
      const kind = i % 5; // 4: nothing but nulls
      const values = Array.from({ length: rnd(8) }, () => (kind === 4 || rnd(3) === 0 ? [null, undefined][rnd(2)] : element[kind]!()));
      const ints = values.every((v) => typeof v !== 'number' || Number.isInteger(v)); // numbers all integral: an int array
      s.setAttribute(`a${i}`, values as AttributeValue);
      want.set(`a${i}`, values.map((v) => expected(v, ints)));
    }
    s.end();
    const [span] = t.drain().flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
    assert.equal(span!.droppedAttributesCount, 0);
    for (const kv of span!.attributes) {
      assert.deepEqual((kv.value as { arrayValue: { values: OtlpAnyValue[] } }).arrayValue.values, want.get(kv.key), `${kv.key} (${json ? 'JSON' : 'protobuf'})`);
      want.delete(kv.key);
    }
    assert.deepEqual([...want.keys()], [], 'every array arrives');
  }
});
