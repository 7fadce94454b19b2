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

test('every NaN in a number array is a NaN on the wire, whatever its bits (one with all bits set is not taken for a null)', async () => {
  const odd = new Float64Array(new BigUint64Array([~0n, 0x7ff8000000000001n, 0xfff8000000000000n, 0x7ff0000000000001n]).buffer);
  const nans = [odd[0]!, odd[1]!, odd[2]!, odd[3]!, NaN, 0 / 0];
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const s = t.tracer.startSpan('nan');
    // An array of doubles only (V8 keeps a NaN's bits there), and one with a null too.
    s.setAttribute('n', [1.5, odd[0]!, odd[1]!, odd[2]!, odd[3]!, NaN, 0 / 0]);
    s.setAttribute('m', [1.5, odd[0]!, odd[1]!, odd[2]!, odd[3]!, NaN, 0 / 0, null] as AttributeValue);
    s.end();
    const [span] = t.drain().flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
    for (const [a, kv] of span!.attributes.entries()) {
      const values = (kv.value as { arrayValue: { values: Array<{ doubleValue?: number }> } }).arrayValue.values;
      assert.equal(values.length, nans.length + 1 + a);
      assert.equal(values[0]!.doubleValue, 1.5);
      for (let i = 1; i <= nans.length; i++) assert.ok(Number.isNaN(values[i]!.doubleValue), `${json ? 'JSON' : 'protobuf'} ${kv.key}[${i}]: ${JSON.stringify(values[i])}`);
      if (a === 1) assert.deepEqual(values[nans.length + 1], {}, 'the null stays a null');
    }
    assert.equal(span!.attributes.length, 2);
  }
});
