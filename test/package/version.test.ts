// Every build the package ships reports package.json's version, as
// telemetry.sdk.version and as the instrumentation scope's version: the Node
// and core bundles (protobuf and the JSON module), the browser bundle and the
// script tag in Chromium, the Worker bundle in workerd, and the WASI library
// (the demo job, over sockets and as JSON lines). scripts/build.mjs writes the
// version into the sources from package.json; this checks what comes out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { launchChromium } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { allSpans, decodeJson, type FlatSpan } from '../helpers/otlp.js';
import { fixture, startWorkers } from '../worker/harness.js';
import { runWasi } from '../../demo/wasi-job/host.mjs';

const dist = new URL('../../dist/', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Spans came, and each reports `version` (its resource's telemetry.sdk.version, and its scope's). */
function assertVersion(spans: FlatSpan[], where: string): void {
  assert.ok(spans.length > 0, `${where}: no span`);
  for (const s of spans) {
    assert.deepEqual([s.resource['telemetry.sdk.version'], s.scope.name, s.scope.version], [version, 'wasmtrace', version], `${where}: ${s.name}`);
  }
}

test('the Node and core bundles, protobuf and JSON', async () => {
  type Init = (o: Record<string, unknown>) => Promise<{ startSpan(n: string): { end(): void }; flush(): Promise<unknown>; shutdown(): Promise<unknown> }>;
  for (const file of ['node.js', 'index.js']) {
    const { init } = (await import(new URL(file, dist).href)) as { init: Init };
    for (const protocol of ['http/protobuf', 'http/json']) {
      const c = await startCollector();
      try {
        // The core bundle is neutral: its Wasm given as bytes (Node's fetch reads no file: URL).
        const wasm = file === 'index.js' ? { wasm: readFileSync(new URL(protocol === 'http/json' ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm', dist)) } : {};
        const tracer = await init({ serviceName: 'version', endpoint: c.url, protocol, storage: null, ...wasm });
        tracer.startSpan(`${file} ${protocol}`).end();
        await tracer.flush();
        await tracer.shutdown();
        assert.equal(c.requests[0]?.headers['content-type'], protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
        assertVersion(c.spans(), `${file} ${protocol}`);
      } finally {
        await c.close();
      }
    }
  }
});

test('Chromium: the browser bundle and the script tag', async (t) => {
  const c = await startCollector({ cors: { origins: '*' } });
  const file = (name: string, type: string) => ({ body: readFileSync(new URL(name, dist)), type });
  const site = await startStaticServer({
    routes: {
      '/module.html': `<!doctype html><script type="module">
        import { init } from '/browser.js';
        const tracer = await init({ serviceName: 'version', endpoint: ${JSON.stringify(c.url)} });
        tracer.startSpan('browser.js').end();
        await tracer.flush();
        window.done = true;
      </script>`,
      '/tag.html': `<!doctype html><script src="/wasmtrace.js" data-service-name="version" data-endpoint="${c.url}"></script>
        <script>wasmtrace.startSpan('wasmtrace.js').end(); wasmtrace.flush().then(() => (window.done = true));</script>`,
      '/browser.js': file('browser.js', 'text/javascript'),
      '/wasmtrace.js': file('wasmtrace.js', 'text/javascript'),
      '/wasmtrace.wasm': file('wasmtrace.wasm', 'application/wasm'),
    },
  });
  const browser = await launchChromium();
  t.after(() => Promise.all([browser.close(), c.close(), site.close()]));
  for (const [path, name] of [['module.html', 'browser.js'], ['tag.html', 'wasmtrace.js']] as const) {
    const page = await browser.newPage();
    await page.goto(site.url + path);
    await page.waitForFunction('window.done === true', undefined, { timeout: 10_000 });
    await c.waitFor(() => c.spans().some((s) => s.name === name), 5000);
    assertVersion(c.spans().filter((s) => s.resource['service.name'] === 'version' && s.name === name), name);
  }
});

test('workerd: the Worker bundle', async (t) => {
  const c = await startCollector();
  const mf = startWorkers([{ name: 'on', scriptPath: fixture('off.mjs'), bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: c.url, OTEL_SERVICE_NAME: 'version' } }]);
  t.after(async () => {
    await mf.dispose();
    await c.close();
  });
  assert.equal((await mf.dispatchFetch('http://on.example/')).status, 200);
  await c.waitFor(() => c.spans().length >= 3, 5000);
  assertVersion(c.spans(), 'worker.js');
});

test('WASI: the library in the demo job, over sockets (protobuf) and as JSON lines', async () => {
  const c = await startCollector();
  try {
    const r = await runWasi({ wasm: new URL('demo-wasi.wasm', dist).pathname, env: { OTEL_EXPORTER_OTLP_ENDPOINT: c.origin, ORDERS: '1' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assertVersion(c.spans(), 'demo-wasi.wasm');
  } finally {
    await c.close();
  }
  const r = await runWasi({ wasm: new URL('demo-wasi-lines.wasm', dist).pathname, env: { ORDERS: '1' }, sockets: false });
  assert.equal(r.exitCode, 0, r.stderr);
  assertVersion(r.stdout.split('\n').filter((l: string) => l.length).flatMap((l: string) => allSpans(decodeJson(l))), 'demo-wasi-lines.wasm');
});
