// The Worker's config warnings name what the user set: the config's option,
// or the OTEL_* variable its value came from (as the page and Node entries do).
// A file of its own: warnings print once per process (diag.ts warnOnce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../worker/config.js';

test('a bad Worker setting is named by its variable when the env gave it, by the option when the config did', (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.slice(1).join(' ')));
  const cases: Array<[Record<string, unknown>, Record<string, string>, string]> = [
    [{}, { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }, 'bad OTEL_EXPORTER_OTLP_TIMEOUT soon; using 10000'],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '-5', OTEL_EXPORTER_OTLP_TIMEOUT: '5' }, 'bad OTEL_EXPORTER_OTLP_TRACES_TIMEOUT -5; using 10000'],
    [{ timeoutMs: -1 }, { OTEL_EXPORTER_OTLP_TIMEOUT: '5' }, 'bad timeoutMs -1; using 10000'],
    [{}, { OTEL_BSP_SCHEDULE_DELAY: '99999' }, 'bad OTEL_BSP_SCHEDULE_DELAY 99999; using 100'],
    [{ scheduledDelayMs: 'x' }, {}, 'bad scheduledDelayMs x; using 100'],
    [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[bad' }, 'bad OTEL_EXPORTER_OTLP_ENDPOINT http://[bad; using http://localhost:4318/v1/traces'],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://[t' }, 'bad OTEL_EXPORTER_OTLP_TRACES_ENDPOINT http://[t; using http://localhost:4318/v1/traces'],
    [{ endpoint: 'http://[c' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ok:1' }, 'bad endpoint http://[c; using http://localhost:4318/v1/traces'],
    [{}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'bad OTEL_EXPORTER_OTLP_PROTOCOL grpc; using http/protobuf'],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, 'bad OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (without wasm) http/json; using http/protobuf'],
    [{ protocol: 'http/json' }, {}, 'bad protocol (without wasm) http/json; using http/protobuf'],
    [{}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'br' }, 'bad OTEL_EXPORTER_OTLP_COMPRESSION br; using none'],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'deflate', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, 'bad OTEL_EXPORTER_OTLP_TRACES_COMPRESSION deflate; using none'],
    [{ compression: 'br' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, 'bad compression br; using none'],
  ];
  for (const [config, env, text] of cases) {
    const before = warned.length;
    assert.ok(resolveConfig(config, env), JSON.stringify({ config, env }));
    assert.deepEqual(warned.slice(before), [text], JSON.stringify({ config, env }));
  }
  // Good values from the env, and an empty option (unset): no warning.
  const before = warned.length;
  const r = resolveConfig({ timeoutMs: '' as unknown as number }, { OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_BSP_SCHEDULE_DELAY: '0' })!;
  assert.equal(r._timeout, 2500);
  assert.equal(r._delay, 0);
  assert.equal(warned.length, before);
});

test('compression: the option, else OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, else OTEL_EXPORTER_OTLP_COMPRESSION, any case; none by default', () => {
  const cases: Array<[Record<string, unknown>, Record<string, string>, boolean]> = [
    [{}, {}, false],
    [{}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, true],
    [{}, { OTEL_EXPORTER_OTLP_COMPRESSION: ' GZIP ' }, true],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, false],
    [{}, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'Gzip', OTEL_EXPORTER_OTLP_COMPRESSION: 'none' }, true],
    [{ compression: 'none' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, false],
    [{ compression: 'gzip' }, {}, true],
    [{}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'auto' }, true],
    [{ compression: 'auto' }, {}, true],
  ];
  for (const [config, env, gzip] of cases) assert.equal(resolveConfig(config, env)!._gzip, gzip, JSON.stringify({ config, env }));
});

test('a config function that throws turns tracing off with one warning, whatever it throws (values no String() can print too)', (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warnings.push(a.map(String).join(' ')));
  const thrown: [unknown, string][] = [
    [new Error('no env'), 'no env'],
    [Object.assign(Object.create(null), { [Symbol.toStringTag]: 'Bare' }), '[object Bare]'],
    [Symbol('sym'), 'Symbol(sym)'],
    ['text', 'text'],
  ];
  for (const [value, shown] of thrown) {
    assert.equal(resolveConfig(() => { throw value; }, {}), null, shown);
    assert.ok(warnings.includes(`[wasmtrace] config function failed; tracing is off: ${shown}`), `${shown} in ${JSON.stringify(warnings)}`);
  }
});
