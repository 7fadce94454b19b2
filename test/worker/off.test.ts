// getTracer() with tracing off: OTEL_SDK_DISABLED, `disabled`, a config
// function that throws, a Wasm module that cannot start, and at module scope
// before any invocation. It gives a tracer that records nothing, so a
// handler written as docs/worker.md shows answers as it would untraced.
// Before, getTracer() stayed undefined and such a handler failed every
// request with 500 (and a module-scope call failed the Worker's start).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { fixture, startWorkers } from './harness.js';

const OFF: Record<string, Record<string, string>> = {
  env: { OTEL_SDK_DISABLED: 'true' },
  disabled: { MODE: 'disabled' },
  throws: { MODE: 'throws' },
  wasm: { MODE: 'wasm' },
};

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers(
    Object.entries({ on: {}, ...OFF }).map(([name, bindings]) => ({
      name,
      routes: [`${name}.example/*`],
      scriptPath: fixture('off.mjs'),
      bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: name, ...bindings },
    })),
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

const call = async (name: string) => {
  const res = await mf.dispatchFetch(`http://${name}.example/`);
  return { status: res.status, body: await res.text() };
};

test('tracing off in each way: the handler using getTracer() answers 200, nothing is recorded or sent', async () => {
  for (const name of Object.keys(OFF)) {
    const { status, body } = await call(name);
    assert.equal(status, 200, `${name}: ${body}`);
    assert.deepEqual(JSON.parse(body), { moduleScope: 'ok', recording: false, inner: 'ran', stats: { droppedSpans: 0, droppedData: 0, droppedOversize: 0 } }, name);
  }
  // The same handler traced: its spans arrive, and none of the others' (sent before them, if at all).
  const on = JSON.parse((await call('on')).body) as { moduleScope: string; recording: boolean; inner: string };
  assert.deepEqual([on.moduleScope, on.recording, on.inner], ['ok', true, 'ran']);
  await collector.waitFor(() => collector.spans().length >= 3, 15_000);
  await new Promise((r) => setTimeout(r, 300));
  const spans = collector.spans();
  assert.deepEqual([...new Set(spans.map((s) => s.resource['service.name']))], ['on']);
  const server = spans.find((s) => s.kind === 2)!;
  const work = spans.find((s) => s.name === 'work')!;
  assert.equal(work.parentSpanId, server.spanId);
  assert.deepEqual(spans.map((s) => s.name).sort(), ['GET', 'inner', 'work']);
});
