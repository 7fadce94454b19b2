// The hot path end to end: spans built through the tracer API, encoded in
// Wasm, decoded by the independent OTLP decoder with every field checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { setClock, timeOrigin } from '../../src/clock.js';
import { SpanKind, SpanStatusCode } from '../../src/types.js';
import { prefix } from '../helpers/text.js';
import { VERSION } from '../../src/version.js';

const ORIGIN = 1_750_000_000_000.25;
let clock = 0;
setClock(() => clock, ORIGIN);
const ns = (ms: number) => String(BigInt(Math.floor(ORIGIN)) * 1_000_000n + BigInt(Math.round((ORIGIN % 1) * 1e6)) + BigInt(Math.round(ms * 1e6)));

function decodeAll(bodies: Uint8Array[], json = false): FlatSpan[] {
  return bodies.flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));
}

/** The same work in both modules: identical seeds and clock give identical spans. */
async function buildRichTrace(json: boolean) {
  clock = 10;
  const t = await coreTracer({ json, seed: 7 });
  const remote = t.tracer.extract({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
  assert.ok(remote);
  const root = t.tracer.startSpan('checkout', { kind: SpanKind.SERVER, attributes: { 'cart.items': 3, 'cart.total': 12.5, 'user.vip': true, 'user.name': 'zoë "quoted" \\ \n ✓' } }, remote);
  root.setAttribute('tags', ['a', 'b', 'ünï']);
  root.setAttribute('ints', [1, -2, 3_000_000_000]);
  root.setAttribute('doubles', [1.5, -0.25]);
  root.setAttribute('flags', [true, false]);
  root.setAttribute('empty', []);
  root.setAttribute('big', -9_007_199_254_740_991);
  root.setAttribute('cart.items', 4); // overwrites
  clock = 11.5;
  root.addEvent('cache.miss', { 'cache.key': 'k1', 'cache.size': 42 });
  root.addEvent('plain', 12.25 + 0); // a performance.now()-style time
  const child = t.tracer.startSpan('db.query', { kind: SpanKind.CLIENT, links: [{ context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, traceState: 'a=b' }, attributes: { 'link.why': 'retry' } }] }, root);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
  child.recordException({ name: 'DbError', message: 'boom', stack: 'DbError: boom\n    at query (db.js:1:1)' });
  clock = 13;
  child.end();
  child.updateName('ignored after end');
  root.setStatus({ code: SpanStatusCode.OK });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'ignored: OK is final' });
  root.updateName('checkout POST');
  clock = 20;
  root.end();
  return { t, remote, root, child };
}

test('protobuf: every field decodes with the reference decoder', async () => {
  const { t, root, child } = await buildRichTrace(false);
  const bodies = t.drain();
  assert.equal(bodies.length, 1);
  const req = decodeProtobuf(bodies[0]!);
  const rs = req.resourceSpans[0]!;
  assert.deepEqual(attrs(rs.resource.attributes), {
    'service.name': 'test-service', 'telemetry.sdk.name': 'wasmtrace', 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.version': VERSION,
  });
  assert.equal(rs.scopeSpans[0]!.scope.name, 'wasmtrace');
  assert.equal(rs.scopeSpans[0]!.scope.version, VERSION);
  const spans = rs.scopeSpans[0]!.spans;
  assert.equal(spans.length, 2);
  const [c, r] = spans as [typeof spans[0], typeof spans[0]];
  // the child ended first, so it is encoded first
  assert.equal(c.name, 'db.query');
  assert.equal(r.name, 'checkout POST');
  assert.equal(r.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(r.parentSpanId, 'b7ad6b7169203331');
  assert.equal(r.traceState, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  assert.equal(r.flags, 0x301, 'sampled, parent is remote');
  assert.equal(r.spanId, root.spanContext().spanId);
  assert.equal(r.kind, 2);
  assert.equal(r.startTimeUnixNano, ns(10));
  assert.equal(r.endTimeUnixNano, ns(20));
  assert.deepEqual(attrs(r.attributes), {
    'cart.items': '4', 'cart.total': 12.5, 'user.vip': true, 'user.name': 'zoë "quoted" \\ \n ✓',
    tags: ['a', 'b', 'ünï'], ints: ['1', '-2', '3000000000'], doubles: [1.5, -0.25], flags: [true, false], empty: [], big: '-9007199254740991',
  });
  assert.equal(r.events.length, 2);
  assert.equal(r.events[0]!.name, 'cache.miss');
  assert.equal(r.events[0]!.timeUnixNano, ns(11.5));
  assert.deepEqual(attrs(r.events[0]!.attributes), { 'cache.key': 'k1', 'cache.size': '42' });
  assert.equal(r.events[1]!.timeUnixNano, ns(12.25));
  assert.deepEqual(r.status, { code: 1, message: '' });
  assert.equal(c.parentSpanId, r.spanId);
  assert.equal(c.traceId, r.traceId);
  assert.equal(c.flags, 0x101, 'sampled, local parent');
  assert.equal(c.kind, 3);
  assert.equal(c.traceState, r.traceState);
  assert.deepEqual(c.status, { code: 2, message: 'deadlock' });
  assert.equal(c.links.length, 1);
  assert.equal(c.links[0]!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(c.links[0]!.spanId, '00f067aa0ba902b7');
  assert.equal(c.links[0]!.traceState, 'a=b');
  assert.deepEqual(attrs(c.links[0]!.attributes), { 'link.why': 'retry' });
  const ex = c.events.find((e) => e.name === 'exception');
  assert.ok(ex);
  const exAttrs = attrs(ex.attributes);
  assert.equal(exAttrs['exception.type'], 'DbError');
  assert.equal(exAttrs['exception.message'], 'boom');
  assert.equal(exAttrs['exception.stacktrace'], 'DbError: boom\n    at query (db.js:1:1)');
  assert.equal(child.spanContext().spanId, c.spanId);
  assert.equal(root.isRecording(), false, 'ended spans stop recording');
});

test('JSON module output equals the protobuf output field by field', async () => {
  const pb = await buildRichTrace(false);
  const js = await buildRichTrace(true);
  const pbReq = decodeProtobuf(pb.t.drain()[0]!);
  const jsBody = js.t.drain()[0]!;
  const text = new TextDecoder().decode(jsBody);
  assert.match(text, /"startTimeUnixNano":"\d+"/, '64-bit integers are strings');
  assert.match(text, /"traceId":"[0-9a-f]{32}"/, 'ids are hex');
  assert.deepStrictEqual(decodeJson(jsBody), pbReq);
});

test('ids are unique and non-zero over 10^6 spans', async () => {
  const t = await coreTracer({ seed: 99 });
  const spanIds = new Set<string>();
  const traceIds = new Set<string>();
  for (let i = 0; i < 1_000_000; i++) {
    const s = t.tracer.startSpan('s');
    const ctx = s.spanContext();
    spanIds.add(ctx.spanId);
    traceIds.add(ctx.traceId);
    s.end();
    if (i % 2000 === 1999) t.drain();
  }
  assert.equal(spanIds.size, 1_000_000);
  assert.equal(traceIds.size, 1_000_000);
  assert.ok(!spanIds.has('0000000000000000'));
  assert.ok(!traceIds.has('00000000000000000000000000000000'));
});

test('parent/child links through nested and async startActiveSpan', async () => {
  const t = await coreTracer();
  const tr = t.tracer;
  let inner: ReturnType<typeof tr.startSpan> | undefined;
  let fetchLike: ReturnType<typeof tr.startSpan> | undefined;
  let afterAwait: ReturnType<typeof tr.startSpan> | undefined;
  const outer = await tr.startActiveSpan('outer', async (o) => {
    tr.startActiveSpan('inner', (i) => {
      inner = i;
      assert.equal(tr.getActiveSpan(), i);
      tr.startSpan('leaf').end();
      i.end();
    });
    assert.equal(tr.getActiveSpan(), o, 'restored after the nested callback');
    // Work started synchronously inside an async callback gets the right parent.
    const pending = tr.startActiveSpan('load', async (l) => {
      fetchLike = tr.startSpan('fetch');
      await new Promise((r) => setTimeout(r, 1));
      fetchLike.end();
      l.end();
    });
    await pending;
    afterAwait = tr.startSpan('after-await', {}, o);
    afterAwait.end();
    o.end();
    return o;
  });
  assert.equal(tr.getActiveSpan(), undefined);
  const spans = decodeAll(t.drain());
  const byName = new Map(spans.map((s) => [s.name, s]));
  const id = (n: string) => byName.get(n)!.spanId;
  assert.equal(byName.get('outer')!.parentSpanId, '');
  assert.equal(byName.get('inner')!.parentSpanId, id('outer'));
  assert.equal(byName.get('leaf')!.parentSpanId, id('inner'));
  assert.equal(byName.get('load')!.parentSpanId, id('outer'));
  assert.equal(byName.get('fetch')!.parentSpanId, id('load'));
  assert.equal(byName.get('after-await')!.parentSpanId, id('outer'));
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
  assert.equal(outer.spanContext().spanId, id('outer'));
  assert.equal(inner!.spanContext().traceId, outer.spanContext().traceId);
});

test('OpenTelemetry limits: attributes, events and links are capped and counted', async () => {
  const t = await coreTracer({ limits: [128, 128, 128, 2] });
  const s = t.tracer.startSpan('limits');
  for (let i = 0; i < 200; i++) s.setAttribute(`k${i}`, i);
  for (let i = 0; i < 130; i++) s.addEvent('e', { a: 1, b: 2, c: 3 });
  for (let i = 0; i < 129; i++) s.addLink({ context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 } });
  s.end();
  const [span] = decodeAll(t.drain());
  assert.ok(span);
  assert.equal(span.attributes.length, 128);
  assert.equal(span.droppedAttributesCount, 72);
  assert.equal(span.events.length, 128);
  assert.equal(span.droppedEventsCount, 2);
  assert.equal(span.events[0]!.attributes.length, 2);
  assert.equal(span.events[0]!.droppedAttributesCount, 1);
  assert.equal(span.links.length, 128);
  assert.equal(span.droppedLinksCount, 1);
});

test('dropped counts past 65535 stop there, never wrap to a small count (a span dropping in a loop), in both encodings', async () => {
  const over = 65_536 + 7; // a 16-bit count would wrap to 7
  const link = { context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 } };
  const many = Object.fromEntries(Array.from({ length: over + 1 }, (_, i) => [`a${i}`, i]));
  for (const json of [false, true]) {
    const t = await coreTracer({ json, limits: [1, 1, 1, 1] });
    const s = t.tracer.startSpan('loop');
    s.addEvent('first', many); // 1 kept, `over` dropped
    for (let i = 0; i <= over; i++) {
      s.setAttribute(`k${i}`, i);
      s.addEvent('tick');
      s.addLink(link);
    }
    s.end();
    const [span] = decodeAll(t.drain(), json);
    const where = json ? 'JSON' : 'protobuf';
    assert.equal(span!.attributes.length, 1, where);
    assert.equal(span!.droppedAttributesCount, 0xffff, where);
    assert.equal(span!.droppedEventsCount, 0xffff, where);
    assert.equal(span!.droppedLinksCount, 0xffff, where);
    assert.equal(span!.events[0]!.attributes.length, 1, where);
    assert.equal(span!.events[0]!.droppedAttributesCount, 0xffff, where);
  }
});


test('limits by generated spans, each overflowing any subset of attributes, events, links and event attributes, in both encodings', async () => {
  let seed = 178;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const link = { context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 } };
  const alone = { attributes: 0, events: 0, links: 0 };
  for (let round = 0; round < 40; round++) {
    const json = round % 2 === 1;
    const limits = Array.from({ length: 4 }, () => 1 + rnd(6));
    const [a, e, l, n] = limits as [number, number, number, number];
    const t = await coreTracer({ json, limits });
    // Each count below, at or over its limit; the subset over it differs span to span.
    const count = (limit: number) => [limit - 1 - rnd(limit), limit, limit + 1 + rnd(5)][rnd(3)]!;
    const cases = Array.from({ length: 12 }, () => ({ attributes: count(a), events: count(e), links: count(l), eventAttributes: count(n) }));
    for (const c of cases) {
      const s = t.tracer.startSpan('limits');
      for (let i = 0; i < c.attributes; i++) s.setAttribute(`k${i}`, i);
      for (let i = 0; i < c.events; i++) s.addEvent('e', Object.fromEntries(Array.from({ length: c.eventAttributes }, (_, j) => [`a${j}`, j])));
      for (let i = 0; i < c.links; i++) s.addLink({ ...link, attributes: Object.fromEntries(Array.from({ length: c.eventAttributes }, (_, j) => [`l${j}`, j])) });
      s.end();
    }
    const spans = decodeAll(t.drain(), json);
    assert.equal(spans.length, cases.length);
    for (const [i, c] of cases.entries()) {
      const span = spans[i]!;
      const where = `round ${round} (${json ? 'JSON' : 'protobuf'}), limits ${limits}, span ${i}: ${JSON.stringify(c)}`;
      const over = (have: number, limit: number) => Math.max(0, have - limit);
      assert.equal(span.attributes.length, Math.min(c.attributes, a), where);
      assert.equal(span.droppedAttributesCount, over(c.attributes, a), where);
      assert.equal(span.events.length, Math.min(c.events, e), where);
      assert.equal(span.droppedEventsCount, over(c.events, e), where);
      assert.equal(span.links.length, Math.min(c.links, l), where);
      assert.equal(span.droppedLinksCount, over(c.links, l), where);
      for (const x of [...span.events, ...span.links]) {
        assert.equal(x.attributes.length, Math.min(c.eventAttributes, n), where);
        assert.equal(x.droppedAttributesCount, over(c.eventAttributes, n), where);
      }
      const drops = [c.attributes > a, c.events > e, c.links > l];
      if (drops.filter(Boolean).length === 1) alone[(['attributes', 'events', 'links'] as const)[drops.indexOf(true)]!]++;
    }
  }
  // Each dropped count is non-zero alone in some spans of each encoding.
  for (const [k, v] of Object.entries(alone)) assert.ok(v > 20, `${k} alone over the limit: ${v} spans`);
});

test('every SpanKind maps to its OTLP kind; values out of range are INTERNAL', async () => {
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const kinds: [unknown, number][] = [
      [SpanKind.INTERNAL, 1], [SpanKind.SERVER, 2], [SpanKind.CLIENT, 3], [SpanKind.PRODUCER, 4], [SpanKind.CONSUMER, 5],
      [undefined, 1], [-1, 1], [5, 1], [255, 1], [NaN, 1], [2 ** 31, 1],
    ];
    for (const [kind] of kinds) t.tracer.startSpan('k', { kind: kind as SpanKind }).end();
    const spans = decodeAll(t.drain(), json);
    assert.deepEqual(spans.map((s) => s.kind), kinds.map(([, otlp]) => otlp), json ? 'JSON' : 'protobuf');
  }
});

test('the value length limit cuts string values and each string array element, never names, keys or the resource', async () => {
  const alphabet = ['a', 'Z', '7', ' ', 'é', '✓', '😀', '\n'];
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const text = (n: number) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let round = 0; round < 60; round++) {
    const limit = 1 + rnd(40);
    const json = round % 2 === 1;
    const service = 'svc-' + text(limit + 1 + rnd(60));
    const t = await coreTracer({ json, valueLimit: limit, serviceName: service });
    const cases = Array.from({ length: 8 }, (_, i) => ({
      name: `n${i}-` + text(limit + rnd(300)),
      key: prefix(`k${i}-` + text(limit + rnd(60)), 120), // keys of up to 128 characters are interned (longer ones go inline)
      value: text(rnd(3 * limit + 2)),
      list: Array.from({ length: rnd(4) }, () => text(rnd(2 * limit + 2))),
      event: `e${i}-` + text(limit + rnd(100)),
      status: text(limit + rnd(100)),
    }));
    for (const c of cases) {
      const s = t.tracer.startSpan(c.name, { attributes: { [c.key]: c.value } });
      s.setAttribute(c.key + '.list', c.list);
      s.addEvent(c.event, { [c.key]: c.value });
      s.setStatus({ code: SpanStatusCode.ERROR, message: c.status });
      s.end();
    }
    const spans = decodeAll(t.drain(), json);
    assert.equal(spans.length, cases.length);
    for (const [i, c] of cases.entries()) {
      const span = spans[i]!;
      const where = `round ${round}, limit ${limit}, span ${i}`;
      assert.equal(span.resource['service.name'], service, where);
      assert.equal(span.name, c.name, where);
      assert.deepEqual(attrs(span.attributes), { [c.key]: prefix(c.value, limit), [c.key + '.list']: c.list.map((v) => prefix(v, limit)) }, where);
      assert.equal(span.events[0]!.name, c.event, where);
      assert.deepEqual(attrs(span.events[0]!.attributes), { [c.key]: prefix(c.value, limit) }, where);
      assert.equal(span.status.message, c.status, where);
    }
  }
});

test('the value limit never cuts a surrogate pair: generated supplementary characters (U+DBFF high halves included) cut at every offset', async () => {
  let seed = 0xdbff;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  // Half the characters outside the BMP, half of those from U+10FC00.., whose high surrogate is U+DBFF.
  const char = () => String.fromCodePoint([0x10fc00 + rnd(0x400), 0x10000 + rnd(0x100000), 0x20 + rnd(0x7000), 0x10fc00 + rnd(0x400)][rnd(4)]!);
  let highCut = 0;
  for (let round = 0; round < 40; round++) {
    const json = round % 2 === 1;
    const limit = 1 + rnd(40);
    const t = await coreTracer({ json, valueLimit: limit });
    const values = Array.from({ length: 30 }, () => Array.from({ length: limit + rnd(limit + 2) }, char).join(''));
    for (const v of values) t.tracer.startSpan('s', { attributes: { v } }).end();
    const spans = decodeAll(t.drain(), json);
    for (const [i, v] of values.entries()) {
      const got = attrs(spans[i]!.attributes).v as string;
      const where = `round ${round}, limit ${limit}: ${[...v].map((c) => c.codePointAt(0)!.toString(16)).join(' ')}`;
      const high = v.length > limit && v.charCodeAt(limit - 1) >= 0xd800 && v.charCodeAt(limit - 1) <= 0xdbff;
      if (high && v.charCodeAt(limit - 1) === 0xdbff) highCut++;
      assert.equal(got, v.slice(0, high ? limit - 1 : limit), where);
      assert.ok(!got.includes('\ufffd'), where);
    }
  }
  assert.ok(highCut > 50, `${highCut} cuts right after U+DBFF`);
});

test('bodies respect maxBytes; every span arrives exactly once', async () => {
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const names = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const s = t.tracer.startSpan(`span-${i}`, { attributes: { i, pad: 'p'.repeat(i % 300) } });
      names.add(`span-${i}`);
      s.end();
    }
    for (const limit of [1000, 4096, 65536]) {
      if (t.core.source.pending() === 0) break;
      const bodies: Uint8Array[] = [];
      for (let k = 0; k < 200; k++) {
        const b = t.core.source.drain(limit);
        if (!b) break;
        bodies.push(b.body);
        assert.ok(b.body.length <= limit, `${b.body.length} <= ${limit}`);
        assert.equal(decodeAll([b.body], json).length, b.spans);
      }
      for (const s of decodeAll(bodies, json)) assert.ok(names.delete(s.name), `${s.name} once`);
    }
    assert.equal(names.size, 0);
  }
});

test('time origin: span times are unix nanoseconds', async () => {
  const t = await coreTracer();
  clock = 1234.567891;
  const s = t.tracer.startSpan('t');
  clock = 1300;
  s.end();
  const [span] = decodeAll(t.drain());
  assert.equal(span!.startTimeUnixNano, ns(1234.567891));
  assert.equal(timeOrigin(), ORIGIN);
  const date = new Date(ORIGIN + 5); // Dates hold whole milliseconds
  const wall = t.tracer.startSpan('wall', { startTime: date });
  wall.end(ORIGIN + 7);
  const [w] = decodeAll(t.drain());
  assert.equal(w!.startTimeUnixNano, ns(date.getTime() - ORIGIN));
  assert.equal(w!.endTimeUnixNano, ns(7));
});

test('a Wasm module of another release (a stale cached wasmtrace.wasm: another IO area) is refused, not written past', async () => {
  const { instantiate } = await import('../../src/wasm.js');
  const { createCore } = await import('../../src/core.js');
  const { protoWasm } = await import('../helpers/core-tracer.js');
  const x = await instantiate(protoWasm);
  assert.doesNotThrow(() => createCore(x, 'application/x-protobuf', 4096));
  for (const ioSize of [undefined, () => 16 * 1024, () => 0, () => 1 << 20]) {
    const stale = { ...x, ioSize } as typeof x;
    assert.throws(() => createCore(stale, 'application/x-protobuf', 4096), /not the one this script was built with/);
  }
});
