// Every form a span time takes — a Date, an HrTime, unix ms, a reading of the
// clock (performance.now()-style, negatives included) — exported as the
// instant it names, under the default clock and under setClock(fn, 0) and
// setClock(fn, origin). Unix ms earlier than the time origin (a job's
// enqueue time taken before start-up: Date.now() - 60000) were read as a
// reading, decades ahead (2083); a negative reading became "now". The rule:
// a number below both the origin and 1e12 is a reading, else unix ms.
// Generated times, decoded with the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { setClock } from '../../src/clock.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

/** Where a number stops being a reading of the clock (2001-09-09 as unix ms). */
const READING_BELOW = 1e12;
/** The latest instant generated: 2200, well inside int64 ns. */
const LATEST = Date.UTC(2200, 0, 1);

type Time = number | Date | [number, number];
/** A time in one form, and the unix ms and ns it names. */
interface Given { form: string; time: Time; ms: number; ns: bigint }

/** The ns of `ms` exactly (its f64 value, to the ns): `ms * 1e6` rounds to 1 µs past 2^53 ns. */
const exactNs = (ms: number): bigint => BigInt(Math.trunc(ms)) * 1_000_000n + BigInt(Math.round((ms - Math.trunc(ms)) * 1e6));

/** Whole ms or eighths of one: exact in binary, as ns too. */
const between = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo) * 8) / 8;

/** A time in a random form, under a clock whose origin (unix ms at which it read 0) is `origin`. */
function given(r: () => number, origin: number): Given {
  const below = Math.min(origin, READING_BELOW);
  const forms: Array<() => Given> = [
    () => {
      const ms = Math.floor(between(r, -1e11, LATEST));
      return { form: 'Date', time: new Date(ms), ms, ns: exactNs(ms) };
    },
    () => {
      const s = Math.floor(r() * (LATEST / 1e3));
      const n = Math.floor(r() * 1e9);
      return { form: 'HrTime', time: [s, n], ms: s * 1e3 + n / 1e6, ns: BigInt(s) * 1_000_000_000n + BigInt(n) };
    },
    // Unix ms from the boundary on: before the origin (when the origin is past 2001) or after it.
    () => {
      const ms = r() < 0.5 && origin > below ? between(r, Math.max(below, origin - 1e9), origin) : between(r, Math.max(below, origin), LATEST);
      return { form: ms < origin ? 'unix ms before origin' : 'unix ms', time: ms, ms, ns: exactNs(ms) };
    },
    // Readings: ms since the origin, below the boundary; negatives are before the origin.
    () => {
      const reading = r() < 0.3 ? -between(r, 0, r() < 0.5 ? 1e6 : 1e12) : between(r, 0, r() < 0.5 ? Math.min(below, 1e8) : below);
      return { form: reading < 0 ? 'negative reading' : 'reading', time: reading, ms: origin + reading, ns: exactNs(origin) + exactNs(reading) };
    },
  ];
  return forms[Math.floor(r() * forms.length)]!();
}

/** Unix ns as exported: before 1970 sent as 0. */
const wire = (g: Given): bigint => (g.ns < 0n ? 0n : g.ns);

/**
 * Times cross into Wasm as f64 ms relative to its origin: past 2^42 ms (2109)
 * an f64 ms holds 977 ns steps, and an HrTime's seconds and nanoseconds are
 * added in it (two roundings).
 */
function near(got: string | undefined, want: bigint, what: string): void {
  const d = BigInt(got ?? 'NaN') - want;
  assert.ok(d >= -2000n && d <= 2000n, `${what}: got ${got}, want ${want} (${d} ns off)`);
}

const show = (g: Given): string => `${g.form} ${JSON.stringify(g.time)}`;

test('span, event and end times of every form are the instant they name, under the default clock, setClock(fn, 0) and setClock(fn, origin) (generated)', async (t) => {
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const bodies: Uint8Array[] = [];
  const tracer = await init({ serviceName: 'clock-forms', wasm: protoWasm, storage: null, compression: 'none', env: {}, transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }) });
  const r = prng(0x7173);
  const expected = new Map<string, { start: Given; end: Given; event: Given }>();
  const clocks: Array<[string, () => void, number]> = [['default', () => setClock(() => performance.now(), performance.timeOrigin), performance.timeOrigin], ['setClock(unix ms, 0)', () => setClock(() => Date.now(), 0), 0]];
  // Origins from 1971 to 2100, before and after the boundary and now.
  for (let i = 0; i < 6; i++) {
    const origin = Date.UTC(1971, 0, 1) + Math.floor(r() * 4.1e12);
    clocks.push([`setClock(fn, ${new Date(origin).toISOString()})`, () => setClock(() => 1000, origin), origin]);
  }
  for (const [name, use, origin] of clocks) {
    use();
    for (let i = 0; i < 40; i++) {
      const [start, end] = [given(r, origin), given(r, origin)].sort((a, b) => a.ms - b.ms) as [Given, Given];
      const event = given(r, origin);
      const span = `${name} #${i}`;
      tracer.startSpan(span, { startTime: start.time }).addEvent('at', event.time).end(end.time);
      expected.set(span, { start, end, event });
    }
  }
  // A unix time taken right after start-up, a minute back (the audit's case), under the default clock.
  clocks[0]![1]();
  const minuteAgo = Date.now() - 60_000;
  tracer.startSpan('a minute ago', { startTime: minuteAgo }).end(minuteAgo + 10);
  const ago = (ms: number): Given => ({ form: 'unix ms', time: ms, ms, ns: exactNs(ms) });
  expected.set('a minute ago', { start: ago(minuteAgo), end: ago(minuteAgo + 10), event: ago(0) });
  await tracer.shutdown();
  const got = new Map<string, FlatSpan>(bodies.flatMap((b) => allSpans(decodeProtobuf(b))).map((s) => [s.name, s]));
  assert.equal(got.size, expected.size);
  const forms = new Set<string>();
  for (const [name, { start, end, event }] of expected) {
    const s = got.get(name)!;
    near(s.startTimeUnixNano, wire(start), `${name} start ${show(start)}`);
    near(s.endTimeUnixNano, wire(end), `${name} end ${show(end)}`);
    if (s.events.length) near(s.events[0]!.timeUnixNano, wire(event), `${name} event ${show(event)}`);
    for (const g of [start, end, event]) forms.add(g.form);
  }
  // Every form came up.
  assert.deepEqual([...forms].sort(), ['Date', 'HrTime', 'negative reading', 'reading', 'unix ms', 'unix ms before origin']);
});
