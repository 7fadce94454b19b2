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
