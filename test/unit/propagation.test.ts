// W3C Trace Context: traceparent and tracestate, valid, invalid and edge
// cases, many of them generated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, parseTraceparent, parseTracestate } from '../../src/propagation.js';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import type { SpanContext } from '../../src/types.js';
import { createNoopTracer } from '../../src/tracer.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const HEXCHARS = '0123456789abcdef';
const hex = (r: () => number, n: number) => Array.from({ length: n }, () => HEXCHARS[Math.floor(r() * 16)]).join('');

test('valid traceparent headers parse exactly', () => {
  const r = rng(1);
  for (let i = 0; i < 2000; i++) {
    const traceId = hex(r, 32);
    const spanId = hex(r, 16);
    const flags = Math.floor(r() * 256);
    if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) continue;
    const header = `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
    // Only the flags defined (sampled 0x01, random 0x02) are kept; the others are zero (§3.2.2.5).
    assert.deepEqual(parseTraceparent(header), { traceId, spanId, traceFlags: flags & 3 });
    // surrounding whitespace (OWS) is tolerated
    assert.deepEqual(parseTraceparent(`  ${header}\t`), { traceId, spanId, traceFlags: flags & 3 });
    assert.equal(formatTraceparent(traceId, spanId, flags), `00-${traceId}-${spanId}-0${flags & 3}`);
  }
});

test('invalid traceparent headers are ignored', () => {
  const valid = `00-${TRACE}-${SPAN}-01`;
  const cases: unknown[] = [
    undefined, null, 42, {}, '', 'garbage', valid.toUpperCase(), `00-${TRACE}-${SPAN}-01-extra`, `00-${TRACE}-${SPAN}-1`,
    `ff-${TRACE}-${SPAN}-01`, `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `0-${TRACE}-${SPAN}-01`,
    `00_${TRACE}_${SPAN}_01`, `00-${TRACE.slice(1)}-${SPAN}-01`, `00-${TRACE}-${SPAN}0-01`, `${valid}, ${valid}`,
    `00-${TRACE}-${SPAN}-0g`, `zz-${TRACE}-${SPAN}-01`, `01-${TRACE}-${SPAN}-01x`,
  ];
  // Generated: every single-character corruption of a valid header.
  const r = rng(2);
  for (let i = 0; i < valid.length; i++) {
    for (const c of ['-', 'G', 'A', ' ', 'z', '\u00e9']) {
      const bad = valid.slice(0, i) + c + valid.slice(i + 1);
      if (bad !== valid && !(valid[i] !== '-' && /[0-9a-f]/.test(c))) cases.push(bad);
    }
    cases.push(valid.slice(0, i)); // truncations
  }
  for (let i = 0; i < 500; i++) cases.push(Array.from({ length: Math.floor(r() * 80) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join(''));
  for (const c of cases) {
    const parsed = parseTraceparent(c);
    if (typeof c === 'string' && /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(c.trim()) && !/^00-0{32}-|-0{16}-/.test(c.trim())) continue;
    assert.equal(parsed, null, `rejects ${JSON.stringify(c)}`);
  }
});

test('future versions: extra fields after a dash are accepted, only the known flags kept', () => {
  assert.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-ff-what-the-future-holds`), { traceId: TRACE, spanId: SPAN, traceFlags: 3 });
  assert.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-00`), { traceId: TRACE, spanId: SPAN, traceFlags: 0 });
  assert.equal(parseTraceparent(`cc-${TRACE}-${SPAN}-01.`), null);
});

test('tracestate: valid lists normalise, invalid ones are dropped whole', () => {
  assert.equal(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  assert.equal(parseTracestate(' rojo=1 ,\t, congo=2 '), 'rojo=1,congo=2');
  assert.equal(parseTracestate('fw529a3039@dt=value'), 'fw529a3039@dt=value');
  assert.equal(parseTracestate(undefined), '');
  for (const bad of ['rojo', '=1', 'Rojo=1', 'rojo=1,rojo=2', 'rojo=a=b', 'rojo=tab\there', 'a@=1', '@b=1', 'a@b_toolongsystemid=1', 'k=\u00e9', `k=${'x'.repeat(257)}`]) {
    assert.equal(parseTracestate(bad), undefined, bad);
  }
  const r = rng(3);
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(r() * 40);
    const members = Array.from({ length: n }, (_, j) => `k${j}=v${Math.floor(r() * 1000)}`);
    const parsed = parseTracestate(members.join(','));
    if (n > 32) assert.equal(parsed, undefined, `${n} members is over the limit of 32`);
    else assert.equal(parsed, members.join(','));
  }
});

test('tracestate: OWS is spaces and tabs only; members padded with any other blank JavaScript trims (generated) make the list invalid', () => {
  // list = list-member 0*31( OWS "," OWS list-member ), OWS = *( SP / HTAB ) (§3.3.1).
  const others = ['\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u2028', '\u2029', '\u202f', '\u3000', '\ufeff'];
  const r = rng(11);
  const wrong: string[] = [];
  for (let i = 0; i < 600; i++) {
    const members = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, j) => `k${j}=v${hex(r, 1 + Math.floor(r() * 6))}`);
    const ows = () => ' \t'.slice(0, Math.floor(r() * 3));
    const padded = members.map((m) => ows() + m + ows());
    const valid = padded.join(',');
    if (parseTracestate(valid) !== members.join(',')) wrong.push(`${JSON.stringify(valid)} not read as ${members.join(',')}`);
    const at = Math.floor(r() * padded.length);
    const blank = others[Math.floor(r() * others.length)]!;
    padded[at] = r() < 0.5 ? blank + padded[at] : padded[at] + blank;
    const invalid = padded.join(',');
    if (parseTracestate(invalid) !== undefined) wrong.push(`${JSON.stringify(invalid)} read as ${parseTracestate(invalid)}`);
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of 1200 lists misread`);
});

test('tracestate over 512 characters: long members go first, then from the end', () => {
  const long = `big=${'x'.repeat(200)}`;
  const small = Array.from({ length: 30 }, (_, i) => `k${i}=${'v'.repeat(20)}`);
  const out = parseTracestate([small[0], long, ...small.slice(1)].join(','))!;
  assert.ok(out.length <= 512);
  assert.ok(!out.includes('big='), 'members over 128 chars are removed first');
  assert.ok(out.startsWith('k0=') && !out.includes('k29='), 'then members from the end');
});

test('tracestate over 512 characters: generated lists around the 128 and 512 limits match §3.3.1.5', () => {
  const r = rng(512);
  // A member of exactly `len` characters (key k<j>, value padded with 'v').
  const member = (j: number, len: number) => `k${j}=`.padEnd(len, 'v');
  const pick = () => [127, 128, 129][Math.floor(r() * 3)] ?? 0;
  let exact = 0;
  for (let i = 0; i < 3000; i++) {
    const n = 2 + Math.floor(r() * 31);
    const lens = Array.from({ length: n }, () => (r() < 0.5 ? pick() : 6 + Math.floor(r() * 140)));
    // Every third list: shorten the member ≤128 that crosses 512 so that the prefix ends exactly on 512.
    if (i % 3 === 0) {
      let size = -1;
      for (let j = 0; j < n; j++) {
        if (lens[j]! > 128) continue;
        if (size + 1 + lens[j]! > 512) {
          if (512 - size - 1 >= 6) lens[j] = 512 - size - 1;
          break;
        }
        size += 1 + lens[j]!;
      }
    }
    const members = lens.map((l, j) => member(j, l));
    // The model: within 512, untouched; else drop those over 128, then keep the longest prefix that fits.
    let want = members;
    if (members.join(',').length > 512) {
      want = members.filter((m) => m.length <= 128);
      let size = -1;
      want = want.filter((m) => (size += m.length + 1) <= 512);
    }
    if (want.join(',').length === 512) exact++;
    assert.equal(parseTracestate(members.join(',')), want.join(','), `lengths ${lens.join(' ')}`);
  }
  assert.ok(exact > 100, `${exact} lists land exactly on 512`);
});

test('inject and extract round-trip through the tracer, and outgoing spans carry the parent', async () => {
  const t = await coreTracer();
  const incoming = { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'congo=t61rcWkgMzE' };
  const remote = t.tracer.extract(incoming)!;
  assert.equal(remote.isRemote, true);
  const span = t.tracer.startSpan('server', {}, remote);
  const headers = new Headers();
  t.tracer.inject(headers, span);
  assert.equal(headers.get('traceparent'), `00-${TRACE}-${span.spanContext().spanId}-01`);
  assert.equal(headers.get('tracestate'), 'congo=t61rcWkgMzE');
  const out: Record<string, string> = {};
  t.tracer.withSpan(span, () => t.tracer.inject(out));
  assert.equal(out.traceparent, headers.get('traceparent'));
  span.end();
  const [s] = allSpans(decodeProtobuf(t.drain()[0]!));
  assert.equal(s!.traceId, TRACE);
  assert.equal(s!.parentSpanId, SPAN);

  // Invalid traceparent: extract gives nothing, a new trace starts.
  assert.equal(t.tracer.extract({ traceparent: 'nonsense', tracestate: 'a=b' }), undefined);
  const fresh = t.tracer.startSpan('fresh', {}, t.tracer.extract({ traceparent: 'nonsense' }));
  assert.notEqual(fresh.spanContext().traceId, TRACE);
  // Unsampled parent: the child is not recorded but propagates flags 00.
  const unsampled = t.tracer.startSpan('child', {}, t.tracer.extract({ traceparent: `00-${TRACE}-${SPAN}-00` }));
  assert.equal(unsampled.isRecording(), false);
  const h2: Record<string, string> = {};
  t.tracer.inject(h2, unsampled);
  assert.match(h2.traceparent!, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
});

test('inject: a tracestate already on the carrier goes only with its own context: replaced, or removed when the injected context has none; a plain object holds one field of each, whatever case it had (1,200 generated carriers, both tracers)', async () => {
  const t = await coreTracer();
  const r = rng(0x7a57);
  const KEYS = ['tracestate', 'TraceState', 'TRACESTATE'];
  const tracers = [t.tracer, createNoopTracer()];
  for (let i = 0; i < 1200; i++) {
    const tracer = tracers[i % 2]!;
    // The context injected: a remote parent's (with or without a valid tracestate), or a span under it.
    const ts = [undefined, 'congo=t61rcWkgMzE', 'a=1,a=2' /* duplicate keys: dropped at extract */][Math.floor(r() * 3)];
    const incoming: Record<string, string> = { traceparent: `00-${hex(r, 32)}-${hex(r, 16)}-01` };
    if (ts) incoming.tracestate = ts;
    const remote = tracer.extract(incoming)!;
    const target = r() < 0.5 ? remote : tracer.startSpan('client', {}, remote);
    const kept = target && 'spanContext' in target ? target.spanContext().traceState : (target as SpanContext).traceState;
    // The carrier: what the request already had (a proxy copies the incoming headers).
    const stale = `stale${i}=x`;
    const asHeaders = r() < 0.5;
    const key = KEYS[Math.floor(r() * KEYS.length)]!;
    const tpKey = ['traceparent', 'Traceparent', 'TRACEPARENT'][Math.floor(r() * 3)]!;
    const carrier: Headers | Record<string, string> = asHeaders ? new Headers({ tracestate: stale, traceparent: '00-x' }) : { [key]: stale, [tpKey]: '00-x' };
    tracer.inject(carrier, target);
    const read = (name: string): string | undefined =>
      carrier instanceof Headers ? carrier.get(name) ?? undefined : Object.entries(carrier).find(([k]) => k.toLowerCase() === name)?.[1];
    assert.equal(read('traceparent')?.slice(0, 35), `00-${incoming.traceparent!.slice(3, 35)}`, `case ${i}: the context's traceparent`);
    assert.equal(read('tracestate'), kept, `case ${i}: tracestate ${JSON.stringify(ts)} → ${JSON.stringify(kept)}, carrier ${asHeaders ? 'Headers' : key}`);
    assert.equal(kept, ts === 'congo=t61rcWkgMzE' ? ts : undefined, `case ${i}: a valid tracestate is kept, an invalid one dropped`);
    if (!asHeaders) assert.equal(Object.keys(carrier).filter((k) => k.toLowerCase() === 'traceparent').length, 1, `case ${i}: one traceparent field (was ${tpKey})`);
  }
});

test('600 generated header sets given as repeated fields (arrays: Node\'s headersDistinct, multi-value maps) are read as their fields combined (tracestate: "MUST be combined into a single header", RFC 9110 §5.3)', async () => {
  const t = await coreTracer();
  const r = rng(0x5e7);
  for (let i = 0; i < 600; i++) {
    const traceparent = `00-${hex(r, 31)}1-${hex(r, 15)}1-0${Math.floor(r() * 4)}`;
    const states = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, k) => `v${k}=${hex(r, 1 + Math.floor(r() * 8))}`);
    const bags = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, k) => `b${k}=${hex(r, 1 + Math.floor(r() * 8))}`);
    // The members split over 1..n fields at random.
    const split = (xs: string[]): string[] => xs.reduce<string[]>((out, x, k) => (k > 0 && r() < 0.5 ? [...out.slice(0, -1), out[out.length - 1] + ',' + x] : [...out, x]), []);
    const joined = { traceparent, tracestate: states.join(','), baggage: bags.join(',') };
    const fields = { traceparent: [traceparent], tracestate: split(states), baggage: split(bags) };
    const want = t.tracer.extract(joined);
    assert.ok(want, `case ${i}`);
    assert.deepStrictEqual(t.tracer.extract(fields), want, `case ${i}: ${JSON.stringify(fields)}`);
    const out: Record<string, string> = {};
    t.tracer.inject(out, t.tracer.startSpan('child', {}, t.tracer.extract(fields)));
    assert.equal(out.tracestate, joined.tracestate, `case ${i}`);
    assert.equal(out.baggage, joined.baggage, `case ${i}`);
    assert.equal(out.traceparent!.slice(0, 36), traceparent.slice(0, 36), `case ${i}: the same trace`);
  }
});

test('head sampling by trace-id ratio is consistent and near the ratio', async () => {
  // Head sampling alone (no tail sampling): unsampled spans are not recorded.
  const a = await coreTracer({ ratio: 0.25, seed: 5, sampler: { keepErrors: false } });
  const b = await coreTracer({ ratio: 0.25, seed: 6, sampler: { keepErrors: false } });
  let kept = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const s = a.tracer.startSpan('root');
    const ctx = s.spanContext();
    // Another service given the same trace id (unsampled-flag-free parent) decides the same.
    const decided = (ctx.traceFlags & 1) === 1;
    if (decided) kept++;
    s.end();
    if (i % 1000 === 999) a.drain();
    // the other tracer sees the same trace id and must agree on the decision bit
    const other = b.tracer.startSpan('peer', {}, { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags });
    assert.equal(other.isRecording(), decided);
    other.end();
    if (i % 1000 === 999) b.drain();
  }
  // Binomial(20000, 0.25): sd ≈ 61; 5 sd either side.
  assert.ok(Math.abs(kept - n * 0.25) < 5 * Math.sqrt(n * 0.25 * 0.75), `kept ${kept}`);
});

test('formatTraceparent: never throws; invalid ids give no header; unknown flags are sent as zero', () => {
  const r = rng(7);
  const junk: unknown[] = [undefined, null, 0, 1n, Symbol('x'), {}, [], () => 0, new Proxy({}, { get() { throw new Error('trap'); } }), 'x', TRACE.toUpperCase(), '0'.repeat(32), '0'.repeat(16), TRACE + '0', SPAN.slice(1)];
  for (let i = 0; i < 300; i++) junk.push(hex(r, Math.floor(r() * 40)));
  const id = (v: unknown, n: number) => typeof v === 'string' && new RegExp(`^[0-9a-f]{${n}}$`).test(v) && /[1-9a-f]/.test(v);
  const label = (v: unknown) => (typeof v === 'string' ? v : typeof v);
  let headers = 0;
  for (const traceId of [TRACE, ...junk])
    for (const spanId of [SPAN, ...junk.slice(0, 20)])
      for (const flags of [1, 0, 255, 3, 4, -1, NaN, '1', 1n, Symbol('f'), undefined]) {
        const header = formatTraceparent(traceId as string, spanId as string, flags as number);
        if (!id(traceId, 32) || !id(spanId, 16)) {
          assert.equal(header, '', `${label(traceId)} ${label(spanId)}`);
          continue;
        }
        assert.equal(header, `00-${traceId}-${spanId}-0${typeof flags === 'number' ? flags & 3 : 0}`, label(flags));
        assert.ok(parseTraceparent(header), header);
        headers++;
      }
  assert.ok(headers >= 11, `${headers} valid`);
});

test('after shutdown(): a span carries its parent\'s context on (not all-zero ids), and a span with no parent injects nothing', async () => {
  const { tracer } = await coreTracer();
  await tracer.shutdown();
  const r = rng(11);
  for (let i = 0; i < 200; i++) {
    const traceId = hex(r, 32);
    const spanId = hex(r, 16);
    const flags = Math.floor(r() * 4);
    const parent = tracer.extract({ traceparent: `00-${traceId}-${spanId}-0${flags}`, tracestate: 'k=v' })!;
    assert.ok(parent, 'extract works after shutdown');
    for (const span of [tracer.startSpan('late', {}, parent), tracer.withSpan(parent, () => tracer.startSpan('late'))]) {
      assert.equal(span.isRecording(), false);
      assert.deepEqual([span.spanContext().traceId, span.spanContext().spanId, span.spanContext().traceFlags], [traceId, spanId, flags]);
      const headers: Record<string, string> = {};
      tracer.inject(headers, span);
      assert.deepEqual(headers, { traceparent: `00-${traceId}-${spanId}-0${flags}`, tracestate: 'k=v' });
    }
  }
  const orphan = tracer.startSpan('no parent');
  const headers: Record<string, string> = {};
  tracer.inject(headers, orphan);
  assert.deepEqual(headers, {}, 'no all-zero traceparent');
});

test('links: OTLP Link.flags says whether the linked context is remote (bits 8 and 9), with only the known W3C flags', async () => {
  const ct = await coreTracer();
  const { tracer } = ct;
  const local = tracer.startSpan('local');
  const cases: Array<[SpanContext, number]> = [];
  for (const flags of [0, 1, 2, 3, 0xff, 0x80]) {
    const remote = tracer.extract({ traceparent: `00-${TRACE}-${SPAN}-${flags.toString(16).padStart(2, '0')}` })!;
    cases.push([remote, 0x300 | (flags & 3)]);
    cases.push([{ traceId: TRACE, spanId: SPAN, traceFlags: flags, isRemote: false }, 0x100 | (flags & 3)]);
    cases.push([{ traceId: TRACE, spanId: SPAN, traceFlags: flags, isRemote: true }, 0x300 | (flags & 3)]);
  }
  cases.push([local.spanContext(), 0x100 | local.spanContext().traceFlags]);
  const span = tracer.startSpan('linker', { links: cases.map(([context]) => ({ context })) });
  span.end();
  local.end();
  const [linker] = allSpans(decodeProtobuf(ct.drain()[0]!)).filter((s) => s.name === 'linker');
  assert.deepEqual(linker!.links.map((l) => l.flags), cases.map(([, f]) => f));
});

test('baggage without a traceparent goes on: a new trace carries it (W3C Baggage stands on its own)', async () => {
  const ct = await coreTracer();
  const { tracer } = ct;
  const r = rng(21);
  const badParents = [undefined, '', 'garbage', `00-${'0'.repeat(32)}-${SPAN}-01`, `ff-${TRACE}-${SPAN}-01`];
  for (let i = 0; i < 100; i++) {
    const key = `k${hex(r, 4)}`;
    const value = hex(r, 1 + Math.floor(r() * 10));
    const traceparent = badParents[i % badParents.length];
    const ctx = tracer.extract({ baggage: `${key}=${value}`, ...(traceparent !== undefined && { traceparent }) });
    assert.ok(ctx, 'a context for the baggage');
    assert.equal(ctx.isRemote, true);
    const span = tracer.startSpan('server', {}, ctx);
    assert.match(span.spanContext().traceId, /^(?!0+$)[0-9a-f]{32}$/, 'a new, valid trace');
    const out: Record<string, string> = {};
    tracer.inject(out, span);
    assert.equal(out.baggage, `${key}=${value}`);
    assert.equal(out.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    tracer.withSpan(ctx, () => {
      assert.deepEqual({ ...tracer.getBaggage() }, { [key]: value });
      const bare: Record<string, string> = {};
      tracer.inject(bare);
      assert.deepEqual(bare, { baggage: `${key}=${value}` }, 'no traceparent for a context without a trace');
    });
    span.end();
  }
  const spans = allSpans(decodeProtobuf(ct.drain()[0]!));
  assert.equal(spans.length, 100);
  assert.ok(spans.every((s) => s.parentSpanId === ''), 'each a root');
  assert.equal(tracer.extract({}), undefined);
  assert.equal(tracer.extract({ baggage: ';;=' }), undefined, 'nothing valid: nothing extracted');
});
