// Links and explicit times through the WASI library against the JS SDK on
// the same inputs. Seeded scripts (links given at the start and added later,
// with attributes, valid and invalid contexts and tracestates, past the link
// and attribute limits; start, event and end times of every kind: none, NaN,
// infinities, ms since the origin, unix ms, before 1970, on both sides of
// 10^12, ends before starts) run in a small WASI command (fixtures/links.ts,
// compiled here with asc) and through the JS tracer over the same Wasm core;
// the decoded OTLP/JSON spans must agree. Each time is compared by what it
// was made from: a given time read as ms since the origin or as unix ms
// (each side's origin), or now (between the run's first and last reading).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { coreTracer } from '../helpers/core-tracer.js';
import { now, setClock, timeOrigin } from '../../src/clock.js';
import { allSpans, decodeJson, type OtlpKeyValue, type OtlpSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import type { Span, SpanContext } from '../../src/types.js';
import { wasiFixture } from './fixture.js';

const fixture = wasiFixture('links');

type Attr = [key: string, value: string];
type Step =
  | { k: 'S'; name: string; start?: number; links: SpanContext[] }
  | { k: 'L'; ctx: SpanContext; attrs: Attr[] }
  | { k: 'E'; name: string; time?: number; attrs: Attr[] }
  | { k: 'N'; time?: number }
  // addLink of what tracer.extract reads from a traceparent and a tracestate, when it reads a context.
  | { k: 'X'; tp: string; ts: string }
  // WASI only: an attribute for the kind of item not added last (JS has no way to say it): ignored.
  | { k: 'A' | 'e'; attr: Attr };

const SEP = { step: '\x02', field: '\x01' };

/** An f64 as the hex of its bits, for the fixture (exact, where a decimal text might not parse back). */
const bits = (x: number | undefined): string => {
  if (x === undefined) return '';
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString('hex');
};

function opsOf(steps: Step[]): string {
  const out: string[] = [];
  const ctx = (op: string, c: SpanContext) => [op, c.traceId, c.spanId, c.traceFlags, c.traceState ?? '', c.isRemote ? '1' : '0'].join(SEP.field);
  for (const s of steps) {
    if (s.k === 'S') {
      for (const c of s.links) out.push(ctx('O', c));
      out.push(['S', s.name, bits(s.start)].join(SEP.field));
    } else if (s.k === 'L') {
      out.push(ctx('L', s.ctx));
      for (const [k, v] of s.attrs) out.push(['A', k, v].join(SEP.field));
    } else if (s.k === 'E') {
      out.push(['E', s.name, bits(s.time)].join(SEP.field));
      for (const [k, v] of s.attrs) out.push(['e', k, v].join(SEP.field));
    } else if (s.k === 'N') out.push(['N', bits(s.time)].join(SEP.field));
    else if (s.k === 'X') out.push(['X', s.tp, s.ts].join(SEP.field));
    else out.push([s.k, ...s.attr].join(SEP.field));
  }
  return out.join(SEP.step);
}

/** Unix ns of a time origin given in ms, as the core takes it (assembly/core/config.ts setOrigin). */
const originNsOf = (ms: number): bigint => BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms - Math.floor(ms)) * 1e6));

interface Run { spans: OtlpSpan[]; originNs: bigint; window: [number, number] }

async function runFixture(steps: Step[], env: Record<string, string>): Promise<Run> {
  const run = await runWasi({ wasm: fixture(), sockets: false, env: { OPS: opsOf(steps), ...env }, timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  const lines = run.stdout.split('\n').filter((l) => l.length);
  const first = lines.shift()!.split(' ');
  const last = lines.pop()!.split(' ');
  assert.equal(first[0], 't0');
  assert.equal(last[0], 'origin');
  return {
    spans: lines.flatMap((l) => allSpans(decodeJson(l))),
    originNs: BigInt(last[1]!),
    window: [Number(first[1]), Number(last[2])],
  };
}

async function runJs(steps: Step[], limits: number[]): Promise<Run> {
  const ct = await coreTracer({ json: true, limits });
  // Its clock from 0 now, as the WASI run's starts at its init: a time since the origin falls on the same side of "now" in both.
  const p = performance.now();
  setClock(() => performance.now() - p, timeOrigin());
  const t0 = now();
  let span: Span | undefined;
  const obj = (attrs: Attr[]) => Object.fromEntries(attrs);
  for (const s of steps) {
    if (s.k === 'S') {
      span?.end();
      span = ct.tracer.startSpan(s.name, { links: s.links.map((context) => ({ context })), ...(s.start !== undefined && { startTime: s.start }) }, null);
    } else if (s.k === 'L') span!.addLink({ context: s.ctx, ...(s.attrs.length && { attributes: obj(s.attrs) }) });
    else if (s.k === 'E') {
      if (s.time === undefined) span!.addEvent(s.name, obj(s.attrs));
      else span!.addEvent(s.name, obj(s.attrs), s.time);
    } else if (s.k === 'N') span!.end(s.time);
    else if (s.k === 'X') {
      const context = ct.tracer.extract({ traceparent: s.tp, tracestate: s.ts });
      if (context) span!.addLink({ context });
    }
  }
  span?.end();
  const spans = ct.drain().flatMap((b) => allSpans(decodeJson(b)));
  return { spans, originNs: originNsOf(timeOrigin()), window: [t0, now()] };
}

/**
 * What a time was made from: `abs:x` / `rel:x` (the given time x nearest to
 * it, within 1 µs, read as unix ms / as ms since the origin), `now` (within
 * the run), or the ends of what int64 ns hold; anything else as its ms since
 * the origin. (JS reads a time since the origin as (t + origin) - origin:
 * a few hundred ns off.)
 */
function made(ns: string, run: Run, given: (number | undefined)[]): string {
  const t = BigInt(ns);
  if (t === 0n) return 'min';
  if (t === 2n ** 63n - 1n) return 'max';
  let best = '';
  let gap = 1000n;
  const near = (at: bigint, label: string) => {
    const d = at > t ? at - t : t - at;
    if (d < gap) [gap, best] = [d, label];
  };
  for (const x of given) {
    if (x === undefined || !Number.isFinite(x)) continue;
    const ns = BigInt(Math.round(x * 1e6));
    near(ns, `abs:${x}`);
    near(run.originNs + ns, `rel:${x}`);
  }
  if (best) return best;
  const ms = Number(t - run.originNs) / 1e6;
  return ms >= run.window[0] && ms <= run.window[1] ? 'now' : `other:${ms}`;
}

const byKey = (kvs: OtlpKeyValue[]) => [...kvs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** The spans to compare, by name, each time by what it was made from. */
function view(run: Run, steps: Step[]): Map<string, unknown> {
  // Each span's given times, in script order.
  const given = new Map<string, (number | undefined)[]>();
  let times: (number | undefined)[] = [];
  for (const s of steps) {
    if (s.k === 'S') given.set(s.name, (times = [s.start]));
    else if (s.k === 'E' || s.k === 'N') times.push(s.time);
  }
  const out = new Map<string, unknown>();
  for (const s of run.spans) {
    const g = given.get(s.name)!;
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), `${s.name}: ends before it starts`);
    out.set(s.name, {
      start: made(s.startTimeUnixNano, run, g), end: made(s.endTimeUnixNano, run, g),
      links: s.links.map((l) => ({ ...l, attributes: byKey(l.attributes) })), droppedLinksCount: s.droppedLinksCount,
      events: s.events.map((e) => ({ name: e.name, time: made(e.timeUnixNano, run, g), attributes: byKey(e.attributes), dropped: e.droppedAttributesCount })),
      droppedEventsCount: s.droppedEventsCount,
    });
  }
  return out;
}

// ---- generated scripts -------------------------------------------------------

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rand, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');

function tracestate(r: Rand): string {
  const x = r();
  if (x < 0.3) return '';
  if (x < 0.5) return pick(r, ['vendor=abc', 'a=1,b=2', ' a=1 , ,b=2 ', 'ot=th:8;rv:0123456789abcd', 'tenant@sys=v', 'k=' + 'v'.repeat(256)]);
  // Invalid: an upper-case key, a repeated key, no '=', a value ending in a space, over 32 members.
  if (x < 0.7) return pick(r, ['A=1', 'a=1,a=2', 'bad', 'a=b ', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 'a=1\u00e9']);
  // Over 512 characters: members over 128 go first, then from the end.
  return Array.from({ length: int(r, 3, 12) }, (_, i) => `m${i}=` + 'x'.repeat(r() < 0.3 ? int(r, 127, 250) : int(r, 10, 120))).join(',');
}

function context(r: Rand): SpanContext {
  const c: SpanContext = { traceId: hex(r, 32), spanId: hex(r, 16), traceFlags: int(r, 0, 255), traceState: tracestate(r), isRemote: r() < 0.5 };
  const x = r();
  // Now and then one JS drops: upper case, a length off by one, not hex, all zeros, not ASCII.
  if (x < 0.04) c.traceId = c.traceId.toUpperCase().replace(/^[0-9]/, 'A');
  else if (x < 0.07) c.spanId = c.spanId.slice(1);
  else if (x < 0.1) c.traceId += '0';
  else if (x < 0.12) c.spanId = 'g' + c.spanId.slice(1);
  else if (x < 0.15) c.traceId = '0'.repeat(32);
  else if (x < 0.18) c.spanId = '0'.repeat(16);
  else if (x < 0.2) c.traceId = '\u00e9' + c.traceId.slice(2);
  return c;
}

/** A dyadic fraction (exact in binary), so both sides are given the very same double. */
const frac = (r: Rand) => int(r, 0, 1023) / 1024;

function time(r: Rand): number | undefined {
  const x = r();
  if (x < 0.2) return undefined;
  if (x < 0.3) return pick(r, [NaN, Infinity, -Infinity]);
  // ms since the origin, as nowMs() + d gives; not within the first 5 s, where each run's "now" falls
  if (x < 0.5) return (r() < 0.5 ? int(r, -5000, -1) : int(r, 5000, 60_000)) + frac(r);
  if (x < 0.6) return int(r, 1e6, 1e11) + frac(r); // since the origin, far ahead
  if (x < 0.7) return pick(r, [1e12 - 1, 1e12 - 1 / 1024, 1e12, 1e12 + 0.5, -1e13, 9e15]); // about 10^12; before 1970; past 2262
  if (x < 0.9) return Date.now() + int(r, -86_400_000, 86_400_000) + frac(r); // unix ms, a day either side
  return int(r, 1e12, 4e12) + frac(r); // unix ms, 2001 to 2096
}

const attrs = (r: Rand, n: number, prefix: string): Attr[] => Array.from({ length: n }, (_, i) => [`${prefix}.${i}`, hex(r, int(r, 0, 8))]);

function script(seed: number, perSpan: [number, number]): Step[] {
  const r = prng(seed);
  const steps: Step[] = [];
  for (let n = 0; n < 12; n++) {
    steps.push({ k: 'S', name: `span-${n}`, start: time(r), links: Array.from({ length: r() < 0.7 ? int(r, 0, 4) : 0 }, () => context(r)) });
    const items = int(r, perSpan[0], perSpan[1]);
    let last: 'L' | 'E' = 'L'; // what the span's last item was (its links at the start, or none)
    for (let i = 0; i < items; i++) {
      const x = r();
      if (x < 0.55) steps.push({ k: (last = 'L'), ctx: context(r), attrs: attrs(r, r() < 0.2 ? int(r, 0, 12) : int(r, 0, 2), 'l') });
      else if (x < 0.8) steps.push({ k: (last = 'E'), name: `ev-${i}`, time: time(r), attrs: attrs(r, int(r, 0, 3), 'e') });
      else steps.push({ k: last === 'L' ? 'e' : 'A', attr: [`stray.${i}`, 'x'] }); // for the other kind
    }
    if (r() < 0.8) steps.push({ k: 'N', time: time(r) });
  }
  return steps;
}

test('links (at the start and added, with attributes) and explicit start, event and end times: as JS records them (seeded scripts)', async () => {
  const r = prng(0x11c);
  let links = 0;
  let dropped = 0;
  let overLimit = 0;
  for (let c = 0; c < 8; c++) {
    const seed = 1 + Math.floor(r() * 1e6);
    // Default limits, or small ones from the environment (the link and event attribute limits are one: the smaller).
    const small = c % 2 === 1;
    const [linkLimit, nested] = small ? [int(r, 0, 6), int(r, 0, 4)] : [128, 128];
    const env: Record<string, string> = small ? { OTEL_SPAN_LINK_COUNT_LIMIT: String(linkLimit), OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: String(nested) } : {};
    const steps = script(seed, c === 2 ? [140, 200] : [0, 24]);
    const label = `case ${c} (seed ${seed}, limits ${linkLimit}/${nested})`;
    const [wasi, js] = [await runFixture(steps, env), await runJs(steps, [128, 128, linkLimit, nested])];
    assert.equal(wasi.spans.length, 12, label);
    assert.deepEqual(view(wasi, steps), view(js, steps), label);
    for (const s of wasi.spans) {
      links += s.links.length;
      dropped += s.droppedLinksCount;
      if (s.links.some((l) => l.droppedAttributesCount > 0)) overLimit++;
    }
  }
  // The cases reached what they are for.
  assert.ok(links > 300 && dropped > 20 && overLimit > 3, `${links} links, ${dropped} dropped, ${overLimit} spans with a link over its attribute limit`);
});

/** A traceparent from a generated context (its ids now and then invalid), of this version or a later one, now and then malformed. */
function traceparent(r: Rand, c: SpanContext): string {
  const version = pick(r, ['00', '00', '00', '01', 'cc', 'ff']);
  let tp = `${version}-${c.traceId}-${c.spanId}-${c.traceFlags.toString(16).padStart(2, '0')}`;
  if (version !== '00' && r() < 0.5) tp += '-' + hex(r, int(r, 0, 20));
  const x = r();
  if (x < 0.1) tp = pick(r, [' ', '\t', '']) + tp + pick(r, [' ', '\n', '']); // blanks JS trims
  else if (x < 0.15) tp = tp.slice(0, -1);
  else if (x < 0.2) tp = tp.replace(/-/, '_');
  return tp;
}

test('links to what tracer.extract reads from generated traceparent/tracestate headers: as JS links what its extract returns; the caller\'s TRACEPARENT/TRACESTATE stay its spans\' parent and tracestate', async () => {
  const r = prng(0xe87);
  const caller = { traceId: hex(r, 32), spanId: hex(r, 16), state: 'vendor=abc,other=1' };
  const ref = await coreTracer();
  let links = 0;
  let none = 0;
  for (let c = 0; c < 4; c++) {
    const steps: Step[] = [];
    for (let n = 0; n < 12; n++) {
      steps.push({ k: 'S', name: `span-${n}`, links: [] });
      for (let i = int(r, 0, 10); i > 0; i--) {
        const ctx = context(r);
        steps.push({ k: 'X', tp: traceparent(r, ctx), ts: ctx.traceState ?? '' });
      }
      steps.push({ k: 'N' });
    }
    const env = { TRACEPARENT: `00-${caller.traceId}-${caller.spanId}-01`, TRACESTATE: caller.state };
    const [wasi, js] = [await runFixture(steps, env), await runJs(steps, [128, 128, 128, 128])];
    const label = `case ${c}`;
    assert.equal(wasi.spans.length, 12, label);
    assert.deepEqual(view(wasi, steps), view(js, steps), label);
    for (const s of wasi.spans) {
      assert.deepEqual([s.traceId, s.parentSpanId, s.traceState], [caller.traceId, caller.spanId, caller.state], `${label}: ${s.name}`);
      links += s.links.length;
    }
    for (const s of steps) if (s.k === 'X' && !ref.tracer.extract({ traceparent: s.tp, tracestate: s.ts })) none++;
  }
  assert.ok(links > 100 && none > 20, `${links} links, ${none} headers that carry no context`);
});
