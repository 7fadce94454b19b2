// The public entry as users get it (dist/node.js): init, export to a real
// collector on 127.0.0.1, configuration from OTEL_* variables, and the
// no-op fallback when Wasm cannot load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCollector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
// @ts-expect-error: the built bundle has no declaration file next to it in tests
import * as wasmtrace from '../../dist/node.js';

type Api = typeof import('../../src/node.js');
const { init, SpanKind } = wasmtrace as Api;

test('init exports spans to an OTLP/HTTP endpoint with the resource and scope', async () => {
  const collector = await startCollector();
  try {
    const tracer = await init({ serviceName: 'shop-api', endpoint: collector.url, storage: null, resource: { 'service.version': '1.2.3' } });
    const span = tracer.startSpan('checkout', { kind: SpanKind.SERVER, attributes: { 'cart.items': 3 } });
    span.end();
    const result = await tracer.flush();
    assert.equal(result.sent, 1);
    const [s] = collector.spans();
    assert.ok(s);
    assert.equal(s.name, 'checkout');
    assert.equal(s.kind, 2);
    assert.equal(s.spanId, span.spanContext().spanId);
    assert.deepEqual(s.resource['service.name'], 'shop-api');
    assert.equal(s.resource['service.version'], '1.2.3');
    assert.equal(s.resource['telemetry.sdk.name'], 'wasmtrace');
    assert.equal(s.resource['telemetry.sdk.language'], 'nodejs');
    assert.equal(s.scope.name, 'wasmtrace');
    assert.deepEqual(attrs(s.attributes), { 'cart.items': '3' });
    assert.equal(collector.requests[0]!.headers['content-type'], 'application/x-protobuf');
    await tracer.shutdown();
  } finally {
    await collector.close();
  }
});

test('OTLP/JSON by option, and OTEL_* variables configure the tracer', async () => {
  const collector = await startCollector();
  try {
    const tracer = await init({
      serviceName: '',
      storage: null,
      env: {
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-team=core,authorization=Bearer%20abc',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,service.namespace=shop',
      },
    });
    tracer.startSpan('json-span').end();
    await tracer.flush();
    const req = collector.requests[0]!;
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-team'], 'core');
    assert.equal(req.headers.authorization, 'Bearer abc');
    const [s] = collector.spans();
    assert.equal(s!.resource['service.name'], 'from-env');
    assert.equal(s!.resource['deployment.environment.name'], 'test');
    assert.equal(s!.resource['service.namespace'], 'shop');
    await tracer.shutdown();
  } finally {
    await collector.close();
  }
});

test('sampler ratio 0: nothing exported without errors, flags 00 propagated; with keepErrors off nothing is recorded', async () => {
  for (const keepErrors of [true, false]) {
    const sent: Uint8Array[] = [];
    const tracer = await init({ serviceName: 's', sampler: { ratio: 0, keepErrors }, storage: null, transport: async (b: Uint8Array) => (sent.push(b), { status: 200 }) });
    const span = tracer.startSpan('unsampled');
    assert.equal(span.isRecording(), keepErrors, 'tail sampling records until the trace is decided');
    const headers: Record<string, string> = {};
    tracer.inject(headers, span);
    assert.match(headers.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    span.end();
    await tracer.flush();
    await tracer.shutdown();
    assert.equal(sent.length, 0);
  }
});

test('sampler ratio 0 with keepErrors: a failed trace is still exported', async () => {
  const collector = await startCollector();
  try {
    const tracer = await init({ serviceName: 's', endpoint: collector.url, sampler: { ratio: 0 }, storage: null });
    await tracer.startActiveSpan('checkout', async (root) => {
      const child = tracer.startSpan('pay');
      child.recordException(new Error('card declined'));
      child.end();
      root.end();
    });
    tracer.startSpan('fine').end();
    await tracer.flush();
    const names = collector.spans().map((s) => s.name).sort();
    assert.deepEqual(names, ['checkout', 'pay']);
    await tracer.shutdown();
  } finally {
    await collector.close();
  }
});

test('when Wasm cannot load, init resolves to a tracer that records nothing and never throws', async () => {
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a);
  try {
    for (const wasm of [new Uint8Array([0, 1, 2, 3]), 'http://127.0.0.1:9/missing.wasm', new ArrayBuffer(0)]) {
      const tracer = await init({ serviceName: 'x', wasm, storage: null });
      const s = tracer.startSpan('nothing');
      s.setAttribute('a', 1).end();
      assert.equal(s.isRecording(), false);
      assert.deepEqual(await tracer.flush(), { sent: 0, queued: 0, dropped: 0 });
    }
    assert.ok(warnings.length >= 1, 'a warning says tracing is off');
    // A precompiled module works too (what Workers pass).
    const module = new WebAssembly.Module(readFileSync(new URL('../../dist/wasmtrace.wasm', import.meta.url)));
    const tracer = await init({ serviceName: 'x', wasm: module, storage: null, transport: async () => ({ status: 200 }) });
    assert.equal(tracer.startSpan('ok').isRecording(), true);
  } finally {
    console.warn = warn;
  }
});

test('debug: an endpoint given in code without /v1/traces gets a hint naming the URL it is likely meant to be', async (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.map(String).join(' ')));
  // Seeded cases: hosts, ports and paths with and without the traces path; the hint only where it is missing, only with debug.
  let seed = 7;
  const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const paths = ['', '/', '/otlp', '/otlp/', '/v1/traces', '/v1/traces/', '/otlp/v1/traces', '/api/v2/otlp', '/v1/logs', '/v1/tracesx'];
  const hint = (url: string): string => {
    const u = new URL(url);
    return `[wasmtrace] endpoint ${u.href} is used as given (no /v1/traces added); did you mean ${u.origin}${u.pathname.replace(/\/*$/, '/v1/traces')}?`;
  };
  for (let i = 0; i < 40; i++) {
    const path = paths[next(paths.length)]!;
    const endpoint = `http://${['127.0.0.1', 'collector.test', 'otel.example.com'][next(3)]}:${5000 + 10 * i + next(10)}${path}`; // a new port each time: each hint is new to warnOnce
    const debug = next(4) > 0;
    warned.length = 0;
    const tracer = await init({ serviceName: 's', endpoint, debug, storage: null, transport: async () => ({ status: 200 }) });
    const fromEnv = await init({ serviceName: 's', debug, storage: null, env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint }, transport: async () => ({ status: 200 }) });
    const mine = warned.filter((w) => w.includes('(no /v1/traces added)'));
    const missing = !/\/v1\/traces\/?$/.test(new URL(endpoint).pathname);
    assert.deepEqual(mine, debug && missing ? [hint(endpoint)] : [], `${endpoint} debug=${debug}`);
    await tracer.shutdown();
    await fromEnv.shutdown();
  }
  warned.length = 0;
  await init({ serviceName: 's', endpoint: 'http://127.0.0.1:4318', debug: true, storage: null });
  assert.deepEqual(warned, [
    '[wasmtrace] endpoint http://127.0.0.1:4318/ is used as given (no /v1/traces added); did you mean http://127.0.0.1:4318/v1/traces?',
  ]);
});
