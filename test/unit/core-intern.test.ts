// The intern table (names and keys) is bounded and never emptied: once it is
// full, names and keys it cannot take are written into the span itself, and
// no attribute is lost for it. Spans built through the tracer over the real
// Wasm, bodies decoded by the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer, type CoreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';

function decodeAll(bodies: Uint8Array[], json: boolean): FlatSpan[] {
  return bodies.flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
}

function random(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

const ALPHABET = ['a', 'q', '.', '_', '7', 'é', '✓', '😀', '"', '\\'];

/** Spans with fresh names and keys, some repeated (replaced) and some over the count limit, against a model. */
async function fill(t: CoreTracer, json: boolean, rnd: (n: number) => number, round: number, limit: number): Promise<number> {
  const text = (n: number): string => Array.from({ length: n }, () => ALPHABET[rnd(ALPHABET.length)]).join('');
  const want = new Map<string, { attributes: Record<string, unknown>; dropped: number; event: Record<string, unknown> }>();
  let keys = 0;
  for (let i = 0; i < 40; i++) {
    const name = `GET /users/${round}/${i}/${text(rnd(8))}`;
    const s = t.tracer.startSpan(name);
    const model: Record<string, unknown> = {};
    let dropped = 0;
    const sets = 1 + rnd(limit + 20);
    for (let j = 0; j < sets; j++) {
      const known = Object.keys(model);
      // a third of the sets replace a key set before (the last value wins)
      const key = known.length && rnd(3) === 0 ? known[rnd(known.length)]! : `k.${round}.${i}.${j}.${text(rnd(rnd(4) === 0 ? 200 : 12))}`;
      const value = rnd(2) ? text(rnd(30)) : rnd(1000);
      s.setAttribute(key, value);
      if (key in model || known.length < limit) model[key] = typeof value === 'number' ? String(value) : value;
      else dropped++;
      keys++;
    }
    const event = { [`ev.${round}.${i}.${text(5)}`]: true, [`ev2.${round}.${i}`]: text(3) };
    s.addEvent(`event ${round}/${i}`, event);
    s.end();
    want.set(name, { attributes: model, dropped, event });
  }
  const spans = decodeAll(t.drain(), json);
  assert.equal(spans.length, want.size);
  for (const span of spans) {
    const w = want.get(span.name);
    assert.ok(w, `unexpected span ${span.name}`);
    assert.deepEqual(attrs(span.attributes), w.attributes, span.name);
    assert.equal(span.attributes.length, Object.keys(w.attributes).length, `${span.name}: each key once`);
    assert.equal(span.droppedAttributesCount, w.dropped, span.name);
    assert.deepEqual(attrs(span.events[0]!.attributes), w.event, span.name);
    want.delete(span.name);
  }
  return keys;
}

test('tens of thousands of distinct names and keys: every attribute arrives, replacements and limits hold', async () => {
  for (const json of [false, true]) {
    const rnd = random(json ? 99 : 7);
    const limit = 48;
    const t = await coreTracer({ json, limits: [limit, 128, 128, 128] });
    let keys = 0;
    for (let round = 0; round < 25; round++) keys += await fill(t, json, rnd, round, limit);
    assert.ok(keys > 20_000, `${keys} keys set`);
    assert.ok(t.core.source.stats().droppedData === 0);
    // A key never seen before, on a span named anew, after all that.
    const s = t.tracer.startSpan('checkout');
    s.setAttribute('http.response.status_code', 200);
    s.setAttribute('cart.items', 3);
    s.end();
    const [span] = decodeAll(t.drain(), json);
    assert.deepEqual(attrs(span!.attributes), { 'http.response.status_code': '200', 'cart.items': '3' });
  }
});

test('a server naming spans after raw paths keeps room for attribute keys', async () => {
  const t = await coreTracer();
  let n = 0;
  for (let i = 0; i < 3000; i++) {
    t.tracer.startSpan(`GET /users/${i}`).end();
    if (i % 500 === 499) n += decodeAll(t.drain(), false).length;
  }
  assert.equal(n, 3000);
  const s = t.tracer.startSpan('checkout');
  s.setAttribute('cart.items', 3);
  s.end();
  decodeAll(t.drain(), false);
  // The key was interned: the names left a share of the table to keys.
  assert.ok(t.core.id('cart.items', true) >= 0);
});

test('names and keys in orders that repeat, shift and collide each get their own id', async () => {
  // Routes: a name and its keys in a fixed order, mostly repeated as is (what the
  // id cache follows), sometimes changed; 400 keys, more than the cache has entries.
  for (const seed of [1, 2, 3]) {
    const rnd = random(seed);
    const t = await coreTracer();
    const vocabulary = Array.from({ length: 400 }, (_, i) => `key.${i}.${rnd(1000)}`);
    const routes = Array.from({ length: 30 }, (_, i) => ({ name: `route ${i % 20}`, keys: Array.from({ length: 1 + rnd(12) }, () => vocabulary[rnd(vocabulary.length)]!) }));
    for (let batch = 0; batch < 20; batch++) {
      const want: { name: string; attributes: Record<string, unknown> }[] = [];
      for (let i = 0; i < 100; i++) {
        const route = routes[rnd(routes.length)]!;
        const keys = [...route.keys];
        if (rnd(4) === 0) keys.splice(rnd(keys.length), 1); // one left out
        if (rnd(4) === 0) keys.splice(rnd(keys.length + 1), 0, vocabulary[rnd(vocabulary.length)]!); // one more
        if (rnd(4) === 0) keys.reverse();
        const name = rnd(8) ? route.name : vocabulary[rnd(vocabulary.length)]!;
        const s = t.tracer.startSpan(name, { attributes: { order: i } });
        const model: Record<string, unknown> = { order: String(i) };
        for (const key of keys) {
          const value = rnd(2) ? key.toUpperCase() : rnd(100);
          s.setAttribute(key, value);
          model[key] = String(value);
        }
        s.end();
        want.push({ name, attributes: model });
      }
      const spans = decodeAll(t.drain(), false).sort((a, b) => Number(attrs(a.attributes).order) - Number(attrs(b.attributes).order));
      assert.deepEqual(spans.map((s) => ({ name: s.name, attributes: attrs(s.attributes) })), want);
    }
  }
});
