// setClock(fn, originMs) after init(): Wasm turns span times into unix ns
// with the origin it was configured with, so it must follow the new one.
// Every exported time is originMs + fn() (or the explicit time given).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { setClock } from '../../src/clock.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

async function tracerWithSink(serviceName: string) {
  const bodies: Uint8Array[] = [];
  const tracer = await init({ serviceName, wasm: protoWasm, storage: null, compression: 'none', env: {}, transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }) });
  return { tracer, spans: (): FlatSpan[] => bodies.flatMap((b) => allSpans(decodeProtobuf(b))) };
}

/** Unix ns of `originMs + ms`, both exact in binary (whole ms, eighths of a ms). */
const ns = (originMs: number, ms: number): bigint => BigInt(originMs) * 1_000_000n + BigInt(ms * 1e6);

/**
 * Times cross into Wasm as f64 ms relative to the origin it was configured
 * with; relative to one decades away, an f64 holds them to a few hundred ns.
 */
function near(got: string[] | undefined, want: bigint[], name: string): void {
  assert.equal(got?.length, want.length, name);
  got.forEach((g, i) => {
    const d = BigInt(g) - want[i]!;
    assert.ok(d >= -1000n && d <= 1000n, `${name} [${i}]: ${g}, want ${want[i]} (${d} ns off)`);
  });
}

test('setClock(fn, originMs) after init(): span, event and explicit times (dates, unix ms, clock readings) are originMs + fn(), for every live tracer', async (t) => {
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const a = await tracerWithSink('clock-a');
  const b = await tracerWithSink('clock-b');
  const r = prng(1111);
  const expected = new Map<string, bigint[]>();
  let clock = 0;
  for (let i = 0; i < 60; i++) {
    // Origins from 1971 to 2100, whole ms; clock readings in eighths of a ms up to ~12 days.
    const origin = Date.UTC(1971, 0, 1) + Math.floor(r() * 4.1e12);
    const read = (): number => Math.floor(r() * 1e9) / 8;
    setClock(() => clock, origin);
    const { tracer } = i % 2 ? b : a;
    const [start, event, end] = [read(), read(), read()].sort((x, y) => x - y) as [number, number, number];
    clock = start;
    const span = tracer.startSpan(`clocked-${i}`);
    clock = event;
    span.addEvent('mid');
    clock = end;
    span.end();
    expected.set(`clocked-${i}`, [ns(origin, start), ns(origin, end), ns(origin, event)]);
    // Explicit times: a Date and unix ms after the origin.
    const [d0, d1] = [Math.floor(r() * 1e9), Math.floor(r() * 1e9)].sort((x, y) => x - y) as [number, number];
    tracer.startSpan(`explicit-${i}`, { startTime: new Date(origin + d0) }).end(origin + d1);
    expected.set(`explicit-${i}`, [ns(origin, d0), ns(origin, d1)]);
    // Explicit readings of the clock (numbers below the origin, as performance.now() values are).
    const [r0, r1, r2] = [read(), read(), read()].sort((x, y) => x - y) as [number, number, number];
    tracer.startSpan(`reading-${i}`, { startTime: r0 }).addEvent('at', r1).end(r2);
    expected.set(`reading-${i}`, [ns(origin, r0), ns(origin, r2), ns(origin, r1)]);
  }
  setClock(() => performance.now(), performance.timeOrigin);
  await Promise.all([a.tracer.shutdown(), b.tracer.shutdown()]);
  const got = new Map([...a.spans(), ...b.spans()].map((s) => [s.name, [s.startTimeUnixNano, s.endTimeUnixNano, ...s.events.map((e) => e.timeUnixNano)]]));
  assert.equal(got.size, expected.size);
  for (const [name, times] of expected) near(got.get(name), times, name);
});

test('setClock with no origin, or the same one, keeps the origin: times go on from it', async (t) => {
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const { tracer, spans } = await tracerWithSink('clock-same');
  const origin = Date.UTC(2024, 5, 1);
  let clock = 250;
  setClock(() => clock, origin);
  setClock(() => clock);
  tracer.startSpan('kept').end();
  setClock(() => clock, origin);
  clock = 500;
  tracer.startSpan('same').end();
  await tracer.shutdown();
  const got = spans();
  assert.deepEqual(got.map((s) => s.name), ['kept', 'same']);
  near(got.map((s) => s.startTimeUnixNano), [ns(origin, 250), ns(origin, 500)], 'start');
});
