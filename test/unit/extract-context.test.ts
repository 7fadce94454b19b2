// extract() gives exactly the documented SpanContext, and a tracer that
// records nothing (disabled, OTEL_SDK_DISABLED, Wasm that does not compile)
// still passes the trace on: extract → startSpan/startActiveSpan → inject
// writes what came in, as a working tracer given the same headers does.
// Generated headers: valid and invalid traceparent, tracestate (thresholds
// included) and baggage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { coreTracer, protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import type { Tracer } from '../../src/tracer.js';
import type { Span, SpanContext } from '../../src/types.js';
import { prng } from '../../demo/collector/synthetic.mjs';

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const hexOf = (r: R, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const word = (r: R, chars: string, n: number): string => Array.from({ length: n }, () => pick(r, [...chars])).join('');

interface Generated {
  headers: Record<string, string>;
  /** The context extract must give, when this generator knows it independently (no threshold in the tracestate). */
  want?: SpanContext;
}

/** Headers as a caller might send them; `want` when the traceparent is valid and the tracestate has no threshold. */
function headers(r: R): Generated {
  const h: Record<string, string> = {};
  const traceId = r() < 0.05 ? '0'.repeat(32) : hexOf(r, 31) + pick(r, [...'123456789abcdef']);
  const spanId = hexOf(r, 15) + pick(r, [...'123456789abcdef']);
  const flags = Math.floor(r() * 256);
  const form = r();
  let valid = traceId !== '0'.repeat(32);
  if (form < 0.75) h.traceparent = `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
  else if (form < 0.85) h.traceparent = `cc-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}-later`; // a later version: its first four fields
  else {
    valid = false;
    if (form < 0.93) h.traceparent = pick(r, [`ff-${traceId}-${spanId}-01`, `00-${traceId.toUpperCase()}Z-${spanId}-01`, `00-${traceId}-${spanId}-01-x`, 'junk']);
  }
  let traceState: string | undefined;
  let known = true;
  if (r() < 0.7) {
    const keys = new Set<string>();
    const members: string[] = [];
    for (let n = Math.floor(r() * 5); n > 0; n--) {
      const key = r() < 0.2 ? `${word(r, 'abc123', 3)}@${word(r, 'xyz', 2)}` : word(r, 'abcdefgh', 1) + word(r, 'abc0_-*/', Math.floor(r() * 6));
      if (keys.has(key)) continue;
      keys.add(key);
      members.push(`${key}=${word(r, 'abcXYZ019!#:~', 1 + Math.floor(r() * 8))}`);
    }
    if (r() < 0.3) {
      known = false; // a threshold the sampled flag may contradict: dropped then (compared with the working tracer only)
      members.push(`ot=th:${hexOf(r, 1 + Math.floor(r() * 13))}${r() < 0.5 ? `;rv:${hexOf(r, 14)}` : ''}`);
    }
    const broken = r() < 0.1;
    if (broken && members.length) members.push(members[0]!); // a key twice: the whole header is invalid
    h.tracestate = members.map((m) => (r() < 0.3 ? ` ${m} ` : m)).join(',');
    traceState = broken ? undefined : members.join(',') || undefined;
  }
  if (r() < 0.5) {
    const members = Array.from({ length: 1 + Math.floor(r() * 4) }, () => `${word(r, 'kKey_', 1 + Math.floor(r() * 5))}=${encodeURIComponent(word(r, 'v é1/', 1 + Math.floor(r() * 6)))}${r() < 0.2 ? ';p=1' : ''}`);
    if (r() < 0.2) members.push('not a member');
    h.baggage = members.join(',');
  }
  if (!known || !valid) return { headers: h };
  return { headers: h, want: { traceId, spanId, traceFlags: flags & 3, ...(traceState && { traceState }), isRemote: true } };
}

/** A flat copy of carrier entries (what inject wrote). */
const injected = (t: Tracer, span: Span | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  t.inject(out, span);
  return out;
};

test('extract gives exactly { traceId, spanId, traceFlags, traceState?, isRemote }; a JSON copy still parents (1,500 generated headers)', async () => {
  const t = await coreTracer({ seed: 3 });
  const r = prng(606);
  let known = 0;
  let exported = 0;
  for (let i = 0; i < 1500; i++) {
    const { headers: h, want } = headers(r);
    const ctx = t.tracer.extract(h);
    if (want) {
      known++;
      assert.deepStrictEqual(ctx, want, JSON.stringify(h));
    }
    if (!ctx) continue;
    assert.deepStrictEqual(Object.keys(ctx), ['traceId', 'spanId', 'traceFlags', ...('traceState' in ctx ? ['traceState'] : []), 'isRemote'], JSON.stringify(h));
    assert.equal(Object.getPrototypeOf(ctx), Object.prototype);
    if (ctx.traceId === '0'.repeat(32)) continue; // baggage alone: no parent
    const copy = JSON.parse(JSON.stringify(ctx)) as SpanContext;
    assert.deepStrictEqual(copy, ctx);
    const span = t.tracer.startSpan('from-json', {}, copy);
    span.end();
    assert.equal(span.spanContext().traceId, ctx.traceId, JSON.stringify(h));
    const got = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
    if (!(ctx.traceFlags & 1)) continue; // not sampled upstream: not recorded
    exported++;
    assert.deepEqual(got.map((s) => [s.traceId, s.parentSpanId, s.traceState]), [[ctx.traceId, ctx.spanId, ctx.traceState ?? '']], JSON.stringify(h));
  }
  assert.ok(known > 700 && exported > 300, `contexts checked field by field: ${known}; children of JSON copies exported: ${exported}`);
});

test('a tracer that records nothing passes the trace on: extract → startSpan / startActiveSpan → inject as a working tracer does (3 causes, 600 generated headers each)', async () => {
  const working = await init({ serviceName: 'w', wasm: protoWasm, env: {}, storage: null, transport: async () => ({ status: 200 }) });
  const warn = console.warn;
  console.warn = () => {}; // the one "tracing is off" warning of the Wasm that does not compile
  const causes: Array<[string, Tracer]> = [
    ['disabled', await init({ serviceName: 'n', disabled: true })],
    ['OTEL_SDK_DISABLED', await init({ serviceName: 'n', env: { OTEL_SDK_DISABLED: 'true' } })],
    ['Wasm that does not compile', await init({ serviceName: 'n', env: {}, wasm: new Uint8Array([0, 97, 115, 109, 9]) })],
  ];
  console.warn = warn;
  let passed = 0;
  for (const [cause, noop] of causes) {
    assert.equal(noop.startSpan('x').isRecording(), false, `${cause}: records nothing`);
    const r = prng(cause.length * 31);
    for (let i = 0; i < 600; i++) {
      const { headers: h } = headers(r);
      const what = `${cause}: ${JSON.stringify(h)}`;
      const ctx = noop.extract(h);
      const real = working.extract(h);
      assert.deepStrictEqual(ctx, real, what);
      const viaStart = (t: Tracer): [Record<string, string>, Span] => {
        const s = t.startSpan('handle', {}, t === noop ? ctx : real);
        return [injected(t, s), s];
      };
      const viaActive = (t: Tracer): [Record<string, string>, Span] =>
        t.startActiveSpan('handle', {}, t === noop ? ctx : real, (s) => [injected(t, s), s] as [Record<string, string>, Span]);
      for (const via of [viaStart, viaActive]) {
        const [out, span] = via(noop);
        const [want, realSpan] = via(working);
        realSpan.end();
        assert.equal(span.isRecording(), false);
        assert.equal(out.baggage, want.baggage, `${what}: the baggage that came in goes on`);
        if (!ctx || ctx.traceId === '0'.repeat(32)) {
          // No trace came in: the working tracer starts one, this one has none to send.
          assert.equal(out.traceparent, undefined, what);
          continue;
        }
        // The same trace, flags and tracestate; the span is the caller's context (a span that records nothing is no hop, as OpenTelemetry's NonRecordingSpan).
        assert.deepStrictEqual(span.spanContext(), { ...realSpan.spanContext(), spanId: ctx.spanId, isRemote: true }, what);
        assert.equal(out.traceparent, `00-${ctx.traceId}-${ctx.spanId}-0${ctx.traceFlags}`, what);
        assert.equal(want.traceparent, `00-${ctx.traceId}-${realSpan.spanContext().spanId}-0${ctx.traceFlags}`, what);
        assert.equal(out.tracestate, want.tracestate, what);
        passed++;
      }
      // A new root carries nothing on, here as there.
      assert.deepStrictEqual(injected(noop, noop.startSpan('root', { root: true }, ctx)), {}, what);
    }
    // What extract gave is a plain context: given by hand, it is carried on too (without baggage, which only extract keeps).
    const hand = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, traceState: 'k=v', isRemote: true };
    assert.deepStrictEqual(injected(noop, noop.startSpan('x', {}, hand)), { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'k=v' });
    assert.deepStrictEqual(injected(noop, undefined), {}, `${cause}: no span given, none active: nothing written`);
  }
  assert.ok(passed > 1500, `trace contexts passed on: ${passed}`);
  await working.shutdown();
});
