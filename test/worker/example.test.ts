// The example worker under `wrangler dev` (real workerd, wrangler's own
// bundling of wasmtrace/worker and its Wasm module): a browser-started trace
// continues through POST /api/checkout into the payments upstream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { root, startUpstream, type Upstream } from './harness.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (!a || typeof a === 'string') throw new Error('no port');
  return a.port;
}

let collector: Collector;
let upstream: Upstream;
let wrangler: ChildProcess;
let base = '';
let log = '';

before(async () => {
  collector = await startCollector();
  upstream = await startUpstream();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  wrangler = spawn(
    process.execPath,
    [
      'node_modules/wrangler/bin/wrangler.js', 'dev', '-c', 'worker/example/wrangler.toml', '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(await freePort()), '--var', `PAYMENTS_URL:${upstream.url}`, '--var', `OTEL_EXPORTER_OTLP_ENDPOINT:${collector.origin}`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' } },
  );
  wrangler.stdout?.on('data', (d: Buffer) => (log += d));
  wrangler.stderr?.on('data', (d: Buffer) => (log += d));
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not start:\n${log.slice(-3000)}`);
});

after(async () => {
  wrangler?.kill('SIGTERM');
  await upstream?.close();
  await collector?.close();
});

test('wrangler dev: POST /api/checkout continues the trace into the upstream', async () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`${base}/api/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    body: JSON.stringify({ items: ['tea', 'cup'] }),
  });
  assert.equal(res.status, 200);
  const out = (await res.json()) as { items: number; payment: string };
  assert.equal(out.items, 2);
  const seen = JSON.parse(out.payment) as { traceparent: string };
  await collector.waitFor(() => collector.spans().filter((s) => s.traceId === trace).length >= 2, 10_000);
  const server = collector.spans().find((s) => s.traceId === trace && s.kind === 2)!;
  const client = collector.spans().find((s) => s.traceId === trace && s.kind === 3)!;
  assert.equal(server.name, 'POST /api/checkout');
  assert.equal(server.parentSpanId, '00f067aa0ba902b7');
  assert.equal(server.resource['service.name'], 'shop-edge');
  assert.equal(attrs(server.attributes)['shop.cart.items'], '2');
  assert.equal(client.parentSpanId, server.spanId);
  assert.equal(seen.traceparent, `00-${trace}-${client.spanId}-01`);
});

test('wrangler dev: the CORS preflight allows each set of headers a traced page sends (trace context, baggage)', async () => {
  const names = ['content-type', 'traceparent', 'tracestate', 'baggage'];
  for (let set = 1; set < 1 << names.length; set++) {
    const asked = names.filter((_, i) => set & (1 << i));
    const res = await fetch(`${base}/api/checkout`, {
      method: 'OPTIONS',
      headers: { origin: 'http://page.example', 'access-control-request-method': 'POST', 'access-control-request-headers': asked.join(', ') },
    });
    await res.arrayBuffer();
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    assert.deepEqual(asked.filter((h) => !allowed.includes(h)), [], `asked for ${asked.join(', ')}`);
  }
});

test('wrangler dev: POST /api/checkout with a body that is not a cart (JSON null, a number, an array, not JSON): 200 with 0 items, never 500', async () => {
  for (const body of ['null', '5', '"x"', '[]', '{"items":null}', '{"items":{"length":3}}', 'not json', '']) {
    const res = await fetch(`${base}/api/checkout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    assert.equal(res.status, 200, `${JSON.stringify(body)}: ${text.slice(0, 200)}`);
    assert.equal((JSON.parse(text) as { items: number }).items, 0, JSON.stringify(body));
  }
});
