// OpenTelemetry environment variables, read as the specification says
// (sdk-environment-variables.md): an empty value is the same as unset, enum
// values are case-insensitive, and the signal's own variable
// (OTEL_EXPORTER_OTLP_TRACES_*) wins over the general one. Generated env maps
// are checked against a model written from those rules, for delivery (every
// JS entry) and the Worker config; then the sampler and OTEL_SDK_DISABLED
// through init().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDeliveryOptions } from '../../src/export/options.js';
import { resolveConfig } from '../../worker/config.js';
import { envSamplerRatio } from '../../src/env.js';
import { samplerRatio } from '../../src/sampler.js';
import { resolveLimits } from '../../src/limits.js';
import { parseTraceparent } from '../../src/propagation.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import { init } from '../../src/node.js';
import type { InitOptions } from '../../src/init.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const O = 'OTEL_EXPORTER_OTLP_';
const T = 'OTEL_EXPORTER_OTLP_TRACES_';
/** Values each variable may take when set (enums get their case scrambled). */
const VALUES: Record<string, string[]> = {
  [O + 'ENDPOINT']: ['https://a.example:4318', 'https://b.example/base/', 'http://127.0.0.1:4318//', 'https://e.example/base/?tenant=a%2Fb', 'http://f.example:4318?k=/x/#top'],
  [T + 'ENDPOINT']: ['https://c.example/v1/traces', 'https://d.example/custom'],
  [O + 'PROTOCOL']: ['http/protobuf', 'http/json'],
  [T + 'PROTOCOL']: ['http/protobuf', 'http/json'],
  [O + 'COMPRESSION']: ['gzip', 'none', 'auto'],
  [T + 'COMPRESSION']: ['gzip', 'none'],
  [O + 'TIMEOUT']: ['2500', '7000', '0'],
  [T + 'TIMEOUT']: ['1200', '0'],
  OTEL_BSP_SCHEDULE_DELAY: ['100', '0'],
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ['64'],
};
const ENUMS = new Set([O + 'PROTOCOL', T + 'PROTOCOL', O + 'COMPRESSION', T + 'COMPRESSION']);

type Env = Record<string, string | undefined>;

/** Each variable absent, empty, blank, or a value padded with spaces (enums in a random case). */
function generateEnv(r: () => number): Env {
  const env: Env = {};
  const pad = (): string => [' ', '', '\t', '  '][Math.floor(r() * 4)]!;
  for (const [name, values] of Object.entries(VALUES)) {
    const roll = r();
    if (roll < 0.3) continue;
    if (roll < 0.45) env[name] = '';
    else if (roll < 0.55) env[name] = pad() + ' ';
    else {
      let v = values[Math.floor(r() * values.length)]!;
      if (ENUMS.has(name)) v = [...v].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join('');
      env[name] = pad() + v + pad();
    }
  }
  return env;
}

/** The model: what the specification says each setting becomes. */
function expected(env: Env) {
  const set = (name: string): string | undefined => env[name]?.trim() || undefined;
  const pick = (name: string): string | undefined => set(T + name) ?? set(O + name);
  const base = set(O + 'ENDPOINT');
  // exporter.md, "Endpoint URLs for OTLP/HTTP": the base's path gets v1/traces appended (a query stays the query).
  const [, path, rest] = /^([^?#]*)(.*)$/.exec(base ?? '')!;
  const endpoint = set(T + 'ENDPOINT') ?? (base ? path!.replace(/\/*$/, '') + '/v1/traces' + rest : 'http://localhost:4318/v1/traces');
  return {
    endpoint: new URL(endpoint).href,
    protocol: pick('PROTOCOL')?.toLowerCase() ?? 'http/protobuf',
    compression: pick('COMPRESSION')?.toLowerCase() ?? 'auto',
    // Timeout type (configuration/common.md): 0 is no limit, which may be "a very long time": the longest, 10 min.
    timeoutMs: Number(pick('TIMEOUT') ?? 10_000) || 600_000,
    scheduledDelayMs: Number(set('OTEL_BSP_SCHEDULE_DELAY') ?? 5000),
    maxExportBatchSize: Number(set('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512),
  };
}

test('delivery settings from 3,000 generated env maps: empty is unset, enums in any case, TRACES_* first', () => {
  const r = prng(0x5eed);
  for (let i = 0; i < 3000; i++) {
    const env = generateEnv(r);
    const warnings: string[] = [];
    const o = resolveDeliveryOptions({ storage: null }, env, (m) => warnings.push(m));
    const want = expected(env);
    const got = {
      endpoint: o.endpoint, protocol: o.protocol, compression: o.compression, timeoutMs: o.timeoutMs,
      scheduledDelayMs: o.scheduledDelayMs, maxExportBatchSize: o.maxExportBatchSize,
    };
    assert.deepEqual(got, want, `case ${i}: ${JSON.stringify(env)}`);
    assert.deepEqual(warnings, [], `case ${i}: ${JSON.stringify(env)}`);
  }
});

test('the Worker config reads the same env the same way (1,000 generated maps)', (t) => {
  const warned: unknown[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a));
  const r = prng(0xc0ffee);
  for (let i = 0; i < 1000; i++) {
    const env = generateEnv(r);
    // http/json needs the JSON module; any module object will do for resolving.
    const c = resolveConfig({ wasm: {} as WebAssembly.Module }, env);
    const want = expected(env);
    assert.ok(c, `case ${i}`);
    // A Worker's export delay defaults to 100 ms, not the batch processor's 5 s (worker/config.ts).
    const delay = env.OTEL_BSP_SCHEDULE_DELAY?.trim() ? want.scheduledDelayMs : 100;
    // Nor is its compression on by default: gzip only when the env asks for it (auto included).
    const gzip = !!(env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION?.trim() || env.OTEL_EXPORTER_OTLP_COMPRESSION?.trim()) && want.compression !== 'none';
    assert.deepEqual(
      { endpoint: c._endpoint, json: c._json, timeoutMs: c._timeout, delay: c._delay, gzip: c._gzip },
      { endpoint: want.endpoint, json: want.protocol === 'http/json', timeoutMs: want.timeoutMs, delay, gzip },
      `case ${i}: ${JSON.stringify(env)}`,
    );
  }
  assert.deepEqual(warned, []);
});

test('OTEL_TRACES_SAMPLER and its argument, in any case and with blanks, give the ratio the specification names', () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'arg'], ['', 'arg'], ['  ', 'arg'],
    ['always_on', '1'], ['parentbased_always_on', '1'],
    ['always_off', '0'], ['parentbased_always_off', '0'],
    ['traceidratio', 'arg or 1'], ['parentbased_traceidratio', 'arg or 1'],
    ['jaeger_remote', 'unknown'], ['xray', 'unknown'],
  ];
  const r = prng(7);
  let n = 0;
  for (const [sampler, rule] of cases) {
    for (const arg of [undefined, '', ' 0.25 ', '1']) {
      for (let k = 0; k < 4; k++) {
        const name = sampler === undefined ? undefined : ' ' + [...sampler].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join('') + ' ';
        const env: Env = { OTEL_TRACES_SAMPLER: name, OTEL_TRACES_SAMPLER_ARG: arg };
        const warnings: string[] = [];
        const got = envSamplerRatio(env, (m) => warnings.push(m));
        const a = arg?.trim() || undefined;
        const want = rule === '1' ? '1' : rule === '0' ? '0' : rule === 'arg or 1' ? (a ?? '1') : rule === 'unknown' ? undefined : a;
        assert.equal(got, want, `${JSON.stringify(env)}`);
        assert.equal(warnings.length, rule === 'unknown' ? 1 : 0, `${JSON.stringify(env)}: ${warnings.join('; ')}`);
        if (rule === 'unknown') assert.match(warnings[0]!, /OTEL_TRACES_SAMPLER/);
        n++;
      }
    }
  }
  assert.equal(n, cases.length * 16);
});

const ok = async () => ({ status: 200 });
const base: InitOptions = { serviceName: 'env-test', wasm: protoWasm, storage: null, compression: 'none', transport: ok };

test('OTEL_SDK_DISABLED=true in any case, or disabled: true, gives a tracer that records nothing and loads no Wasm', async (t) => {
  const instantiate = t.mock.method(WebAssembly, 'instantiate');
  const cases: Array<[Partial<InitOptions>, boolean]> = [
    [{ env: { OTEL_SDK_DISABLED: 'true' } }, false],
    [{ env: { OTEL_SDK_DISABLED: ' TRUE ' } }, false],
    [{ env: { OTEL_SDK_DISABLED: 'True' } }, false],
    [{ env: { OTEL_SDK_DISABLED: 'false' } }, true],
    [{ env: { OTEL_SDK_DISABLED: '' } }, true],
    [{ env: { OTEL_SDK_DISABLED: '1' } }, true], // only "true" is true
    [{ env: { OTEL_SDK_DISABLED: 'TRUE' }, disabled: false }, true], // the code setting wins
    [{ disabled: true }, false],
  ];
  for (const [extra, records] of cases) {
    const before = instantiate.mock.callCount();
    const tracer = await init({ ...base, ...extra });
    const span = tracer.startSpan('x');
    assert.equal(span.isRecording(), records, JSON.stringify(extra));
    assert.equal(instantiate.mock.callCount() > before, records, `Wasm instantiated: ${JSON.stringify(extra)}`);
    span.end();
    await tracer.shutdown();
  }
});

test('OTEL_TRACES_SAMPLER through init(): always_off records nothing, a ratio sampler marks its threshold', async () => {
  // (Tail sampling off: it would hold the spans to keep a trace that errs.)
  const off = await init({ ...base, sampler: { keepErrors: false }, env: { OTEL_TRACES_SAMPLER: 'Always_Off', OTEL_TRACES_SAMPLER_ARG: '1' } });
  for (let i = 0; i < 50; i++) assert.equal(off.startSpan('x').isRecording(), false);
  await off.shutdown();
  // parentbased_traceidratio at 0.25: roots kept carry the OpenTelemetry threshold (ot=th:c).
  const ratio = await init({ ...base, sampler: { keepErrors: false }, env: { OTEL_TRACES_SAMPLER: 'PARENTBASED_TRACEIDRATIO', OTEL_TRACES_SAMPLER_ARG: '0.25' } });
  let kept = 0;
  for (let i = 0; i < 400; i++) {
    const s = ratio.startSpan('x');
    if (s.isRecording()) {
      kept++;
      assert.equal(s.spanContext().traceState, 'ot=th:c');
    }
    s.end();
  }
  assert.ok(kept > 50 && kept < 150, `kept ${kept} of 400 at ratio 0.25`);
  await ratio.shutdown();
  // The code setting wins over the env.
  const code = await init({ ...base, sampler: { ratio: 1, keepErrors: false }, env: { OTEL_TRACES_SAMPLER: 'always_off' } });
  assert.equal(code.startSpan('x').isRecording(), true);
  await code.shutdown();
});

const TP_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TP_SPAN = '00f067aa0ba902b7';

test('TRACEPARENT/TRACESTATE in the environment: spans with no parent become the caller\'s children, and inject passes it on', async () => {
  const bodies: Uint8Array[] = [];
  const tracer = await init({
    ...base,
    transport: async (body) => (bodies.push(body), { status: 200 }),
    env: { TRACEPARENT: ` 00-${TP_TRACE}-${TP_SPAN}-01 `, TRACESTATE: 'vendor=abc' },
  });
  const job = tracer.startSpan('job');
  assert.equal(job.spanContext().traceId, TP_TRACE);
  assert.equal(job.spanContext().traceState, 'vendor=abc');
  const carrier: Record<string, string> = {};
  tracer.inject(carrier); // no span active: the caller's context goes on
  assert.deepEqual(carrier, { traceparent: `00-${TP_TRACE}-${TP_SPAN}-01`, tracestate: 'vendor=abc' });
  tracer.startActiveSpan('step', (step) => {
    assert.equal(step.spanContext().traceId, TP_TRACE);
    tracer.inject(carrier); // a span active: it is the parent sent
    assert.equal(carrier.traceparent, `00-${TP_TRACE}-${step.spanContext().spanId}-01`);
    step.end();
  });
  const fresh = tracer.startSpan('own-trace', { root: true });
  const alsoFresh = tracer.startSpan('own-trace', undefined, null);
  assert.notEqual(fresh.spanContext().traceId, TP_TRACE);
  assert.notEqual(alsoFresh.spanContext().traceId, TP_TRACE);
  for (const s of [job, fresh, alsoFresh]) s.end();
  await tracer.shutdown();
  const spans = bodies.flatMap((b) => allSpans(decodeProtobuf(b)));
  const byName = (n: string) => spans.filter((s) => s.name === n);
  assert.equal(byName('job')[0]?.parentSpanId, TP_SPAN);
  assert.equal(byName('job')[0]?.traceState, 'vendor=abc');
  assert.equal(byName('step')[0]?.parentSpanId, TP_SPAN);
  assert.deepEqual(byName('own-trace').map((s) => s.parentSpanId), ['', '']);
});

test('TRACEPARENT: an unsampled caller is followed; 500 generated malformed values start a new trace and throw nothing', async () => {
  const unsampled = await init({ ...base, sampler: { keepErrors: false }, env: { TRACEPARENT: `00-${TP_TRACE}-${TP_SPAN}-00` } });
  assert.equal(unsampled.startSpan('x').isRecording(), false);
  await unsampled.shutdown();
  const r = prng(42);
  const valid = `00-${TP_TRACE}-${TP_SPAN}-01`;
  const junk = '0123456789abcdefABCDEF-xz \u00e9';
  const traceIds = new Set<string>();
  let tried = 0;
  while (tried < 500) {
    // Mutate one to three characters, or cut the value short.
    const chars = [...valid];
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) chars[Math.floor(r() * chars.length)] = junk[Math.floor(r() * junk.length)]!;
    const value = r() < 0.2 ? chars.join('').slice(0, Math.floor(r() * valid.length)) : chars.join('');
    const parsed = parseTraceparent(value);
    if (parsed) continue; // a mutation the processing model still accepts (a hex digit for a hex digit)
    tried++;
    const tracer = await init({ ...base, env: { TRACEPARENT: value } });
    const span = tracer.startSpan('x');
    assert.notEqual(span.spanContext().traceId, TP_TRACE, value);
    assert.equal(span.isRecording(), true, value);
    traceIds.add(span.spanContext().traceId);
    span.end();
    await tracer.shutdown();
  }
  assert.equal(traceIds.size, 500, 'each is a trace of its own');
});

test('a bad sampler ratio warns once, naming the option or variable and the value as given; good ones are taken silently', (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.join(' ')));
  const r = prng(404);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // The ends of the range are good values too.
  for (const n of [0, 1]) {
    assert.equal(samplerRatio(n, '0.5'), n);
    for (const given of [String(n), ` ${n} `, `${n}.0`]) assert.equal(samplerRatio(undefined, given), n, JSON.stringify(given));
  }
  assert.equal(warned.join(' | '), '', 'no warning for 0 or 1');
  for (let i = 0; i < 40; i++) {
    const good = r() < 0.5;
    const fromEnv = r() < 0.5;
    const n = good ? Math.round(r() * 1000) / 1000 : pick([-1 - Math.round(r() * 9), 1.5 + Math.round(r() * 9), NaN, Infinity]);
    const given = fromEnv ? pick([String(n), ` ${n} `, good ? String(n) : `x${i}`]) : pick<unknown>([n, good ? n : `${n}`]);
    const before = warned.length;
    const ratio = fromEnv ? samplerRatio(undefined, given as string) : samplerRatio(given, '0.5');
    const where = `case ${i}: ${fromEnv ? 'OTEL_TRACES_SAMPLER_ARG' : 'sampler.ratio'} = ${JSON.stringify(String(given))}`;
    if (good) {
      assert.equal(ratio, n, where);
      assert.equal(warned.length, before, where);
    } else {
      assert.equal(ratio, 1, where);
      const name = fromEnv ? 'OTEL_TRACES_SAMPLER_ARG' : 'sampler.ratio';
      // One warning per distinct setting and value; a repeat prints nothing.
      const message = warned.slice(before).join('\n');
      if (message) assert.ok(message.includes(`bad ${name} ${String(given)}; using 1`), `${where}: ${message}`);
      else assert.ok(warned.some((w) => w.includes(`bad ${name} ${String(given)}; using 1`)), `${where}: no warning`);
    }
  }
  assert.equal(samplerRatio(undefined, undefined), 1);
  assert.equal(samplerRatio(null, '0.25'), 0.25);
});

test('span limits: the option, else the span variable, else the general one, else the default (a bad value: the next in line; one past what Wasm holds: clamped); 2,000 generated cases', (t) => {
  t.mock.method(console, 'warn', () => {});
  const r = prng(77);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const VARS = ['OTEL_ATTRIBUTE_COUNT_LIMIT', 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_SPAN_EVENT_COUNT_LIMIT', 'OTEL_SPAN_LINK_COUNT_LIMIT',
    'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'];
  const KEYS = ['attributes', 'events', 'links', 'attributesPerEvent', 'attributeValueLength'] as const;
  const envText = (): string | undefined => pick([undefined, '', '  ', '0', '1', '3', ' 17 ', '128', '5000', '70000', '1e20', '-1', 'abc', '2.9']);
  // The rules as the specification words them, written out per variable; a
  // value past what the Wasm side holds is clamped to it, as the option is.
  const read = (v: string | undefined, min: number, max: number): number | 'bad' | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v.trim());
    return Number.isFinite(n) && n >= min ? Math.min(Math.floor(n), max) : 'bad';
  };
  for (let i = 0; i < 2000; i++) {
    const env: Record<string, string | undefined> = {};
    for (const v of VARS) if (r() < 0.35) env[v] = envText();
    const opts: Record<string, unknown> = {};
    for (const k of KEYS) if (r() < 0.2) opts[k] = pick([0, 1, 5, 200, 70000, -3, 2.5, NaN, '9']);
    const given = r() < 0.1 ? undefined : opts;
    const got = resolveLimits(given, env);
    const envCount = (name: string, def: number): number => {
      const v = read(env[name], 0, 0xffff);
      return v === undefined || v === 'bad' ? def : v;
    };
    const general = envCount('OTEL_ATTRIBUTE_COUNT_LIMIT', 128);
    const length = (name: string, def: number): number => {
      const n = read(env[name], 1, 16384);
      return n === undefined || n === 'bad' ? def : n;
    };
    const envLen = length('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', length('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 4096));
    const fromOption = (k: string, lo: number, hi: number, def: number): number => {
      const v = given?.[k];
      if (v === undefined) return def;
      return typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.floor(v))) : def;
    };
    const want = {
      attributes: fromOption('attributes', 0, 0xffff, envCount('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', general)),
      events: fromOption('events', 0, 0xffff, envCount('OTEL_SPAN_EVENT_COUNT_LIMIT', 128)),
      links: fromOption('links', 0, 0xffff, envCount('OTEL_SPAN_LINK_COUNT_LIMIT', 128)),
      attributesPerEvent: fromOption('attributesPerEvent', 0, 0xffff, Math.min(envCount('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', general), envCount('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', general))),
      attributeValueLength: fromOption('attributeValueLength', 1, 16384, envLen),
    };
    assert.deepEqual(got, want, `case ${i}: ${JSON.stringify({ env, opts })}`);
  }
});

test('span limits through init(): OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, the limits option winning', async () => {
  for (const [env, limits, count, length] of [
    [{ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5' }, undefined, 3, 5],
    [{ OTEL_ATTRIBUTE_COUNT_LIMIT: '2', OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '7', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '1' }, undefined, 2, 7],
    [{ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3' }, { attributes: 6, attributeValueLength: 2 }, 6, 2],
  ] as const) {
    const bodies: Uint8Array[] = [];
    const tracer = await init({ ...base, env, limits, transport: async (body) => (bodies.push(body.slice()), { status: 200 }) });
    const s = tracer.startSpan('limited');
    for (let i = 0; i < 10; i++) s.setAttribute(`k${i}`, 'value-' + i);
    s.end();
    await tracer.shutdown();
    const [span] = bodies.flatMap((b) => allSpans(decodeProtobuf(b)));
    assert.ok(span, JSON.stringify(env));
    assert.equal(span.attributes.length, count, JSON.stringify(env));
    assert.equal(span.droppedAttributesCount, 10 - count);
    for (const a of span.attributes) assert.equal(JSON.stringify(a.value), JSON.stringify({ stringValue: ('value-' + a.key.slice(1)).slice(0, length) }));
    assert.equal(span.resource['service.name'], 'env-test');
  }
});
