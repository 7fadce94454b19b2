// Chromium: a collector that answers 200 and holds the body open. A page's
// keepalive requests share a 64 KiB budget that an unfinished response keeps
// holding (docs/platform.md); the SDK cancels a body's read a second
// after the status, which gives the budget back: batches of 40 KB (two do not
// fit at once) each go once, a second apart, none refused by the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { launchChromium, sdkSite } from '../helpers/browser.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import { until } from '../helpers/poll.js';

// In the page: `batches` bodies of ~40 KB, flushed at once; resolves to the flush's result and the time it took.
const PAGE = `async ([endpoint, batches]) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'held-e2e', endpoint, compression: 'none', wasm: '/wasmtrace.wasm', debug: true,
    timeoutMs: 5000, maxExportBatchSize: 40, scheduledDelayMs: 3600000, instrumentations: { documentLoad: false, resources: false,
    fetch: false, xhr: false, interactions: false, errors: false, webVitals: false, longTasks: false } });
  for (let i = 0; i < 40 * batches; i++) tracer.startSpan('s' + i, { attributes: { pad: 'p'.repeat(900) } }).end();
  const t0 = performance.now();
  const res = await tracer.flush();
  return { ...res, took: performance.now() - t0 };
}`;

test('Chromium: a 200 whose body is held open: each 40 KB keepalive batch goes once, a second apart, the budget given back', async (t) => {
  const site = await sdkSite('held-body');
  t.after(() => site.close());
  const bodies: Buffer[] = [];
  const closedAfter: number[] = [];
  const cors = { 'access-control-allow-origin': site.origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
  const server = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') return void res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' }).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push(Buffer.concat(chunks));
    const t0 = performance.now();
    req.socket.once('close', () => closedAfter.push(performance.now() - t0));
    // Chunked, a partial success's first byte, never ended.
    res.writeHead(200, { ...cors, 'content-type': 'application/x-protobuf' });
    res.write(Buffer.from([0x0a]));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => (server.closeAllConnections(), new Promise((r) => server.close(r))));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`;
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const warnings: string[] = [];
  page.on('console', (m) => void (m.type() === 'warning' && warnings.push(m.text())));
  await page.goto(site.url);
  const batches = 5;
  const res = (await page.evaluate(`(${PAGE})(${JSON.stringify([url, batches])})`)) as { sent: number; queued: number; dropped: number; took: number };
  const sizes = bodies.map((b) => b.length);
  assert.deepEqual([res.sent, res.queued, res.dropped], [40 * batches, 0, 0], `took ${Math.round(res.took)} ms; bodies ${sizes.join(', ')}; ${warnings.join(' | ')}`);
  assert.ok(sizes.every((n) => n > 32_768 && n <= 65_536), `two bodies do not fit the budget at once: ${sizes.join(', ')}`);
  assert.equal(bodies.length, batches, 'one request a batch');
  const names = bodies.flatMap((b) => allSpans(decodeProtobuf(b)).map((s) => s.name));
  assert.equal(new Set(names).size, 40 * batches, 'every span once');
  // Five one-second timers in a row, each can be late on a loaded machine: 5 s of slack. Bodies
  // held until timeoutMs (5 s) instead of a second would take over 20 s.
  assert.ok(res.took >= batches * 950 && res.took < batches * 1000 + 5000, `one after the other, a second each: ${Math.round(res.took)} ms`);
  assert.deepEqual(warnings.filter((w) => w.includes('failed')), [], 'no request refused or failed');
  await until(() => closedAfter.length >= batches, 'each connection given back', 10_000).catch(() => {});
  assert.equal(closedAfter.length, batches, 'each connection given back');
});
