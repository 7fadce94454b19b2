// Long strings and large arrays: a value passes whole when the span can hold
// it, and is otherwise dropped and counted in droppedAttributesCount, never
// cut on the way; a name too long for its span is cut between characters.
// Spans over the real Wasm, bodies decoded by the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { setAttr } from '../../src/attributes.js';
import { prefix } from '../helpers/text.js';

/** Record bytes one span holds (MAX_SPAN_BYTES), and a record header. */
const SPAN_BYTES = 56 * 1024;
const HEADER = 8;

function decodeAll(bodies: Uint8Array[], json: boolean): FlatSpan[] {
  return bodies.flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
}

function random(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

const bytes = (s: string): number => Buffer.byteLength(s);
const varint = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3);
/** A KeyValue's stored size: protobuf, or our OTLP/JSON (", \ escaped; controls as \u00XX). */
function kvSize(key: string, value: string, json: boolean): number {
  if (!json) {
    const k = bytes(key);
    const v = bytes(value);
    const any = 1 + varint(v) + v;
    return 2 + varint(k) + k + varint(any) + any;
  }
  const esc = (s: string): number => bytes(s) + [...s].reduce((n, c) => n + (c === '"' || c === '\\' ? 1 : c < ' ' ? 5 : 0), 0);
  return '{"key":"",",value":{"stringValue":""}}'.length + esc(key) + esc(value);
}


const ALPHABET = ['a', 'é', '€', '😀', '"', '\n', 'z'];

test('string values up to the length limit (16384) pass whole, multi-byte characters included', async () => {
  const rnd = random(5);
  const text = (n: number): string => {
    let s = '';
    while (s.length < n) s += ALPHABET[rnd(ALPHABET.length)];
    return s;
  };
  for (let round = 0; round < 24; round++) {
    const json = round % 2 === 1;
    const limit = round < 8 ? 16384 : 1 + rnd(16384);
    const t = await coreTracer({ json, valueLimit: limit });
    const want = new Map<string, { value: string; kept: boolean }>();
    for (let i = 0; i < 6; i++) {
      const length = Math.max(0, limit - 3 + rnd(7) + (i === 5 ? rnd(20000) : 0));
      const value = text(length);
      const name = `r${round}s${i}`;
      const cut = prefix(value, limit);
      t.tracer.startSpan(name, { attributes: { v: value } }).end();
      want.set(name, { value: cut, kept: HEADER + kvSize('v', cut, json) <= SPAN_BYTES });
    }
    for (const span of decodeAll(t.drain(), json)) {
      const w = want.get(span.name)!;
      const where = `round ${round}, limit ${limit}, ${span.name}, ${bytes(w.value)} B`;
      assert.deepEqual(attrs(span.attributes), w.kept ? { v: w.value } : {}, where);
      assert.equal(span.droppedAttributesCount, w.kept ? 0 : 1, where);
      want.delete(span.name);
    }
    assert.equal(want.size, 0);
  }
});

test('names and resource values are not cut below the span size; past it, names are cut between characters and values dropped and counted', async () => {
  const rnd = random(9);
  for (let round = 0; round < 16; round++) {
    const json = round % 2 === 1;
    const t = await coreTracer({ json });
    const unit = ALPHABET[rnd(4)]!; // no escapes: the byte size alone decides
    const size = 40_000 + rnd(24_000); // bytes, around the span's 57,344
    const long = unit.repeat(Math.ceil(size / bytes(unit)));
    const s = t.tracer.startSpan(long);
    s.addEvent('e' + long);
    s.end();
    const [span] = decodeAll(t.drain(), json);
    const where = `round ${round}: a name of ${bytes(long)} B`;
    assert.ok(span, where);
    if (bytes(long) <= SPAN_BYTES - HEADER) assert.equal(span.name, long, where);
    else {
      assert.ok(long.startsWith(span.name) && !span.name.includes('\ufffd'), where);
      assert.ok(bytes(span.name) > SPAN_BYTES - HEADER - 4 && bytes(span.name) <= SPAN_BYTES - HEADER, `${where}: ${bytes(span.name)} B kept`);
    }
    // The event comes after the name: it gets what room is left, whole characters only.
    const event = span.events[0]?.name ?? '';
    assert.ok(('e' + long).startsWith(event) && !event.includes('\ufffd'), where);
  }
  for (let round = 0; round < 12; round++) {
    const json = round % 2 === 1;
    const size = round < 2 ? 20_000 : 48_000 + rnd(16_000);
    const value = '€'.repeat(Math.ceil(size / 3));
    const t = await coreTracer({ json });
    setAttr(t.core, 0, 'res.long', value, 0);
    t.tracer.startSpan('s').end();
    const [span] = decodeAll(t.drain(), json);
    const where = `resource value of ${bytes(value)} B`;
    const got = span!.resource['res.long'];
    // Whole, or dropped and counted: never cut. Other resource attributes take a few hundred bytes.
    if (got === undefined) assert.ok(HEADER + kvSize('res.long', value, json) > SPAN_BYTES - 2000, where);
    else assert.equal(got, value, where);
    const body = (t.tracer.startSpan('probe').end(), t.drain()[0]!);
    const resource = (json ? decodeJson(body) : decodeProtobuf(body)).resourceSpans[0]!.resource;
    assert.equal(resource.droppedAttributesCount, got === undefined ? 1 : 0, where);
  }
});

test('arrays pass whole when the span holds them, else are dropped and counted, never cut', async () => {
  const rnd = random(17);
  for (let round = 0; round < 30; round++) {
    const json = round % 2 === 1;
    const t = await coreTracer({ json });
    const kind = round % 3;
    const n = kind === 2 ? 1 + rnd(12) : 1 + rnd(12_000);
    const value: unknown[] = kind === 0 ? Array.from({ length: n }, (_, i) => i * 7)
      : kind === 1 ? Array.from({ length: n }, (_, i) => i % 3 === 0)
      : Array.from({ length: n }, () => '€'.repeat(rnd(6000)));
    const s = t.tracer.startSpan('arrays');
    s.setAttribute('list', value as string[]);
    s.setAttribute('after', 1);
    s.end();
    const [span] = decodeAll(t.drain(), json);
    const got = attrs(span!.attributes);
    const where = `round ${round}: ${n} elements of kind ${kind}`;
    assert.equal(got.after, '1', where);
    const expected = value.map((v) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? prefix(v, 4096) : v)); // the value length limit
    if ('list' in got) assert.deepEqual(got.list, expected, where);
    assert.equal(span!.droppedAttributesCount, 'list' in got ? 0 : 1, where);
    // Small ones always fit.
    if (kind === 0 ? n <= 3000 : kind === 1 ? n <= 8000 : n <= 3) assert.ok('list' in got, where);
  }
});
