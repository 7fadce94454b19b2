// What a span says last is what goes on the wire: renames, status changes,
// times out of int64's range, -0 and HrTime inputs, in protobuf and JSON
// alike. Spans built through the tracer over the real Wasm, generated
// sequences checked against a model, bodies decoded by the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { timeOrigin } from '../../src/clock.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const decodeAll = (bodies: Uint8Array[], json: boolean): FlatSpan[] => bodies.flatMap((b) => allSpans(json ? decodeJson(b) : decodeProtobuf(b)));

const INTERNED = ['GET /users/:id', 'POST /checkout', 'db.query'];

test('400 generated rename and status sequences: the last name and the last status arrive, with interned, long and uninterned names', async () => {
  for (const json of [false, true]) {
    const r = prng(json ? 0x5a7 : 0x7a5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const t = await coreTracer({ json });
    for (const n of INTERNED) t.tracer.startSpan(n).end();
    // A server naming spans after raw paths: the names' share of the intern table is used up.
    for (let i = 0; i < 1600; i++) t.tracer.startSpan(`GET /users/${i}`).end();
    decodeAll(t.drain(), json);
    const name = (i: number, j: number): string =>
      pick([() => pick(INTERNED), () => `GET /items/${i}/${j}`, () => `GET ${'/long'.repeat(40)}/${i}/${j}`])();
    const want = new Map<string, { code: number; message: string }>();
    for (let i = 0; i < 400; i++) {
      const s = t.tracer.startSpan(name(i, 0), { attributes: { 'case.id': `c${i}` } });
      const model = { code: 0, message: '' };
      for (let j = 1, steps = 1 + Math.floor(r() * 5); j <= steps; j++) {
        if (r() < 0.5) {
          s.updateName(name(i, j));
        } else {
          const code = pick([0, 1, 2, 2] as const);
          const message = pick([undefined, '', `why ${i}.${j}`, 'x'.repeat(300)]);
          s.setStatus({ code, message });
          // OK is final, UNSET changes nothing, a message goes with ERROR only.
          if (model.code !== 1 && code !== 0) {
            model.code = code;
            model.message = code === 2 ? (message ?? '') : '';
          }
        }
      }
      s.end();
      want.set(`c${i}`, model);
    }
    const spans = decodeAll(t.drain(), json);
    assert.equal(spans.length, 400);
    for (const span of spans) {
      const id = String(attrs(span.attributes)['case.id']);
      const w = want.get(id)!;
      assert.equal(span.status.code, w.code, `${json ? 'JSON' : 'protobuf'} ${id}: status code`);
      assert.equal(span.status.message ?? '', w.message, `${json ? 'JSON' : 'protobuf'} ${id}: status message`);
    }
  }
});

test('a span renamed to an interned name after an uninterned one carries only the new name', async () => {
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    for (const n of INTERNED) t.tracer.startSpan(n).end();
    for (let i = 0; i < 1600; i++) t.tracer.startSpan(`GET /users/${i}`).end();
    decodeAll(t.drain(), json);
    const cases: Array<[string, string[]]> = [];
    for (let i = 0; i < 60; i++) {
      const chain = [`GET /users/${10_000 + i}`, `GET ${'/x'.repeat(80)}${i}`, INTERNED[i % 3]!, `GET /other/${i}`, INTERNED[(i + 1) % 3]!].slice(0, 2 + (i % 4));
      const s = t.tracer.startSpan(chain[0]!, { attributes: { 'case.id': i } });
      for (const n of chain.slice(1)) s.updateName(n);
      s.end();
      cases.push([String(i), chain]);
    }
    const spans = decodeAll(t.drain(), json);
    for (const [id, chain] of cases) {
      const span = spans.find((s) => String(attrs(s.attributes)['case.id']) === id)!;
      assert.equal(span.name, chain[chain.length - 1], `${json ? 'JSON' : 'protobuf'} case ${id}: ${chain.join(' → ')}`);
    }
  }
});

const I64_MAX = '9223372036854775807';

test('300 generated times out of int64 nanoseconds\' range go out as 0 or its largest value, and the batch\'s other spans still decode', async () => {
  const r = prng(0x71e5);
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const origin = timeOrigin();
    const cases: Array<{ id: string; start: number | Date; end: number | Date; want: [string, string] }> = [];
    const clamp = (ms: number): string => (ms < 0 ? '0' : ms * 1e6 >= 9.223372036854776e18 ? I64_MAX : 'in range');
    for (let i = 0; i < 300; i++) {
      // Before 1970, in range, microseconds by mistake, past 2262 (as Dates and unix ms).
      const ms = (): number => pick([-1e13 * r(), -1, origin + r() * 1e6, origin * 1000, 9.3e15 + r() * 1e16, 1e300]);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const a = ms();
      const b = ms();
      // A negative number means "now" (it is no performance.now() value): times before 1970 come as Dates.
      const asInput = (x: number): number | Date => ((x < 0 || r() < 0.5) && Math.abs(x) < 8.64e15 ? new Date(x) : x);
      cases.push({ id: `t${i}`, start: asInput(a), end: asInput(b), want: [clamp(a), clamp(b)] });
    }
    for (const c of cases) {
      const s = t.tracer.startSpan('timed', { startTime: c.start, attributes: { 'case.id': c.id } });
      s.addEvent('at end', c.end);
      s.end(c.end);
    }
    t.tracer.startSpan('good', { attributes: { 'case.id': 'good' } }).end();
    const spans = decodeAll(t.drain(), json);
    assert.equal(spans.length, 301, 'every span decodes, the good one too');
    for (const c of cases) {
      const span = spans.find((s) => attrs(s.attributes)['case.id'] === c.id)!;
      const start = BigInt(span.startTimeUnixNano);
      const at = `${json ? 'JSON' : 'protobuf'} ${c.id} (${String(c.start)} → ${String(c.end)})`;
      assert.ok(start >= 0n && start <= BigInt(I64_MAX), at);
      if (c.want[0] !== 'in range') assert.equal(span.startTimeUnixNano, c.want[0], `${at}: start`);
      if (c.want[1] !== 'in range') assert.equal(span.events[0]!.timeUnixNano, c.want[1], `${at}: event time`);
      // An end before the start is taken as the start.
      assert.ok(BigInt(span.endTimeUnixNano) >= start, `${at}: end`);
    }
  }
});

// A lone -0 is an integer, as in OpenTelemetry JS (intValue 0); in an array with fractions it is a double.
test('-0 stays -0 in double arrays, in JSON as in protobuf', async () => {
  const r = prng(0x2e0);
  for (const json of [false, true]) {
    const t = await coreTracer({ json });
    const want: number[][] = [];
    for (let i = 0; i < 100; i++) {
      const xs = [0.5, ...Array.from({ length: 1 + Math.floor(r() * 5) }, () => [-0, 0, 0.5, -1.25, -Number.MIN_VALUE][Math.floor(r() * 5)]!)];
      want.push(xs);
      t.tracer.startSpan('d', { attributes: { 'case.id': i, many: xs } }).end();
    }
    const spans = decodeAll(t.drain(), json);
    for (const span of spans) {
      const a = attrs(span.attributes);
      const xs = want[Number(a['case.id'])]!;
      const got = (a.many as unknown[]).map(Number);
      for (let k = 0; k < xs.length; k++) assert.ok(Object.is(got[k], xs[k]), `${json ? 'JSON' : 'protobuf'}: ${String(got[k])} for ${String(xs[k])} in [${xs.join(', ')}]`);
    }
  }
});

test('an HrTime [seconds, nanoseconds] is a time wherever a time is taken, never attributes', async () => {
  const t = await coreTracer();
  const sec = Math.floor(timeOrigin() / 1000) + 5;
  const s = t.tracer.startSpan('hr', { startTime: [sec, 250_000_000] });
  s.addEvent('ev', [sec + 1, 500_000_000]);
  s.addEvent('ev2', { k: 'v' }, [sec + 2, 0]);
  s.end([sec + 3, 999_999_000]);
  const [span] = decodeAll(t.drain(), false);
  const near = (got: string, want: bigint, what: string) => assert.ok(BigInt(got) - want <= 1000n && want - BigInt(got) <= 1000n, `${what}: ${got} vs ${want}`);
  const ns = (s: number, n: number) => BigInt(s) * 1_000_000_000n + BigInt(n);
  near(span!.startTimeUnixNano, ns(sec, 250_000_000), 'start');
  near(span!.events[0]!.timeUnixNano, ns(sec + 1, 500_000_000), 'event');
  assert.deepEqual(attrs(span!.events[0]!.attributes), {}, 'the HrTime is not attributes');
  near(span!.events[1]!.timeUnixNano, ns(sec + 2, 0), 'event with attributes');
  near(span!.endTimeUnixNano, ns(sec + 3, 999_999_000), 'end');
});

test('recordException: 400 generated thrown values each give an exception event with a type or a message (the semantic conventions need one), and a DOMException its name', async () => {
  const r = prng(0xe4c);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const values: Array<() => unknown> = [
    () => undefined,
    () => null,
    () => Math.floor(r() * 100),
    () => r() < 0.5,
    () => ({ foo: Math.floor(r() * 9) }),
    () => Object.create(null),
    () => ({ toString: () => { throw new Error('no'); } }),
    () => new DOMException('aborted', pick(['AbortError', 'NotAllowedError', 'TimeoutError'])),
    () => Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
    () => Object.assign(new Error('odd'), { code: '' }),
    () => new TypeError(`bad ${Math.floor(r() * 9)}`),
    () => `plain text ${Math.floor(r() * 9)}`,
    () => Symbol('s'),
    () => 10n,
  ];
  const t = await coreTracer();
  const thrown: unknown[] = [];
  for (let i = 0; i < 400; i++) {
    const v = pick(values)();
    thrown.push(v);
    const s = t.tracer.startSpan('failing', { attributes: { 'case.id': i } });
    s.recordException(v);
    s.end();
  }
  for (const span of decodeAll(t.drain(), false)) {
    const v = thrown[Number(attrs(span.attributes)['case.id'])];
    const ev = span.events.find((e) => e.name === 'exception');
    assert.ok(ev, `an event for ${typeof v}`);
    const a = attrs(ev.attributes);
    assert.ok(a['exception.type'] || a['exception.message'], `type or message for ${Object.prototype.toString.call(v)}`);
    if (v instanceof DOMException) assert.equal(a['exception.type'], v.name);
    else if (v instanceof Error) assert.equal(a['exception.type'], (v as { code?: string }).code || v.name);
    else if (typeof v === 'string') assert.equal(a['exception.message'], v);
    else assert.equal(a['exception.type'], v === null ? 'null' : typeof v);
  }
});
