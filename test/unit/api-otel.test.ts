// OpenTelemetry API parity with contexts, checked against @opentelemetry/api
// and @opentelemetry/core themselves: an OTel SpanContext (its traceState a
// TraceState object) keeps its tracestate as parent, link and inject target;
// the tracer that records nothing carries a parent's context on, as OTel's
// NoopTracer; getActiveSpan() under withSpan(remote context) is a span that
// records nothing over its ids, as trace.getSpan(setSpanContext(…)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyTracerProvider, ROOT_CONTEXT, trace, type Span as OtelSpan, type SpanContext as OtelSpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { init } from '../../src/node.js';
import type { SpanContext, Tracer } from '../../src/index.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

async function tracerWithSink(options: Record<string, unknown> = {}) {
  const bodies: Uint8Array[] = [];
  const tracer = await init({ serviceName: 'otel-api', wasm: protoWasm, storage: null, compression: 'none', env: {}, transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }), ...options });
  return { tracer, spans: (): FlatSpan[] => bodies.flatMap((b) => allSpans(decodeProtobuf(b))) };
}

const hex = (r: () => number, n: number): string => {
  let s = '';
  while (s.length < n) s += Math.floor(r() * 16).toString(16);
  return /^0+$/.test(s) ? hex(r, n) : s;
};
/** A valid tracestate of 1-6 members (keys simple or multi-tenant; never `ot`, which probability sampling rewrites). */
function tracestate(r: () => number): string {
  const keys = new Set<string>();
  const n = 1 + Math.floor(r() * 6);
  while (keys.size < n) keys.add(r() < 0.3 ? `t${hex(r, 3)}@v${hex(r, 2)}` : `k${hex(r, 1 + Math.floor(r() * 8))}`);
  return [...keys].map((k) => `${k}=${hex(r, 1 + Math.floor(r() * 12))}`).join(',');
}
/** A context as @opentelemetry/api makes one: traceState a TraceState object. */
function otelContext(r: () => number, flags = Math.floor(r() * 4)): OtelSpanContext & { header: string } {
  const header = tracestate(r);
  return { traceId: hex(r, 32), spanId: hex(r, 16), traceFlags: flags, isRemote: r() < 0.5, traceState: new TraceState(header), header };
}
/** A context as OTel's API gives it out, with its TraceState (or our string, passed through) as the header string, for comparing. */
const plain = (c: OtelSpanContext | SpanContext): SpanContext => {
  const out: SpanContext = { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags, isRemote: c.isRemote === true };
  const ts = typeof c.traceState === 'string' ? c.traceState : c.traceState?.serialize();
  if (ts) out.traceState = ts;
  return out;
};
const ours = (c: SpanContext): SpanContext => ({ ...c, isRemote: c.isRemote === true });

test('an OpenTelemetry SpanContext (traceState a TraceState object) keeps its tracestate as parent, under withSpan, in inject and as a link', async () => {
  const { tracer, spans } = await tracerWithSink();
  const r = prng(2222);
  const cases = Array.from({ length: 40 }, (_, i) => ({ i, ctx: otelContext(r, 1 | (r() < 0.5 ? 2 : 0)) }));
  for (const { i, ctx } of cases) {
    assert.equal(ctx.traceState!.serialize(), ctx.header, 'the generated header is TraceState\'s own form');
    const child = tracer.startSpan(`child-${i}`, {}, ctx);
    assert.equal(child.spanContext().traceState, ctx.header, `child-${i}`);
    assert.equal(child.spanContext().traceId, ctx.traceId);
    const headers: Record<string, string> = {};
    tracer.inject(headers, ctx);
    assert.deepEqual(headers, { traceparent: `00-${ctx.traceId}-${ctx.spanId}-0${ctx.traceFlags}`, tracestate: ctx.header });
    const inner = tracer.withSpan(ctx, () => tracer.startSpan(`inner-${i}`));
    assert.equal(inner.spanContext().traceState, ctx.header, `inner-${i}`);
    inner.end();
    child.addLink({ context: ctx, attributes: { n: i } });
    child.end();
  }
  await tracer.flush();
  const byName = new Map(spans().map((s) => [s.name, s]));
  for (const { i, ctx } of cases) {
    const child = byName.get(`child-${i}`)!;
    assert.equal(child.traceState, ctx.header);
    assert.equal(child.parentSpanId, ctx.spanId);
    assert.deepEqual(child.links.map((l) => [l.traceId, l.spanId, l.traceState]), [[ctx.traceId, ctx.spanId, ctx.header]]);
    assert.equal(byName.get(`inner-${i}`)!.traceState, ctx.header);
  }
  await tracer.shutdown();
});

test('a traceState object whose serialize() throws or gives an invalid list: no tracestate, the ids still taken, nothing thrown', async () => {
  const { tracer, spans } = await tracerWithSink();
  const r = prng(3333);
  const bad = [
    { serialize: () => { throw new Error('broken'); } },
    { serialize: () => 'not a=valid=list' },
    { serialize: () => 42 },
    { serialize: 'k=v' },
  ];
  for (const [i, traceState] of bad.entries()) {
    const ctx = { traceId: hex(r, 32), spanId: hex(r, 16), traceFlags: 1, isRemote: true, traceState } as unknown as SpanContext;
    const child = tracer.startSpan(`bad-${i}`, {}, ctx);
    assert.equal(child.spanContext().traceId, ctx.traceId);
    assert.equal(child.spanContext().traceState, undefined);
    const headers: Record<string, string> = {};
    tracer.inject(headers, ctx);
    assert.deepEqual(Object.keys(headers), ['traceparent']);
    child.addLink({ context: ctx });
    child.end();
  }
  await tracer.shutdown();
  const got = spans();
  assert.equal(got.length, bad.length);
  for (const s of got) {
    assert.equal(s.traceState, '');
    assert.deepEqual(s.links.map((l) => l.traceState), ['']);
  }
});

/** The API's own NoopTracer (no SDK registered). */
const otelNoop = new ProxyTracerProvider().getTracer('parity');

test('the tracer that records nothing (disabled, OTEL_SDK_DISABLED, Wasm that cannot load): a span carries its parent\'s context, as OpenTelemetry\'s NoopTracer', async (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warnings.push(a.join(' ')));
  const tracers: Array<[string, Tracer]> = [
    ['disabled', (await tracerWithSink({ disabled: true })).tracer],
    ['OTEL_SDK_DISABLED', (await tracerWithSink({ env: { OTEL_SDK_DISABLED: 'true' } })).tracer],
    ['bad wasm', (await tracerWithSink({ wasm: new Uint8Array([0, 97, 115, 109, 9]) })).tracer],
  ];
  assert.match(warnings.join('\n'), /tracing is off/);
  const r = prng(4444);
  const zero = otelNoop.startSpan('zero').spanContext();
  for (const [what, tracer] of tracers) {
    assert.equal(tracer.startSpan('probe').isRecording(), false, what);
    for (let i = 0; i < 30; i++) {
      const ctx = otelContext(r);
      const want = plain(otelNoop.startSpan('x', {}, trace.setSpanContext(ROOT_CONTEXT, ctx)).spanContext());
      const span = tracer.startSpan(`c-${i}`, {}, ctx);
      assert.deepEqual(ours(span.spanContext()), want, `${what} ${i}`);
      assert.equal(span.isRecording(), false);
      assert.equal(span.setAttribute('a', 1).addEvent('e').setStatus({ code: 2 }), span, 'methods return the span');
      // A span of ours as the parent, given to startActiveSpan: the same context on.
      const active = tracer.startActiveSpan(`a-${i}`, {}, span, (s) => s.spanContext());
      assert.deepEqual(ours(active), want);
      // A plain SpanContext (traceState a string), as extract() gives.
      assert.deepEqual(ours(tracer.startSpan('p', {}, want).spanContext()), want);
      // root: a new trace, which records nothing: the invalid context, as OTel's.
      const root = tracer.startSpan('root', { root: true }, ctx).spanContext();
      assert.deepEqual(ours(root), plain(otelNoop.startSpan('root', { root: true }, trace.setSpanContext(ROOT_CONTEXT, ctx)).spanContext()));
      assert.deepEqual([root.traceId, root.spanId], [zero.traceId, zero.spanId]);
    }
    // Invalid parents: the invalid context, nothing thrown.
    const throwing = { get traceId(): string { throw new Error('getter'); } };
    for (const parent of [{ traceId: '0'.repeat(32), spanId: hex(r, 16), traceFlags: 1 }, { traceId: 'xyz', spanId: '1' }, 7, 'p', throwing, null, undefined]) {
      const c = tracer.startSpan('bad', {}, parent as SpanContext).spanContext();
      assert.deepEqual([c.traceId, c.spanId, c.traceFlags], [zero.traceId, zero.spanId, 0], `${what} ${String(parent)}`);
    }
  }
});

test('after shutdown(), a span started under a remote parent carries it on as remote; under a local span, as local', async () => {
  const { tracer } = await tracerWithSink();
  const r = prng(5555);
  const local = tracer.startSpan('local');
  await tracer.shutdown();
  for (let i = 0; i < 20; i++) {
    const ctx = otelContext(r);
    const want = plain(otelNoop.startSpan('x', {}, trace.setSpanContext(ROOT_CONTEXT, ctx)).spanContext());
    assert.deepEqual(ours(tracer.startSpan(`after-${i}`, {}, ctx).spanContext()), { ...want, traceFlags: want.traceFlags & 3 });
  }
  const c = tracer.startSpan('under-local', {}, local).spanContext();
  assert.deepEqual([c.traceId, c.spanId, c.isRemote], [local.spanContext().traceId, local.spanContext().spanId, false]);
});

test('a parent context with unknown trace flags (generated 0-255): only sampled and random are kept, as a SpanContext object and through trace.setSpanContext', async () => {
  const { tracer, spans } = await tracerWithSink();
  const r = prng(7777);
  for (let flags = 0; flags < 256; flags++) {
    const ctx = otelContext(r, flags);
    for (const [how, parent] of [['object', ctx], ['setSpanContext', trace.getSpan(trace.setSpanContext(ROOT_CONTEXT, ctx))!.spanContext()]] as const) {
      const where = `flags ${flags} (${how})`;
      assert.equal(tracer.withSpan(parent, () => tracer.getActiveSpan())!.spanContext().traceFlags, flags & 3, where);
      const headers: Record<string, string> = {};
      tracer.inject(headers, parent);
      assert.equal(headers.traceparent, `00-${ctx.traceId}-${ctx.spanId}-0${flags & 3}`, where);
      const child = tracer.startSpan(`child-${flags}-${how}`, {}, parent);
      assert.equal(child.spanContext().traceFlags & ~3, 0, where);
      child.addLink({ context: parent });
      child.end();
    }
  }
  await tracer.flush();
  const exported = spans();
  assert.ok(exported.length >= 256, `${exported.length} children exported`);
  // OTLP span and link flags: the W3C flags in the low byte (sampled, random), then the remote bits.
  for (const s of exported) for (const f of [s.flags, ...s.links.map((l) => l.flags)]) assert.equal(f & 0xfc, 0, `${s.name}: flags ${f}`);
  await tracer.shutdown();
});

test('getActiveSpan() inside withSpan(remote context): a span that records nothing over its context, as OpenTelemetry\'s trace.getSpan', async () => {
  const { tracer } = await tracerWithSink();
  const r = prng(6666);
  assert.equal(tracer.getActiveSpan(), undefined);
  for (let i = 0; i < 30; i++) {
    const flags = Math.floor(r() * 4);
    const header = tracestate(r);
    const extracted = tracer.extract({ traceparent: `00-${hex(r, 32)}-${hex(r, 16)}-0${flags}`, tracestate: header, baggage: `k=${i}` })!;
    const active = tracer.withSpan(extracted, () => tracer.getActiveSpan());
    assert.ok(active);
    assert.equal(active.isRecording(), false);
    assert.deepEqual(ours(active.spanContext()), plain(trace.getSpan(trace.setSpanContext(ROOT_CONTEXT, extracted as unknown as OtelSpanContext))!.spanContext()));
    assert.deepEqual(ours(active.spanContext()), { traceId: extracted.traceId, spanId: extracted.spanId, traceFlags: flags, isRemote: true, traceState: header });
    // Its baggage goes on with it; a child started from it is the remote context's child.
    const headers: Record<string, string> = {};
    tracer.inject(headers, active);
    assert.equal(headers.baggage, `k=${i}`);
    const child = tracer.startSpan('child', {}, active);
    assert.equal(child.spanContext().traceId, extracted.traceId);
    child.end();
  }
  // A span of ours stays itself; baggage alone (no valid ids) gives no span.
  const mine = tracer.startSpan('mine');
  assert.equal(tracer.withSpan(mine, () => tracer.getActiveSpan()), mine);
  assert.equal(tracer.withSpan(tracer.extract({ baggage: 'only=1' })!, () => tracer.getActiveSpan()), undefined);
  mine.end();
  await tracer.shutdown();
});

test('an OpenTelemetry Context as the parent (trace.setSpan, trace.setSpanContext, ROOT_CONTEXT): the span it holds, none a new trace; in startSpan, startActiveSpan, withSpan and inject, recording or not', async () => {
  const { tracer, spans } = await tracerWithSink();
  const off = (await tracerWithSink({ disabled: true })).tracer;
  const r = prng(8888);
  const want: Array<[name: string, traceId: string, parentSpanId: string, traceState: string]> = [];
  for (let i = 0; i < 40; i++) {
    // A context holding a span of ours, or a remote context (traceState a TraceState object).
    const local = r() < 0.5 ? tracer.startSpan(`local-${i}`) : undefined;
    const remote = otelContext(r, 1);
    const ctx = local ? trace.setSpan(ROOT_CONTEXT, local as unknown as OtelSpan) : trace.setSpanContext(ROOT_CONTEXT, remote);
    const p = local ? local.spanContext() : plain(remote);
    const ts = local ? '' : remote.header;
    const outer = tracer.startSpan(`outer-${i}`);
    const kids = tracer.withSpan(outer, () => [
      tracer.startSpan(`start-${i}`, {}, ctx),
      tracer.startActiveSpan(`active-${i}`, {}, ctx, (s) => s),
      tracer.withSpan(ctx, () => tracer.startSpan(`with-${i}`)),
      // The root context holds no span: a new trace, whatever is active.
      tracer.startSpan(`root-${i}`, {}, ROOT_CONTEXT),
    ]);
    for (const k of kids) k.end();
    outer.end();
    local?.end();
    for (const n of ['start', 'active', 'with']) want.push([`${n}-${i}`, p.traceId, p.spanId, ts]);
    assert.notEqual(kids[3]!.spanContext().traceId, outer.spanContext().traceId, `root-${i}: a new trace`);
    want.push([`root-${i}`, kids[3]!.spanContext().traceId, '', '']);
    const headers: Record<string, string> = {};
    tracer.inject(headers, ctx);
    assert.equal(headers.traceparent, `00-${p.traceId}-${p.spanId}-0${p.traceFlags}`, `inject ${i}`);
    // The tracer that records nothing carries the context's span on, as OpenTelemetry's NoopTracer.
    assert.deepEqual(ours(off.startSpan(`off-${i}`, {}, ctx).spanContext()), plain(otelNoop.startSpan('x', {}, ctx).spanContext()), `off ${i}`);
  }
  await tracer.flush();
  const byName = new Map(spans().map((s) => [s.name, s]));
  for (const [name, traceId, parentSpanId, traceState] of want) {
    const s = byName.get(name);
    assert.ok(s, `${name} exported`);
    assert.deepEqual([s.traceId, s.parentSpanId, s.traceState], [traceId, parentSpanId, traceState], name);
  }
  await tracer.shutdown();
});
