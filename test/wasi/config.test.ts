// The WASI build's reading of its environment against the JS SDK's: W3C
// TRACEPARENT/TRACESTATE (src/propagation.ts), `k=v` lists
// (src/resource.ts keyValues), the headers of both OTLP header variables,
// OTEL_TRACES_SAMPLER_ARG and OTEL_SDK_DISABLED. Thousands of seeded values
// go to a small WASI command (fixtures/config.ts, compiled here with asc)
// and are compared case by case; then the demo job shows the same through
// init, in its spans and at the collector.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { startCollector } from '../helpers/collector.js';
import { allSpans, decodeJson } from '../helpers/otlp.js';
import { formatTraceparent, parseTraceparent, parseTracestate } from '../../src/propagation.js';
import { keyValues } from '../../src/resource.js';
import { envSamplerRatio, envValue, sdkDisabled } from '../../src/env.js';
import { resolveDeliveryOptions } from '../../src/export/options.js';
import { rootTraceState, samplerRatio } from '../../src/sampler.js';
import { badSetting, rangeSetting } from '../../src/diag.js';
import { VERSION } from '../../src/version.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { coreTracer, type CoreTracer } from '../helpers/core-tracer.js';
import { wasiFixture } from './fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');
const SOCKETS = join(dist, 'demo-wasi.wasm');
const LINES = join(dist, 'demo-wasi-lines.wasm');
const fixture = wasiFixture('config');
/** The JS SDK's tracer over the real Wasm module: what it makes of a caller is the reference. */
let js: CoreTracer;

before(async () => {
  js = await coreTracer();
});

/** Runs the fixture over `cases` (each a set of variables for one case, named <letter><i>); its lines and stderr. */
async function runFixture(kind: string, cases: Record<string, string>[], extra: Record<string, string> = {}): Promise<{ lines: string[]; stderr: string }> {
  const env: Record<string, string> = { KIND: kind, N: String(cases.length), ...extra };
  cases.forEach((c, i) => {
    for (const [k, v] of Object.entries(c)) env[k + i] = v;
  });
  const run = await runWasi({ wasm: fixture(), sockets: false, env, timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, cases.length);
  return { lines, stderr: run.stderr.replace(/.*ExperimentalWarning.*\n?/g, '') };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: ArrayLike<T>): T => xs[Math.floor(r() * xs.length)]!;
const chars = (r: Rand, alphabet: string, n: number) => Array.from({ length: n }, () => pick(r, alphabet)).join('');
const HEX = '0123456789abcdef';
/** Blanks String#trim removes, some beyond ASCII. */
const BLANKS = ['', '', '', ' ', '\t', '\n', ' \u00a0', '\ufeff', '\u3000 '];

// ---- TRACEPARENT / TRACESTATE ------------------------------------------------

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

function traceparent(r: Rand): string {
  const version = pick(r, ['00', '00', '00', '00', '01', 'cc', 'fe', 'ff', '0A', 'g0']);
  const id = (n: number) => (r() < 0.05 ? '0'.repeat(n) : chars(r, HEX, n));
  let tp = `${version}-${id(32)}-${id(16)}-${chars(r, HEX, 2)}`;
  const x = r();
  if (x < 0.3) tp += pick(r, ['-', '-x', '-' + chars(r, 'abc-_ 0123é\u2028\n\r', 1 + Math.floor(r() * 80)), 'x', '.01', '-' + 'y'.repeat(200)]);
  else if (x < 0.45) {
    // Uppercase one hex digit.
    const at = pick(r, [0, 1, 3, 20, 34, 36, 51, 53, 54]);
    tp = tp.slice(0, at) + tp[at]!.toUpperCase() + tp.slice(at + 1);
  } else if (x < 0.6) {
    // One character changed, dropped or added anywhere.
    const at = Math.floor(r() * tp.length);
    const c = pick(r, ['-', 'g', 'é', ' ', '0', '']);
    tp = tp.slice(0, at) + c + tp.slice(at + (r() < 0.5 ? 1 : 0));
  }
  return pick(r, BLANKS) + tp + pick(r, BLANKS);
}

const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
function stateKey(r: Rand): string {
  const x = r();
  if (x < 0.5) return pick(r, 'abcxyz') + chars(r, KEY_CHARS, Math.floor(r() * 8));
  if (x < 0.75) return pick(r, 'ab09') + chars(r, KEY_CHARS, Math.floor(r() * 6)) + '@' + pick(r, 'abz') + chars(r, KEY_CHARS, Math.floor(r() * 5));
  // At and past the length limits, or with a character no key may have.
  return pick(r, [
    'a' + 'k'.repeat(255), 'a' + 'k'.repeat(256), '0' + 't'.repeat(240) + '@s', '0' + 't'.repeat(241) + '@s',
    't@s' + 'y'.repeat(13), 't@s' + 'y'.repeat(14), '0abc', '_t@s', 't@0s', 't@', '@s', 'Ab', 'a.b', 'a@b@c', 'a b', 'é',
  ]);
}
const VALUE_CHARS = ' !"#$%&\'()*+-./0123456789:;<>?@ABCXYZ[\\]^_`abcxyz{|}~';
function stateValue(r: Rand): string {
  if (r() < 0.1) return pick(r, ['', 'x'.repeat(256), 'x'.repeat(257), 'a=b', 'a\tb', 'é', 'ab ', ' ab']);
  const v = chars(r, VALUE_CHARS, 1 + Math.floor(r() * (r() < 0.2 ? 200 : 12)));
  return v.endsWith(' ') ? v + '.' : v;
}
function tracestate(r: Rand, i: number): string {
  const members: string[] = [];
  const kind = i % 4;
  if (kind >= 2) {
    // Valid members with distinct keys, around the 512-character limit (kind 2) or the 32-member one (kind 3).
    const n = kind === 2 ? 3 + Math.floor(r() * 20) : 28 + Math.floor(r() * 8);
    for (let k = 0; k < n; k++) {
      const size = kind === 2 ? (r() < 0.3 ? 100 + Math.floor(r() * 60) : 1 + Math.floor(r() * 50)) : 1 + Math.floor(r() * 6);
      members.push(`${r() < 0.5 ? 'k' : 't' + k + '@v'}${k}=${chars(r, 'abc123', size)}`);
    }
    if (r() < 0.1) members.push(members[0]!.replace(/=.*/, '=again')); // a repeated key
  } else {
    // Generated keys and values: mostly valid (kind 0) or many invalid (kind 1).
    for (let n = Math.floor(r() * 8), k = 0; k < n; k++) {
      const key = kind === 1 && r() < 0.1 && members.length ? members[0]!.split('=')[0]!.trim() : kind === 0 && r() < 0.8 ? 'k' + k : stateKey(r);
      members.push(r() < 0.05 ? '' : pick(r, BLANKS.slice(0, 5)) + `${key}=${kind === 0 && r() < 0.8 ? chars(r, 'abc =/', 1 + Math.floor(r() * 8)).replace(/[ =]+$/, '.').replace(/=/g, '_') : stateValue(r)}` + pick(r, BLANKS.slice(0, 5)));
    }
    if (r() < 0.05) members.splice(Math.floor(r() * (members.length + 1)), 0, pick(r, ['not a valid tracestate!!', '=v', 'k=', 'k', 'K=v']));
  }
  return members.join(pick(r, [',', ',', ', ', ',,']));
}

/** JS: the Node entry reads both variables through envValue and extracts its caller from them; its tracestate. */
function jsTracestate(tp: string, ts: string): string {
  return js.tracer.extract({ traceparent: envValue({ tp }, 'tp'), tracestate: envValue({ ts }, 'ts') })?.traceState ?? '';
}

/**
 * JS: as the Node entry reads its caller; a child span's traceparent is
 * written with the parent's flags. `childId`: the span id the WASI build
 * gave the child.
 */
function jsParent(tp: string, ts: string, childId: string): string {
  const p = parseTraceparent(envValue({ tp }, 'tp'));
  return p ? `${p.traceId} ${p.spanId} ${p.traceFlags} ${jsTracestate(tp, ts)} ${formatTraceparent(p.traceId, childId, p.traceFlags)}` : '-';
}

test('3,000 generated TRACEPARENT/TRACESTATE pairs: the WASI build keeps what the JS SDK keeps (W3C Trace Context), and hands the flags on', async () => {
  const r = prng(0x7e3c0d);
  const cases = Array.from({ length: 3000 }, (_, i) => ({ P: traceparent(r), S: tracestate(r, i) }));
  const { lines } = await runFixture('traceparent', cases);
  const seen = { parent: 0, noParent: 0, upperRefused: 0, future: 0, futureOver64: 0, state: 0, stateDropped: 0, stateCut: 0 };
  cases.forEach(({ P, S }, i) => {
    const want = jsParent(P, S, lines[i]!.slice(lines[i]!.lastIndexOf(' ') + 1).split('-')[2] ?? '');
    assert.equal(lines[i], want, `case ${i}: ${JSON.stringify(P)} ${JSON.stringify(S.slice(0, 200))}`);
    const tp = P.trim();
    if (want === '-') {
      seen.noParent++;
      if (/[A-F]/.test(tp.slice(0, 55))) seen.upperRefused++;
      return;
    }
    seen.parent++;
    if (!tp.startsWith('00')) seen.future++;
    if (tp.length > 64) seen.futureOver64++;
    const state = parseTracestate(envValue({ S }, 'S')) ?? '';
    const given = S.split(',').filter((m) => m.trim()).length;
    if (!state && given) seen.stateDropped++;
    else if (state && state.split(',').length < given) seen.stateCut++;
    else if (state) seen.state++;
  });
  // Every rule is reached from both sides.
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 30, `${k}: ${JSON.stringify(seen)}`);
});

test('tracer.extract(traceparent, tracestate) on 4,000 generated header pairs: the SpanContext JS\'s tracer.extract gives (ids, flags, checked tracestate, remote), null where JS gives none', async () => {
  const r = prng(0xe7c7);
  const cases = Array.from({ length: 4000 }, (_, i) => {
    if (i % 4 !== 3) return { P: traceparent(r), S: tracestate(r, i) };
    const { tp, ts } = thresholdCase(r);
    return { P: tp, S: ts };
  });
  const { lines } = await runFixture('extract', cases);
  const seen = { context: 0, none: 0, state: 0, stateDropped: 0, thresholdErased: 0 };
  cases.forEach(({ P, S }, i) => {
    const c = js.tracer.extract({ traceparent: P, tracestate: S });
    const want = c ? `${c.traceId} ${c.spanId} ${c.traceFlags} ${c.isRemote ? 'remote' : 'local'} ${c.traceState ?? ''}` : '-';
    assert.equal(lines[i], want, `case ${i}: ${JSON.stringify(P)} ${JSON.stringify(S.slice(0, 200))}`);
    if (!c) return void seen.none++;
    seen.context++;
    const state = parseTracestate(S) ?? '';
    if (c.traceState) seen.state++;
    if (!state && S.trim().replace(/,/g, '')) seen.stateDropped++;
    if (state.includes('th:') && state !== (c.traceState ?? '')) seen.thresholdErased++;
  });
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 100, `${k}: ${JSON.stringify(seen)}`);
});

/**
 * A caller whose tracestate has an OpenTelemetry member (`ot=`) with a
 * threshold (`th:`) mostly: well formed or not, at, just below or above the
 * randomness (the trace id's last 56 bits, or an `rv`, itself sometimes
 * malformed), with other `ot` values and members around it.
 */
function thresholdCase(r: Rand): { tp: string; ts: string } {
  const traceId = chars(r, HEX, 32);
  const flags = pick(r, ['00', '01', '02', '03']);
  const rvKind = pick(r, ['none', 'none', 'valid', 'bad']);
  const rv = rvKind === 'valid' ? chars(r, HEX, 14) : rvKind === 'bad' ? pick(r, [chars(r, HEX, 13), chars(r, HEX, 15), 'A' + chars(r, HEX, 13), 'zz', '']) : undefined;
  const rand = /^[0-9a-f]{14}$/.test(rv ?? '') ? rv! : traceId.slice(18);
  const x = r();
  // Near the randomness: its first digits (equal or below), one more in the last of them (above), or any.
  const n = 1 + Math.floor(r() * 14);
  let th =
    x < 0.3 ? rand.slice(0, n) :
    x < 0.5 ? (parseInt(rand.slice(0, n), 16) + 1).toString(16).padStart(n, '0').slice(-n) :
    x < 0.8 ? chars(r, HEX, n) :
    pick(r, ['', 'xyz', chars(r, HEX, 15), `${chars(r, HEX, 3)}g`, '-1', ' 8', '8 ']);
  if (r() < 0.1) th = th.toUpperCase();
  const values = [`th:${th}`, ...(rv !== undefined ? [`rv:${rv}`] : []), ...(r() < 0.3 ? ['p:8'] : []), ...(r() < 0.1 ? [''] : []), ...(r() < 0.1 ? ['th:1'] : [])];
  values.sort(() => r() - 0.5);
  const members = [...(r() < 0.5 ? ['vendor=v1'] : []), `ot=${values.join(';')}`, ...(r() < 0.3 ? ['z@t=th:1'] : [])];
  members.sort(() => r() - 0.5);
  return { tp: `00-${traceId}-${chars(r, HEX, 16)}-${flags}`, ts: members.join(pick(r, [',', ', ', ',,'])) };
}

test('2,000 generated OpenTelemetry thresholds in TRACESTATE: the WASI build erases those the JS SDK erases (malformed, or disagreeing with the sampled flag)', async () => {
  const r = prng(0x7417);
  const cases = Array.from({ length: 2000 }, () => thresholdCase(r));
  const { lines } = await runFixture('traceparent', cases.map(({ tp, ts }) => ({ P: tp, S: ts })));
  const seen = { kept: 0, erased: 0, memberGone: 0 };
  cases.forEach(({ tp, ts }, i) => {
    const want = jsParent(tp, ts, lines[i]!.slice(lines[i]!.lastIndexOf(' ') + 1).split('-')[2] ?? '');
    assert.equal(lines[i], want, `case ${i}: ${JSON.stringify(tp)} ${JSON.stringify(ts)}`);
    const state = jsTracestate(tp, ts);
    if (state === parseTracestate(ts)) seen.kept++;
    else if (state.includes('ot=')) seen.erased++;
    else seen.memberGone++;
  });
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 100, `${k}: ${JSON.stringify(seen)}`);
});

test('300 generated ratios: a trace the program starts and keeps carries `ot=th:` with the threshold JS writes, from root to child; a dropped one carries none', async () => {
  const r = prng(0x7e57);
  const nice = [0.5, 0.25, 0.1, 0.01, 0.75, 0.999, 1 / 3, 0.2, 0.0625, 1, 0];
  const ratios = Array.from({ length: 300 }, (_, i) => (i < nice.length ? nice[i]! : 0.01 + r() * 0.99));
  const { lines } = await runFixture('root', ratios.map((A) => ({ A: String(A) })));
  let carried = 0;
  ratios.forEach((ratio, i) => {
    const [kept, child, dropped] = lines[i]!.slice(1, -1).split('][');
    const label = `case ${i}: ratio ${ratio}: ${lines[i]}`;
    // JS (src/sampler.ts rootTraceState) is the reference for the value.
    const want = ratio > 0 ? (rootTraceState(ratio) ?? '') : '-';
    assert.equal(kept, want, label);
    assert.equal(child, ratio > 0 ? want : '-', label);
    // A trace the ratio drops carries nothing; none to see at ratio 1 (and maybe 0.999).
    assert.equal(dropped, ratio < 1 && (ratio <= 0.99 || dropped !== '-') ? '' : '-', label);
    if (want.startsWith('ot=th:')) carried++;
  });
  assert.ok(carried > 280, `${carried} ratios carried a threshold`);
});

test('the demo job at OTEL_TRACES_SAMPLER_ARG=0.25 exports its kept traces with `ot=th:c` on every span, and with none at ratio 1 (fails before: WASI wrote no threshold)', async () => {
  let spans: ReturnType<typeof allSpans> = [];
  // A kept trace is one run in four: 40 runs miss with probability 1e-5.
  for (let run = 0; run < 40 && !spans.length; run++) {
    const job = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_TRACES_SAMPLER_ARG: '0.25', ORDERS: '2' } });
    assert.equal(job.exitCode, 0, job.stderr);
    spans = job.stdout.trim() ? allSpans(decodeJson(job.stdout.trim())) : [];
  }
  assert.ok(spans.length > 2, 'a kept trace in 40 runs');
  for (const s of spans) assert.equal(s.traceState, rootTraceState(0.25), s.name);
  assert.equal(rootTraceState(0.25), 'ot=th:c');
  const all = await runWasi({ wasm: LINES, sockets: false, env: { ORDERS: '2' } });
  const kept = allSpans(decodeJson(all.stdout.trim()));
  assert.ok(kept.length > 2);
  for (const s of kept) assert.equal(s.traceState, '', s.name);
});

test('the demo job continues TRACEPARENT and carries TRACESTATE as JS would (the review\'s cases and generated ones)', async () => {
  const long = Array.from({ length: 20 }, (_, i) => `k${i}=${'v'.repeat(28)}`).join(',');
  const cases: Array<[string, string]> = [
    [`00-${T}-${P}-01`, 'vendor=abc'],
    [`00-${T.toUpperCase()}-${P}-01`, ''],
    [`01-${T}-${P}-01-${'x'.repeat(20)}`, 'a=1'],
    [`00-${T}-${P}-01`, 'not a valid tracestate!!'],
    [`00-${T}-${P}-01`, 'a=1,a=2'],
    [`00-${T}-${P}-01`, long],
    // Thresholds against the trace id's randomness, ce929d0e0e4736: agreeing, disagreeing, malformed.
    [`00-${T}-${P}-01`, 'vendor=v,ot=th:c;p:8'],
    [`00-${T}-${P}-01`, 'vendor=v,ot=p:8;th:d'],
    [`00-${T}-${P}-01`, 'ot=th:ce929d0e0e4737,z@t=1'],
    [`00-${T}-${P}-01`, 'ot=th:zz;rv:00000000000000'],
  ];
  const r = prng(0x10b);
  while (cases.length < 10) cases.push([traceparent(r), tracestate(r, cases.length)]);
  for (const [tp, ts] of cases) {
    const run = await runWasi({ wasm: LINES, sockets: false, env: { TRACEPARENT: tp, TRACESTATE: ts, ORDERS: '0' } });
    assert.equal(run.exitCode, 0, run.stderr);
    const job = allSpans(decodeJson(run.stdout.trim())).find((s) => s.name === 'pricing-job')!;
    const js = parseTraceparent(envValue({ tp }, 'tp'));
    const label = JSON.stringify([tp, ts.slice(0, 80)]);
    assert.equal(job.parentSpanId, js ? js.spanId : '', label);
    if (js) {
      assert.equal(job.traceId, js.traceId, label);
      assert.equal(job.flags, js.traceFlags | 0x300, label);
      assert.equal(job.traceState, jsTracestate(tp, ts), label);
    }
    assert.equal(run.stderr.includes('ignoring a malformed TRACEPARENT'), !js, label);
  }
});

// ---- k=v lists: OTEL_RESOURCE_ATTRIBUTES, OTLP headers ----------------------------

const fromHex = (h: string) => Buffer.from(h, 'hex').toString('utf8');

const TCHARS = "!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
// Control characters among them: a header value with one but tab is dropped (DEL 0x7f and 0x1f, 0x01 at the edges).
const GOOD_ESCAPES = ['%41', '%2d', '%2D', '%7E', '%20', '%2C', '%3D', '%3A', '%25', '%C3%A9', '%E2%82%AC', '%F0%9F%98%80', '%0A', '%0D%0A', '%00', '%7F', '%7f', '%09', '%01', '%1F', '%1f'];
const BAD_ESCAPES = ['%', '%2', '%zz', '%C3', '%C3%28', '%E2%82', '%ED%A0%80', '%F5%80%80%80', '%80', '%C0%80'];

/** A key or value: plain characters, good escapes, sometimes a bad one, with blanks around. */
function text(r: Rand, alphabet: string, max: number): string {
  let s = '';
  for (let k = Math.floor(r() * max); k > 0; k--) {
    const x = r();
    s += x < 0.8 ? pick(r, alphabet) : x < 0.97 ? pick(r, GOOD_ESCAPES) : pick(r, BAD_ESCAPES);
  }
  return pick(r, ['', '', ' ', '\t']) + s + pick(r, ['', '', ' ']);
}

function pairList(r: Rand, names: string[]): string {
  const items: string[] = [];
  for (let n = Math.floor(r() * 6); n > 0; n--) {
    const x = r();
    const name = x < 0.4 ? pick(r, names) : x < 0.6 ? pick(r, names).toUpperCase() : text(r, TCHARS, 6);
    items.push(r() < 0.05 ? pick(r, ['', '=v', ' =v', 'novalue', 'k==v']) : `${name}=${text(r, TCHARS + ' "(),/:;<>?@[]{}é\x7f\x01\t', 10)}`);
  }
  return items.join(',');
}

/** What JS reads from each item of a list, in order (keyValues of one item: one pair at most). */
function jsPairs(list: string): Array<[string, string]> {
  // An empty key is no attribute or header name; the WASI build skips it.
  return list.split(',').flatMap((item) => Object.entries(keyValues(item))).filter(([k]) => k !== '');
}

test('2,000 generated k=v lists: keys and values trimmed and percent-decoded as JS keyValues, a malformed escape dropping its pair', async () => {
  const r = prng(0x4e5001);
  const cases = Array.from({ length: 2000 }, () => ({ R: pairList(r, ['service.name', 'team', 'deployment.environment', '__proto__']) }));
  const { lines } = await runFixture('pairs', cases);
  let decoded = 0;
  let dropped = 0;
  cases.forEach(({ R }, i) => {
    const got = lines[i] ? lines[i]!.split(',').map((p) => p.split('=').map(fromHex)) : [];
    const want = jsPairs(R);
    assert.deepEqual(got, want, `case ${i}: ${JSON.stringify(R)}`);
    const raw = R.split(',').filter((item) => item.indexOf('=') > 0 && item.slice(0, item.indexOf('=')).trim());
    if (want.some(([k, v]) => !R.includes(k) || !R.includes(v))) decoded++;
    dropped += raw.length - want.length;
  });
  assert.ok(decoded > 500 && dropped > 200, JSON.stringify({ decoded, dropped }));
});

test('2,000 generated OTEL_RESOURCE_ATTRIBUTES values: one malformed escape discards the whole variable, named on stderr, as JS reads the resource', async () => {
  const r = prng(0x4e5002);
  const cases = Array.from({ length: 2000 }, () => ({ R: pairList(r, ['service.name', 'team', 'deployment.environment', '__proto__']) }));
  const { lines, stderr } = await runFixture('pairs', cases, { STRICT: 'OTEL_RESOURCE_ATTRIBUTES' });
  const warnings: string[] = [];
  cases.forEach(({ R }, i) => {
    const got = lines[i] ? lines[i]!.split(',').map((p) => p.split('=').map(fromHex)) : [];
    // src/resource.ts: keyValues(value, true) is null when any pair fails to decode.
    const whole = keyValues(R, true);
    if (!whole) warnings.push(`wasmtrace: bad OTEL_RESOURCE_ATTRIBUTES ${R}: a malformed %-escape; none of it used`);
    assert.deepEqual(got, whole ? jsPairs(R) : [], `case ${i}: ${JSON.stringify(R)}`);
  });
  assert.deepEqual(stderr.split('\n').filter(Boolean), warnings);
  assert.ok(warnings.length > 100 && warnings.length < 1900, `${warnings.length} discarded`);
});

test('1,000 generated OTEL_TRACES_SAMPLER / _ARG pairs: the ratio JS reads from them (the program\'s where JS uses its default), an unknown sampler named and ignored with its argument', async () => {
  const r = prng(0x5a3b1f);
  const names = ['', 'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'xray', 'parentbased_jaeger_remote', 'jaeger_remote', 'TraceIdRatio', ' ALWAYS_OFF ', 'parentbased_', 'always_on_'];
  const cases = Array.from({ length: 1000 }, () => ({
    M: pick(r, names),
    A: pick(r, ['', '', '0', '1', '0.5', '0.25', 'abc', '2', '-1', '.125']),
    F: String(pick(r, [1, 0, 0.5, 0.001])),
  }));
  const { lines, stderr } = await runFixture('sampler', cases);
  const warnings: string[] = [];
  /** The ratio for a sampler, an argument and the ratio used when they give none (or a bad one); `warn` gets what is named. */
  const model = (M: string, A: string, F: number, warn: (w: string) => void): number => {
    const name = M.trim().toLowerCase();
    const sampler = name.replace(/^parentbased_/, '');
    const parse = (fb: number): number => {
      if (!A) return fb;
      const n = Number(A);
      if (n >= 0 && n <= 1) return n;
      warn(badSetting('OTEL_TRACES_SAMPLER_ARG', A, fb));
      return fb;
    };
    if (sampler === 'always_off') return 0;
    if (sampler === 'always_on') return 1;
    if (sampler === 'traceidratio') return parse(1);
    if (!name) return parse(F);
    warn(badSetting('OTEL_TRACES_SAMPLER', name, 'parentbased_always_on'));
    return F;
  };
  cases.forEach(({ M, A, F }, i) => {
    const env = { OTEL_TRACES_SAMPLER: M, OTEL_TRACES_SAMPLER_ARG: A };
    // The model is JS's reading where the program gives no ratio (JS's default, 1).
    assert.equal(model(M, A, 1, () => {}), samplerRatio(undefined, envSamplerRatio(env, () => {})), `model = JS: ${JSON.stringify(env)}`);
    assert.equal(Number(lines[i]), model(M, A, Number(F), (w) => warnings.push(`wasmtrace: ${w}`)), `case ${i}: ${JSON.stringify({ M, A, F })}`);
  });
  assert.deepEqual(stderr.split('\n').filter(Boolean), warnings);
  assert.ok(warnings.some((w) => w.includes('bad OTEL_TRACES_SAMPLER xray')), 'unknown samplers warned about');
});

/**
 * The headers both variables give: each pair as JS keyValues reads it; a name
 * that is no HTTP token or a value with a control character but tab dropped
 * (fetch would refuse them); then one per name in any case, the later pair
 * winning, so a TRACES one over a general one (as the JS SDK and the Worker
 * merge them).
 */
function jsHeaders(general: string, traces: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const [k, v] of [...jsPairs(general), ...jsPairs(traces)]) {
    if (/^[!#$%&'*+\-.^_`|~\w]+$/.test(k) && !/[\0-\x08\n-\x1f\x7f]/.test(v)) out.set(k.toLowerCase(), [k, v]);
  }
  return out;
}

const NAMES = ['x-api-key', 'authorization', 'x-tenant'];

test('2,000 generated OTEL_EXPORTER_OTLP_HEADERS / ..._TRACES_HEADERS pairs: each header once, the TRACES one winning', async () => {
  const r = prng(0x4ead);
  const cases = Array.from({ length: 2000 }, () => ({ G: pairList(r, NAMES), T: pairList(r, NAMES) }));
  const { lines } = await runFixture('headers', cases);
  let overridden = 0;
  let withDel = 0;
  cases.forEach(({ G, T }, i) => {
    const got = fromHex(lines[i]!).split('\r\n');
    assert.equal(got.pop(), '');
    // The exporter's own User-Agent after them (NAMES holds no user-agent of the user's).
    const want = [...[...jsHeaders(G, T).values()].map(([k, v]) => `${k}: ${v}`).sort(), `User-Agent: wasmtrace/${VERSION} (WASI)`];
    assert.deepEqual([...got.slice(0, -1).sort(), got.at(-1)], want, `case ${i}: ${JSON.stringify({ G, T })}`);
    const traces = new Set(jsPairs(T).map(([k]) => k.toLowerCase()));
    if (jsPairs(G).some(([k]) => traces.has(k.toLowerCase()))) overridden++;
    if (jsPairs(`${G},${T}`).some(([, v]) => v.includes('\x7f'))) withDel++;
  });
  assert.ok(overridden > 300, `${overridden} cases name one header in both`);
  assert.ok(withDel > 100, `${withDel} cases have a value with DEL`);
});

test('long variables cost linear time and memory at init: 4,000 distinct OTEL_EXPORTER_OTLP_HEADERS pairs, an endpoint path of 80,000 non-ASCII characters, a 200,000-character OTEL_TRACES_SAMPLER (fails before: 13 s, a trap out of memory, 3 s)', async () => {
  const names = Array.from({ length: 4_000 }, (_, i) => `x-h${i}`);
  const bytes = names.reduce((n, k, i) => n + `${k}: v${i}\r\n`.length, 0);
  const collector = await startCollector();
  try {
    const run = await runWasi({
      wasm: SOCKETS, timeoutMs: 6_000,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_EXPORTER_OTLP_HEADERS: names.map((k, i) => `${k}=v${i}`).join(','), ORDERS: '1' },
    });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`make ${bytes} bytes of header lines, over 32768; none sent`));
    assert.equal(collector.requests.length, 1);
    assert.ok(!Object.keys(collector.requests[0]!.headers).some((k) => k.startsWith('x-h')), 'none of them sent');
  } finally {
    await collector.close();
  }
  // The demo job's memory is 4 MiB (scripts/build.mjs): the path must not cost garbage by the square of its length.
  const path = '/' + 'é'.repeat(80_000);
  const lines = await runWasi({ wasm: LINES, sockets: false, timeoutMs: 6_000, env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:4318${path}`, ORDERS: '1' } });
  assert.equal(lines.exitCode, 0, lines.stderr);
  assert.equal(allSpans(decodeJson(lines.stdout.trim())).length, 5);
  // Enum values are lower-cased (asciiLower) before they are compared.
  const sampler = await runWasi({ wasm: LINES, sockets: false, timeoutMs: 2_000, env: { OTEL_TRACES_SAMPLER: 'X'.repeat(200_000), ORDERS: '1' } });
  assert.equal(sampler.exitCode, 0, sampler.stderr);
  assert.equal(allSpans(decodeJson(sampler.stdout.trim())).length, 5);
});

test('headers in both OTLP header variables reach the collector once each, the TRACES one winning', async () => {
  const collector = await startCollector();
  try {
    const r = prng(0xc011);
    const cases = [{ G: 'x-api-key=general-key', T: 'x-api-key=traces-key' }, { G: 'X-Api-Key=general,x-tenant=a%20b', T: 'x-api-key=traces' }];
    // Values an HTTP request carries as they are (ASCII, no control character).
    const list = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => {
      const name = pick(r, NAMES);
      return `${r() < 0.3 ? name.toUpperCase() : name}=${chars(r, TCHARS, 1 + Math.floor(r() * 8))}${pick(r, ['', '%20x', '%41', '%2C', '%zz'])}`;
    }).join(',');
    while (cases.length < 6) cases.push({ G: list(), T: list() });
    for (const { G, T } of cases) {
      const before = collector.requests.length;
      const run = await runWasi({
        wasm: SOCKETS,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_EXPORTER_OTLP_HEADERS: G, OTEL_EXPORTER_OTLP_TRACES_HEADERS: T, ORDERS: '0' },
      });
      assert.equal(run.exitCode, 0, run.stderr);
      const headers = collector.requests[before]!.headers;
      for (const [name, [, value]] of jsHeaders(G, T)) {
        // HTTP drops blanks around a value; the collector joins a header sent twice with ', '.
        if (NAMES.includes(name)) assert.equal(headers[name], value.trim(), JSON.stringify({ G, T, name }));
      }
    }
  } finally {
    await collector.close();
  }
});

test('1,000 generated endpoints: the scheme in any case, the request target percent-encoded as a WHATWG URL (fetch) sends it, user info refused and never shown (fails before: HTTP:// refused, targets raw, u:p@ taken as the host)', async () => {
  const r = prng(0x0e1);
  const SEGMENTS = ['v1', 'traces', 'my traces', 'tr\u00e4ces', '\u{1f600}', '"q"', '<x>', '`b`', '{c}', "it's", '%20', '%zz', 'a|b', '^', '[x]', ';p', '=', '@', ':', "!$&()*+,", '\u4e2d'];
  const QUERIES = ['', '', '?x=\u00e4', "?a='b'", '?q=a b', '?k={v}', '?x=`y`', '?<z>', '?a=1&b=%41', '?p=/x?y', '?"'];
  const cases = Array.from({ length: 1000 }, () => {
    const scheme = pick(r, ['http', 'http', 'HTTP', 'Http', 'hTtP', 'https', 'ftp']);
    const user = r() < 0.15 ? pick(r, ['u:p@', 'user:s3cret@', 'only@', ':pw@', 'a@b:c@']) : '';
    const path = Array.from({ length: Math.floor(r() * 4) }, () => '/' + pick(r, SEGMENTS)).join('');
    return { U: `${scheme}://${user}127.0.0.1:4318${path}${pick(r, QUERIES)}${pick(r, ['', '', '#f r\u00e4g'])}` };
  });
  const { lines } = await runFixture('url', cases);
  let encoded = 0;
  let upper = 0;
  let users = 0;
  cases.forEach(({ U }, i) => {
    const [ok, host, port, target, shown] = lines[i]!.split(' ');
    const url = new URL(U);
    const label = `case ${i}: ${U}`;
    const want = url.protocol === 'http:' && !url.username && !url.password && !U.includes('@127');
    assert.equal(ok, want ? 'ok' : 'no', label);
    if (U.includes('@127')) {
      users++;
      assert.equal(fromHex(shown!), U.replace(/\/\/[^/?#]*@/, '//'), label);
      assert.ok(!fromHex(shown!).includes('@127'), label);
    }
    if (!want) return;
    assert.equal(fromHex(host!), url.hostname, label);
    assert.equal(port, url.port, label);
    assert.equal(fromHex(target!), url.pathname + url.search, label);
    if (fromHex(target!) !== (U.slice(U.indexOf('4318') + 4).split('#')[0] || '/')) encoded++;
    if (!U.startsWith('http:')) upper++;
  });
  assert.ok(encoded > 300 && upper > 100 && users > 100, `${encoded} encoded, ${upper} in other cases, ${users} with user info`);
});

/** Headers the exporter writes itself: JS's delivery drops Content-Type/-Encoding, fetch refuses the others. */
const OWN = ['host', 'content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'connection'];

test('1,000 generated header lists naming the exporter\'s own headers (Host, Content-Length, Content-Type, ...): those are dropped, each with one warning naming it, never its value; the rest as JS (fails before: sent)', async () => {
  const r = prng(0x0e4d);
  const names = [...NAMES, ...OWN, 'Host', 'Content-Length', 'TRANSFER-ENCODING'];
  const cases = Array.from({ length: 1000 }, () => ({ G: pairList(r, names), T: pairList(r, names) }));
  const { lines, stderr } = await runFixture('headers', cases);
  const warned: string[] = [];
  let dropped = 0;
  cases.forEach(({ G, T }, i) => {
    const got = fromHex(lines[i]!).split('\r\n');
    assert.equal(got.pop(), '');
    const js = [...jsHeaders(G, T)];
    const want = js.filter(([name]) => !OWN.includes(name)).map(([, [k, v]]) => `${k}: ${v}`).sort();
    assert.deepEqual(got.slice(0, -1).sort(), want, `case ${i}: ${JSON.stringify({ G, T })}`);
    for (const [name, [k]] of js) if (OWN.includes(name)) warned.push(`wasmtrace: ${badSetting('header', JSON.stringify(k), 'none')}`);
    dropped += js.length - want.length;
  });
  assert.deepEqual(stderr.split('\n').filter(Boolean).sort(), warned.sort());
  assert.ok(dropped > 300, `${dropped} headers dropped`);
});

test('OTEL_EXPORTER_OTLP_HEADERS naming Content-Length, Transfer-Encoding, Host or Content-Type: the export still goes through, each header once (fails before: 400, every span lost)', async () => {
  const collector = await startCollector();
  try {
    for (const h of ['content-length=0', 'Transfer-Encoding=chunked', 'host=other.example', 'content-type=text/plain', 'Connection=keep-alive,x-tenant=t1']) {
      const before = collector.requests.length;
      const run = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_EXPORTER_OTLP_HEADERS: h, ORDERS: '1' } });
      assert.equal(run.exitCode, 0, `${h}: ${run.stderr}`);
      const name = h.slice(0, h.indexOf('='));
      assert.equal(run.stderr.replace(/.*ExperimentalWarning.*\n?/g, ''), `wasmtrace: bad header "${name}"; using none\n`, h);
      assert.equal(collector.requests.length - before, 1, h);
      const { headers } = collector.requests[before]!;
      assert.equal(headers['content-type'], 'application/x-protobuf', h);
      assert.equal(headers['host'], new URL(collector.origin).host, h);
      assert.equal(headers['connection'], 'close', h);
      if (h.includes('x-tenant')) assert.equal(headers['x-tenant'], 't1');
    }
  } finally {
    await collector.close();
  }
});

test('OTEL_RESOURCE_ATTRIBUTES: percent-decoded keys and values, the last of a key kept, a malformed escape discarding it all, as in JS', async () => {
  const r = prng(0x2e5);
  const lists = ['team%2Ename=checkout%20core,region=eu%2Cwest,region=us,deployment.environment=test%E2%9C%93', 'team=a,bad%zz=1,region=eu'];
  while (lists.length < 4) lists.push(pairList(r, ['team', 'region', 'host.name']));
  for (const list of lists) {
    const run = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_RESOURCE_ATTRIBUTES: list, OTEL_SERVICE_NAME: 'svc', ORDERS: '0' } });
    assert.equal(run.exitCode, 0, run.stderr);
    const [job] = allSpans(decodeJson(run.stdout.trim()));
    const want: Record<string, string> = keyValues(list, true) ? Object.fromEntries(jsPairs(list)) : {};
    Object.assign(want, { 'service.name': 'svc', 'telemetry.sdk.name': 'wasmtrace', 'telemetry.sdk.language': 'assemblyscript', 'telemetry.sdk.version': job!.resource['telemetry.sdk.version'] });
    assert.deepEqual(job!.resource, want, list);
  }
});

// ---- OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT ----------------------------------------------

/**
 * The timeout WASI reads (docs/wasi.md): the TRACES variable when it has more
 * than blanks, else the general one; up to 9 decimal digits, 0 meaning none;
 * anything else, the program's `fallback`.
 */
function wasiTimeout(traces: string, general: string, fallback: number): number {
  const text = traces.trim() || general.trim();
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : fallback;
}

test('60 generated OTEL_EXPORTER_OTLP_TIMEOUT / ..._TRACES_TIMEOUT pairs: the TRACES one wins, 0 is no timeout, a bad one gives the program\'s; where JS reads a timeout from digits, the same', async () => {
  const r = prng(0x713e0);
  const texts = ['0', '00', '000000000', '1', '400', '250', '10000', '30000', '600000', '600001', '999999999', '1000000000', '0000000001', '-1', '-0', '+5', '1e3', '12.5', '0x10', 'abc', '5s', '1 0', '', '', ''];
  // Every case of 0 alone (in each variable, blanks around), then generated ones.
  const cases: Array<{ T: string; G: string; F: string }> = [
    { T: '0', G: '', F: '7000' }, { T: '', G: '0', F: '7000' }, { T: ' 0\t', G: '5000', F: '7000' }, { T: '0', G: '5000', F: '7000' }, { T: '5000', G: '0', F: '7000' },
  ];
  while (cases.length < 60) cases.push({ T: pick(r, BLANKS) + pick(r, texts) + pick(r, BLANKS), G: pick(r, BLANKS) + pick(r, texts) + pick(r, BLANKS), F: String(pick(r, [10000, 7000, 0, 250])) });
  let agreed = 0;
  let none = 0;
  for (const [i, { T, G, F }] of cases.entries()) {
    const { lines } = await runFixture('timeout', [{ F }], { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: T, OTEL_EXPORTER_OTLP_TIMEOUT: G });
    const want = wasiTimeout(T, G, Number(F));
    const label = `case ${i}: ${JSON.stringify({ T, G, F })}`;
    assert.equal(Number(lines[0]), want, label);
    if (want === 0 && F !== '0') none++;
    // JS (src/export/options.ts) reads the same variable: from up to 9 digits in its range 1..600000, the same number.
    const js = resolveDeliveryOptions({}, { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: T, OTEL_EXPORTER_OTLP_TIMEOUT: G }).timeoutMs;
    const text = T.trim() || G.trim();
    if (/^[0-9]{1,9}$/.test(text) && Number(text) >= 1 && Number(text) <= 600_000) {
      assert.equal(want, js, label);
      agreed++;
    }
  }
  assert.ok(none >= 10 && agreed >= 10, JSON.stringify({ none, agreed }));
});

// ---- OTEL_TRACES_SAMPLER_ARG, OTEL_SDK_DISABLED ---------------------------------------

test('1,000 generated OTEL_TRACES_SAMPLER_ARG values: the ratio JS reads, and a bad one warned about by name', async () => {
  const r = prng(0x5a3b1e);
  const words = ['0.5', '1', '0', '.25', '5.', '1e-1', '1E0', '+0.5', '-0', '-0.1', '1.5', 'abc', '0.5abc', 'Infinity', 'NaN', '1e', 'e1', '.', '0. 5'];
  // F: the ratio the program gave, used instead of a bad variable (in JS, the default 1).
  const cases = Array.from({ length: 1000 }, (_, i) => ({
    A: i % 3 ? chars(r, '0123456789.+-eE', 1 + Math.floor(r() * 6)) : pick(r, words),
    F: String(pick(r, [1, 1, 0, 0.5, 0.25, 0.001, 0.123456])),
  }));
  const { lines, stderr } = await runFixture('ratio', cases);
  const warnings: string[] = [];
  cases.forEach(({ A, F }, i) => {
    // JS (src/sampler.ts samplerRatio): Number() of the text; outside 0..1 warns and uses the default.
    const n = Number(A);
    const ok = n >= 0 && n <= 1;
    if (!ok) warnings.push(`wasmtrace: ${badSetting('OTEL_TRACES_SAMPLER_ARG', A, Number(F))}`);
    const want = ok ? n : Number(F);
    assert.ok(Math.abs(Number(lines[i]) - want) <= 1e-15, `case ${i}: ${JSON.stringify(A)}: ${lines[i]} != ${want}`);
  });
  assert.deepEqual(stderr.split('\n').filter(Boolean), warnings);
  assert.ok(warnings.length > 200 && warnings.length < 900, `${warnings.length} warnings`);
});

test('OTEL_SDK_DISABLED: "true" in any case records, sends and opens nothing, as the JS SDK; anything else traces', async () => {
  const collector = await startCollector();
  const out = mkdtempSync(join(tmpdir(), 'wasmtrace-disabled-'));
  try {
    const r = prng(0xd15a);
    const values = ['true', 'TRUE', ' True ', 'false', '1'];
    while (values.length < 8) values.push(pick(r, ['tRuE', 'yes', 'true1', 'on', '\ttrue\n']));
    for (const [i, value] of values.entries()) {
      const off = sdkDisabled(undefined, { OTEL_SDK_DISABLED: value });
      const env = { OTEL_SDK_DISABLED: value, TRACEPARENT: `00-${T}-${P}-01`, ORDERS: '1' };
      const before = collector.requests.length;
      const viaHttp = await runWasi({ wasm: SOCKETS, env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin } });
      assert.equal(viaHttp.exitCode, 0, viaHttp.stderr);
      assert.equal(collector.requests.length - before, off ? 0 : 1, JSON.stringify(value));
      assert.equal(viaHttp.socketCalls.OPEN ?? 0, off ? 0 : 2, 'no probe socket either');
      const file = `spans-${i}.jsonl`;
      const viaLines = await runWasi({ wasm: LINES, sockets: false, preopens: { '/out': out }, env: { ...env, WASMTRACE_OUTPUT: `/out/${file}` } });
      assert.equal(viaLines.exitCode, 0, viaLines.stderr);
      assert.equal(existsSync(join(out, file)), !off, JSON.stringify(value));
      assert.equal(viaLines.stderr.replace(/.*ExperimentalWarning.*\n?/g, ''), '');
    }
  } finally {
    await collector.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('OTEL_SDK_DISABLED: span.traceparent() is "" for the zero ids, as JS\'s formatTraceparent, under a TRACEPARENT or not; enabled, a valid one (fails before: 00-000…-00)', async () => {
  for (const [disabled, parent] of [['true', ''], ['TRUE', `00-${T}-${P}-01`], ['false', ''], ['false', `00-${T}-${P}-01`]] as const) {
    const env: Record<string, string> = { OTEL_SDK_DISABLED: disabled, ...(parent && { TRACEPARENT: parent }) };
    const { lines, stderr } = await runFixture('spans', [{}, {}], env);
    assert.equal(stderr, '');
    for (const line of lines) {
      const [rootTrace, rootSpan, rootTp, childTrace, childSpan, childTp] = line.split(' ');
      const label = `${JSON.stringify(env)}: ${line}`;
      if (disabled !== 'false') {
        assert.equal(rootTrace, '0'.repeat(32), label);
        assert.equal(rootTp, formatTraceparent(rootTrace!, rootSpan!, 1), label);
        assert.equal(childTp, formatTraceparent(childTrace!, childSpan!, 1), label);
        assert.equal(rootTp + childTp, '', label);
      } else {
        assert.equal(parseTraceparent(rootTp!)?.spanId, rootSpan, label);
        assert.equal(parseTraceparent(childTp!)?.traceId, parent ? T : rootTrace, label);
      }
    }
  }
});

test('a bad OTEL_TRACES_SAMPLER_ARG is named on stderr and the program\'s ratio used', async () => {
  const run = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_TRACES_SAMPLER_ARG: '0.5abc', ORDERS: '1' } });
  assert.equal(run.exitCode, 0);
  assert.match(run.stderr, new RegExp(`wasmtrace: ${badSetting('OTEL_TRACES_SAMPLER_ARG', '0.5abc', 1)}\n`));
  assert.ok(allSpans(decodeJson(run.stdout.trim())).length > 0, 'ratio 1: every trace kept');
});

test('600 generated span limit values: clamped to what the core holds with a warning, below the minimum the default, as JS reads them (src/limits.ts; fails before: over the maximum gave the default)', async () => {
  const r = prng(0x11a1);
  const cases = Array.from({ length: 600 }, () => {
    const [min, max] = pick(r, [[0, 0xffff], [1, 16384]] as const);
    const x = r();
    const n = x < 0.2 ? Math.floor(r() * (max + 2)) : x < 0.6 ? max + 1 + Math.floor(r() * 2 ** (1 + Math.floor(r() * 31))) : Math.floor(r() * 10 ** (1 + Math.floor(r() * 15)));
    return { V: pick(r, ['', '', '0', '00']) + String(n), F: String(pick(r, [128, 4096, 7])), L: String(min), H: String(max) };
  });
  const extra: Record<string, string> = {};
  cases.forEach((c, i) => (extra[`OTEL_X${i}_LIMIT`] = c.V));
  const { lines, stderr } = await runFixture('limit', cases.map(({ F, L, H }) => ({ F, L, H })), extra);
  const warned: string[] = [];
  let clamped = 0;
  cases.forEach(({ V, F, L, H }, i) => {
    // JS's reading (src/limits.ts resolveLimits' v): from min on, else the default; past max, max with a warning.
    const name = `OTEL_X${i}_LIMIT`;
    const n = rangeSetting(name, V, Number(L), Infinity, Number(F), (m) => warned.push(`wasmtrace: ${m}`));
    if (n > Number(H)) {
      warned.push(`wasmtrace: ${badSetting(name, n, Number(H))}`);
      clamped++;
    }
    assert.equal(lines[i], String(Math.min(n, Number(H))), `case ${i}: ${name}=${V} (${L}..${H}, default ${F})`);
  });
  assert.deepEqual(stderr.split('\n').filter(Boolean), warned);
  assert.ok(clamped > 300, `${clamped} clamped`);
});

test('the review\'s cases: OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=70000, OTEL_SPAN_EVENT_COUNT_LIMIT=1000000, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=10000000000 warn and clamp, as JS', async () => {
  for (const [name, value, max] of [['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', '70000', 65535], ['OTEL_SPAN_EVENT_COUNT_LIMIT', '1000000', 65535], ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', '10000000000', 16384], ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', '16385', 16384]] as const) {
    const run = await runWasi({ wasm: LINES, sockets: false, env: { [name]: value, ORDERS: '1' } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stderr, `wasmtrace: ${badSetting(name, value, max)}\n`, `${name}=${value}`);
  }
});

test('bad OTEL_EXPORTER_OTLP_TIMEOUT and span limit values are named on stderr, as JS names them, and the default used (generated)', async () => {
  const r = prng(0xbad1);
  const vars: Array<[string, number]> = [
    ['OTEL_EXPORTER_OTLP_TIMEOUT', 10_000], ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 10_000],
    ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 128], ['OTEL_SPAN_EVENT_COUNT_LIMIT', 128], ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 4096],
  ];
  for (let c = 0; c < 8; c++) {
    const [name, def] = pick(r, vars);
    const value = pick(r, ['soon', '-5', '12abc', 'x1', '--', '0x', `${1 + Math.floor(r() * 99)}ms`]);
    const run = await runWasi({ wasm: LINES, sockets: false, env: { [name]: value, ORDERS: '1' } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stderr, `wasmtrace: ${badSetting(name, value, def)}\n`, `${name}=${value}`);
  }
  const good = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_SPAN_EVENT_COUNT_LIMIT: ' 7 ', ORDERS: '1' } });
  assert.equal(good.stderr, '');
});
