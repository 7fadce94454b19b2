// A setting of the wrong type, in code or in the environment, is replaced by
// its default with one warning that names it, and nothing else changes:
// tracing stays on, init() resolves (README, "A bad setting ... nothing
// throws"). Values that no String() or Number() can take (a Symbol, an
// object with no prototype, a valueOf that throws) included. Its own file:
// each distinct warning prints once per process, and at most about a hundred.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error: the built bundle has no declaration file next to it in tests
import * as wasmtrace from '../../dist/node.js';
import { resolveLimits } from '../../src/limits.js';

const { init } = wasmtrace as typeof import('../../src/node.js');

/** Wrong values, each printed differently (`case` in it) so that no warning is one already given. */
const wrong = {
  symbol: (i: number): unknown => Symbol(`s${i}`),
  noPrototype: (i: number): unknown => Object.assign(Object.create(null), { [Symbol.toStringTag]: `np${i}` }),
  throwingValueOf: (i: number): unknown => ({ valueOf: () => { throw new Error('no number'); }, toString: () => `tv${i}` }),
  text: (i: number): unknown => `x${i}`,
  number: (i: number): unknown => 1000 + i,
  storageLike: (i: number): unknown => ({ getItem: () => null, toString: () => `st${i}` }),
};

/** What the warning names a value as: String(), else its [object Tag]. */
const shown = (v: unknown): string => {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
};

const NUMERIC = ['timeoutMs', 'maxExportBatchSize', 'scheduledDelayMs', 'maxQueueBytes', 'retryInitialDelayMs', 'maxAttempts', 'maxConcurrentRequests'];
/** Each setting, and the kinds of value that are wrong for it. */
const CASES: [string, (keyof typeof wrong)[]][] = [
  ...NUMERIC.map((k): [string, (keyof typeof wrong)[]] => [k, ['symbol', 'noPrototype', 'throwingValueOf', 'text']]),
  ['sampler', ['symbol', 'text', 'number']],
  ['limits', ['symbol', 'text', 'number']],
  ['storage', ['symbol', 'noPrototype', 'text', 'storageLike']],
  ['disabled', ['symbol', 'noPrototype', 'text', 'number']],
];

test('a setting of the wrong type warns once, naming it and the value, and tracing stays on (init resolves; 42 cases, Symbols and objects with no prototype among them)', async (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warnings.push(a.map(String).join(' ')));
  let i = 0;
  let cases = 0;
  for (const [key, kinds] of CASES) {
    for (const kind of kinds) {
      const value = wrong[kind](i++);
      const sent: number[] = [];
      const tracer = await init({ serviceName: 'settings', [key]: value, transport: async () => (sent.push(1), { status: 200 }) } as never);
      const span = tracer.startSpan('x');
      assert.equal(span.isRecording(), true, `${key} = ${kind}: tracing is on`);
      span.end();
      const r = await tracer.flush();
      await tracer.shutdown();
      assert.equal(r.sent, 1, `${key} = ${kind}: the span is sent`);
      const said = `[wasmtrace] bad ${key} ${shown(value)}; using `;
      assert.equal(warnings.filter((w) => w.startsWith(said)).length, 1, `${key} = ${kind}: one warning "${said}…" in ${JSON.stringify(warnings)}`);
      cases++;
    }
  }
  assert.equal(cases, 42, 'every case ran');
  assert.deepEqual(warnings.filter((w) => w.includes('tracing is off')), [], 'no setting turned tracing off');
});

test('span limit variables past what the Wasm side holds are clamped to it with a warning, as the option is', (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warnings.push(a.map(String).join(' ')));
  const got = resolveLimits(undefined, {
    OTEL_SPAN_EVENT_COUNT_LIMIT: '65536',
    OTEL_SPAN_LINK_COUNT_LIMIT: '1e20',
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100000',
  });
  assert.equal(got.events, 65535);
  assert.equal(got.links, 65535);
  assert.equal(got.attributeValueLength, 16384);
  assert.deepEqual(warnings.sort(), [
    '[wasmtrace] bad OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT 100000; using 16384',
    '[wasmtrace] bad OTEL_SPAN_EVENT_COUNT_LIMIT 65536; using 65535',
    '[wasmtrace] bad OTEL_SPAN_LINK_COUNT_LIMIT 100000000000000000000; using 65535',
  ]);
  // Within what it holds: taken silently.
  warnings.length = 0;
  assert.equal(resolveLimits(undefined, { OTEL_SPAN_EVENT_COUNT_LIMIT: '65535' }).events, 65535);
  assert.deepEqual(warnings, []);
});
