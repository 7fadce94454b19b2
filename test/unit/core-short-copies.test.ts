// Short byte copies inside the Wasm (out.ts copyBytes: names, keys and
// values up to 32 bytes are copied as overlapping words, longer ones by
// memory.copy) keep every byte in place: each length from 1 to 40, with
// bytes that differ by position, through both encoders and the reference
// decoders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf } from '../helpers/otlp.js';

/** `n` characters, none the same as its neighbours, starting at `from` in the alphabet. */
const text = (n: number, from: number): string => {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[(from + i * 7) % abc.length];
  return s;
};

for (const json of [false, true]) {
  test(`${json ? 'JSON' : 'protobuf'}: span names, keys and string values of 1 to 40 bytes arrive byte for byte`, async () => {
    const t = await coreTracer({ json, seed: 3 });
    const want = new Map<string, Record<string, string>>();
    for (let n = 1; n <= 40; n++) {
      const name = `${n}:${text(n, n)}`.slice(0, n);
      const span = t.tracer.startSpan(name);
      const a: Record<string, string> = { [text(n, n + 1)]: text(n, n + 2), [`v${n}`]: text(n, n + 3) };
      for (const [k, v] of Object.entries(a)) span.setAttribute(k, v);
      span.end();
      want.set(name, a);
    }
    const spans = t.drain().flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
    assert.equal(spans.length, 40);
    for (const s of spans) assert.deepEqual(attrs(s.attributes), want.get(s.name), `span ${s.name}`);
    assert.deepEqual(new Set(spans.map((s) => s.name)), new Set(want.keys()));
  });
}
