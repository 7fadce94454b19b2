// Attributes through the WASI library against the JS SDK on the same inputs.
// Seeded scripts (span names enough to fill the intern table, then new keys;
// empty, long and repeated keys; values of every type; string arrays larger
// than a span holds) run in a small WASI command (fixtures/attributes.ts,
// compiled here with asc) and through the JS tracer over the same Wasm core;
// the decoded OTLP/JSON spans must agree. 64-bit integers, which JS has no
// type for, are checked against the rule docs/wasi.md gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { coreTracer } from '../helpers/core-tracer.js';
import { truncate } from '../../src/core.js';
import { IO_SIZE } from '../../src/wasm.js';
import { allSpans, decodeJson, type OtlpAnyValue, type OtlpKeyValue, type OtlpSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { wasiFixture } from './fixture.js';

const fixture = wasiFixture('attributes');

/** A value as the fixture takes it: a type letter (fixtures/attributes.ts) and its text. */
interface Value { type: string; text: string }
type Attr = [key: string, value: Value];
interface Step { name: string; attrs: Attr[]; events: { name: string; attrs: Attr[] }[] }
/** Spans in the order they end: a script's span, or `count` spans named prefix0, prefix1, ... */
type Script = (Step | { count: number; prefix: string })[];

const SEP = { step: '\x02', field: '\x01', item: '\x03' };

function opsOf(script: Script): string {
  const steps: string[] = [];
  const attr = (op: string, [k, v]: Attr) => steps.push([op, v.type, k, v.text].join(SEP.field));
  for (const s of script) {
    if ('count' in s) {
      steps.push(['F', s.count, s.prefix].join(SEP.field));
      continue;
    }
    steps.push('S' + SEP.field + s.name);
    for (const a of s.attrs) attr('a', a);
    for (const e of s.events) {
      steps.push('E' + SEP.field + e.name);
      for (const a of e.attrs) attr('e', a);
    }
  }
  return steps.join(SEP.step);
}

/** What the fixture sets, as a JS attribute value. */
function jsValue({ type, text }: Value): unknown {
  const items = text === '' ? [] : text.split(SEP.item);
  switch (type) {
    case 's': return text;
    case 'b': return text === '1';
    case 'd': return Number(text);
    case 'i': case 'u': return Number(BigInt(text));
    case 'S': return items;
    case 'B': return items.map((s) => s === '1');
    case 'D': return items.map(Number);
    default: return items.map((s) => Number(BigInt(s)));
  }
}

async function runFixture(script: Script): Promise<OtlpSpan[]> {
  const run = await runWasi({ wasm: fixture(), sockets: false, env: { OPS: opsOf(script) }, timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  return run.stdout.split('\n').filter((l) => l.length).flatMap((l) => allSpans(decodeJson(l)));
}

async function runJs(script: Script): Promise<OtlpSpan[]> {
  const ct = await coreTracer({ json: true });
  const obj = (attrs: Attr[]) => Object.fromEntries(attrs.map(([k, v]) => [k, jsValue(v)]));
  const bodies: Uint8Array[] = [];
  // Drained as often as the WASI library exports (batches of 512), so the span pool never fills.
  const ended = () => void (ct.ended() % 256 === 0 && bodies.push(...ct.drain()));
  for (const s of script) {
    if ('count' in s) {
      for (let i = 0; i < s.count; i++, ended()) ct.tracer.startSpan(s.prefix + i).end();
      continue;
    }
    const span = ct.tracer.startSpan(s.name);
    for (const [k, v] of s.attrs) span.setAttribute(k, jsValue(v) as never);
    for (const e of s.events) span.addEvent(e.name, obj(e.attrs) as never);
    span.end();
    ended();
  }
  bodies.push(...ct.drain());
  return bodies.flatMap((b) => allSpans(decodeJson(b)));
}

/** A string array whose elements, cut to the value limit, take more than the IO area (so more than a span holds). */
const tooLarge = ({ type, text }: Value) => type === 'S' &&
  text.split(SEP.item).reduce((n, item) => n + 2 + Buffer.byteLength(truncate(item, 4096)), 0) > IO_SIZE;

/** What must agree, span by span: names, attributes (a map: in key order), events, dropped counts. */
const byKey = (kvs: OtlpKeyValue[]) => [...kvs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const view = (spans: OtlpSpan[]) => spans.map((s) => JSON.stringify({
  name: s.name, attributes: byKey(s.attributes), droppedAttributesCount: s.droppedAttributesCount, droppedEventsCount: s.droppedEventsCount,
  events: s.events.map((e) => ({ name: e.name, attributes: byKey(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
})).sort(); // the export order is not the point

// ---- generated scripts -------------------------------------------------------

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const PIECES = ['a', 'b', 'z', '.', '_', '-', ' ', 'é', 'ж', '€', '中', '😀', '\u2028', '"', '\\', '\t'];
const text = (r: Rand, n: number) => Array.from({ length: n }, () => pick(r, PIECES)).join('');

/** An integer both sides send alike: within ±2^53, or (u) past int64, where both send a double. */
function sharedInt(r: Rand, unsigned: boolean): string {
  if (unsigned && r() < 0.2) return String(2n ** 63n + BigInt(int(r, 0, 2 ** 30)) * 2n ** 32n);
  const v = BigInt(int(r, 0, 2 ** 53)) * (unsigned || r() < 0.5 ? 1n : -1n);
  return String(v);
}

/**
 * A dyadic double, so its text parses to the same number in AssemblyScript
 * and JS; not integral (JS sends an integral number as an int).
 */
const double = (r: Rand) => String((2 * int(r, -1e6, 1e6) + 1) / 2 ** int(r, 1, 12));

function value(r: Rand): Value {
  const type = pick(r, ['s', 's', 's', 'b', 'd', 'i', 'u', 'S', 'S', 'B', 'D', 'I', 'U']);
  const n = int(r, 0, 6);
  const items = (f: () => string) => Array.from({ length: n }, f);
  switch (type) {
    case 's': return { type, text: r() < 0.05 ? text(r, int(r, 4000, 4200)) : text(r, int(r, 0, 20)) };
    case 'b': return { type, text: r() < 0.5 ? '1' : '0' };
    case 'd': return { type, text: double(r) };
    case 'i': case 'u': return { type, text: sharedInt(r, type === 'u') };
    case 'S': {
      // Now and then more than a span holds (56 KiB): dropped and counted.
      const big = r() < 0.15;
      const list = Array.from({ length: big ? int(r, 10, 24) : Math.max(n, 1) }, () => text(r, big ? int(r, 2000, 4096) : int(r, 1, 12)));
      return { type, text: list.join(SEP.item) };
    }
    case 'B': return { type, text: items(() => (r() < 0.5 ? '1' : '0')).join(SEP.item) };
    case 'D': return { type, text: items(() => double(r)).join(SEP.item) };
    default: return { type, text: items(() => sharedInt(r, type === 'U')).join(SEP.item) };
  }
}

/** Keys: mostly new, some repeated, some empty, some longer than the 128 characters interned. */
function key(r: Rand, seen: string[], fresh: () => string): string {
  const x = r();
  if (x < 0.05) return '';
  if (x < 0.15 && seen.length) return pick(r, seen);
  const k = x < 0.2 ? 'long.' + 'k'.repeat(int(r, 124, 300)) + fresh() : (x < 0.3 ? 'ключ.' : 'k.') + fresh();
  seen.push(k);
  return k;
}

function script(seed: number): Script {
  const r = prng(seed);
  let next = 0;
  const fresh = () => (next++).toString(36);
  const seen: string[] = [];
  const attrs = (n: number) => Array.from({ length: n }, (): Attr => [key(r, seen, fresh), value(r)]);
  const events = (n: number) => Array.from({ length: n }, () => {
    const keys = [...new Set(attrs(int(r, 0, 6)).map(([k]) => k))]; // an event's keys are distinct (JS takes an object)
    return { name: r() < 0.2 ? 'ev.' + 'n'.repeat(130) : 'ev.' + fresh(), attrs: keys.map((k): Attr => [k, value(r)]) };
  });
  const span = (attrCount: number): Step => ({
    name: r() < 0.1 ? 'span.' + 'n'.repeat(int(r, 124, 200)) : 'span.' + fresh(), attrs: attrs(attrCount), events: events(int(r, 0, 4)),
  });
  const out: Script = [span(40), span(20)];
  // One name per job, as a server names spans by order id: enough to fill the names' share, or the whole table.
  out.push({ count: int(r, 1400, 2300), prefix: `order-${seed}-` });
  // Then more new keys than the table has room for.
  for (let i = 0; i < 6; i++) out.push(span(int(r, 60, 160)));
  return out;
}

test('attributes after the intern table is full, empty and long keys, large arrays: as JS sends them (seeded scripts)', async () => {
  for (const seed of [1, 2, 3]) {
    const s = script(seed);
    const [wasi, js] = [await runFixture(s), await runJs(s)];
    const steps = s.filter((x): x is Step => !('count' in x));
    const keys = new Set(steps.flatMap((x) => [...x.attrs, ...x.events.flatMap((e) => e.attrs)].map(([k]) => k)));
    const names = s.reduce((n, x) => n + ('count' in x ? x.count : 1), 0);
    assert.ok(names + keys.size > 2048, `seed ${seed}: the script fills the intern table`);
    assert.ok(keys.has(''), `seed ${seed}: an empty key`);
    const values = steps.flatMap((x) => [...x.attrs, ...x.events.flatMap((e) => e.attrs)].map(([, v]) => v));
    assert.ok(values.some(tooLarge), `seed ${seed}: a string array larger than a span holds`);
    assert.equal(wasi.length, names, `seed ${seed}: every span exported`);
    assert.equal(js.length, names, `seed ${seed}: every span exported`);
    assert.deepEqual(view(wasi), view(js), `seed ${seed}`);
    // The spans after the names are those the table was full for: their new keys are there.
    const last = wasi.at(-1)!;
    assert.ok(last.attributes.length > 40, `seed ${seed}: ${last.attributes.length} attributes on the last span`);
  }
});

// ---- 64-bit integers -----------------------------------------------------------

const I64_MAX = 2n ** 63n - 1n;

/**
 * docs/wasi.md: an integer goes as an int64 with 53 bits kept (the nearest
 * double, rounded as Wasm and JS round, then within int64), a u64 above the
 * int64 maximum as a double; an array with one such u64 all as doubles.
 */
function wanted(type: string, text: string): OtlpAnyValue {
  const asInt = (v: bigint): OtlpAnyValue => {
    const near = BigInt(Number(v));
    return { intValue: String(near > I64_MAX ? I64_MAX : near) };
  };
  if (type === 'i' || type === 'u') return type === 'u' && BigInt(text) > I64_MAX ? { doubleValue: Number(text) } : asInt(BigInt(text));
  const items = text === '' ? [] : text.split(SEP.item).map(BigInt);
  const doubles = type === 'U' && items.some((v) => v > I64_MAX);
  return { arrayValue: { values: items.map((v) => (doubles ? { doubleValue: Number(v) } : asInt(v))) } };
}

function int64(r: Rand, unsigned: boolean): bigint {
  const edges = unsigned
    ? [0n, 1n, 2n ** 53n + 1n, I64_MAX, I64_MAX + 1n, 2n ** 63n - 513n, 9_200_000_000_000_000_001n, 2n ** 64n - 1n, 2n ** 64n - 1025n]
    : [0n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, I64_MAX, -I64_MAX - 1n, 2n ** 63n - 513n, -9_200_000_000_000_000_001n];
  if (r() < 0.3) return pick(r, edges);
  let v = 0n;
  for (let bits = int(r, 1, 64); bits > 0; bits--) v = (v << 1n) | (r() < 0.5 ? 1n : 0n);
  return unsigned ? v : BigInt.asIntN(64, v);
}

test('64-bit integers: int64 with 53 bits kept, a u64 past int64 as a double (generated values and edges)', async () => {
  const r = prng(64);
  const attrs: Attr[] = [];
  for (let i = 0; i < 400; i++) {
    const type = pick(r, ['i', 'u', 'I', 'U']);
    const unsigned = type === 'u' || type === 'U';
    const text = type === 'i' || type === 'u' ? String(int64(r, unsigned))
      : Array.from({ length: int(r, 1, 4) }, () => String(int64(r, unsigned))).join(SEP.item);
    attrs.push([`n.${i}`, { type, text }]);
  }
  const steps: Step[] = [];
  for (let i = 0; i < attrs.length; i += 100) steps.push({ name: `ints-${i}`, attrs: attrs.slice(i, i + 100), events: [] });
  const spans = await runFixture(steps);
  const got = new Map(spans.flatMap((s) => s.attributes).map((kv) => [kv.key, kv.value]));
  assert.equal(got.size, attrs.length);
  for (const [k, v] of attrs) assert.deepEqual(got.get(k), wanted(v.type, v.text), `${k} ${v.type} ${v.text}`);
});
