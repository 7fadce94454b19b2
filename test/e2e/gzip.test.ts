// gzip in real browsers: a page's bodies compressed by the browser's
// CompressionStream reach the collector as Content-Encoding: gzip (through a
// real CORS preflight that allows the header), and decode to every span once
// with the independent OTLP decoder — small bodies and a batch cut in two.
// A collector answering 415 to gzip: the page's DecompressionStream gives the
// batch back uncompressed, and it goes again so; nothing later is compressed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBothBrowsers, launchChromium, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector } from '../helpers/collector.js';
import { allSpans } from '../helpers/otlp.js';

// In the page: a tracer with gzip on, `counts[i]` spans flushed per round; resolves to the flush results.
const PAGE = `async ([endpoint, counts]) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'gzip-e2e', endpoint, compression: 'gzip', wasm: '/wasmtrace.wasm',
    scheduledDelayMs: 3600000, instrumentations: { documentLoad: false, resources: false, fetch: false, xhr: false,
    interactions: false, errors: false, webVitals: false, longTasks: false } });
  const results = [];
  for (const [round, n] of counts.entries()) {
    for (let i = 0; i < n; i++) tracer.startSpan('r' + round + '-' + i, { attributes: { 'http.url': 'https://example.com/items/' + i } }).end();
    results.push(await tracer.flush());
  }
  return results;
}`;

async function gzipRoundTrip(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('gzip');
  const c = await startCollector({ cors: { origins: [site.origin], allowHeaders: ['content-encoding'] } });
  try {
    const page = await newPage();
    await page.goto(site.url);
    // 3 spans: a body of a few hundred bytes; 700: cut into two bodies (60 KiB each at most).
    const counts = [3, 700];
    const results = (await page.evaluate(`(${PAGE})(${JSON.stringify([c.url, counts])})`)) as { sent: number; dropped: number }[];
    assert.deepEqual(results.map((r) => [r.sent, r.dropped]), counts.map((n) => [n, 0]));
    await c.waitFor(() => c.spans().length === 703, 15_000);
    assert.ok(c.requests.length >= 3, `${c.requests.length} requests`);
    for (const r of c.requests) {
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.deepEqual([r.rawBody[0], r.rawBody[1]], [0x1f, 0x8b], 'a gzip member');
      assert.equal(r.error, undefined, 'decompressed and decoded');
      assert.ok(r.rawBody.length < r.body.length, 'smaller than what it carries');
    }
    const names = c.spans().map((s) => s.name);
    assert.equal(new Set(names).size, 703, 'every span once');
    for (const [round, n] of counts.entries()) for (let i = 0; i < n; i++) assert.ok(names.includes(`r${round}-${i}`));
    assert.ok(c.preflights.some((p) => p.allowed), 'Content-Encoding went through a real preflight');
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers('gzip bodies arrive whole', gzipRoundTrip);

test('Chromium: a collector answering 415 to gzip gets the batch again uncompressed, and nothing later compressed', async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const site = await sdkSite('gzip-415');
  t.after(() => site.close());
  const c = await startCollector({
    cors: { origins: [site.origin], allowHeaders: ['content-encoding'] },
    respond: (req) => (req.headers['content-encoding'] === 'gzip' ? { status: 415 } : {}),
  });
  t.after(() => c.close());
  const page = await browser.newPage();
  await page.goto(site.url);
  const counts = [3, 700];
  const results = (await page.evaluate(`(${PAGE})(${JSON.stringify([c.url, counts])})`)) as { sent: number; queued: number; dropped: number }[];
  // The 415 costs no span. (A batch may wait for a retry: Chromium can refuse a keepalive fetch started as the one before it settles.)
  assert.deepEqual(results.map((r) => [r.sent + r.queued, r.dropped]), counts.map((n) => [n, 0]));
  assert.equal(results[0]!.sent, 3, 'the refused batch went again within the flush');
  const names = (): string[] => c.requests.slice(1).flatMap((r) => allSpans(r.decoded!)).map((s) => s.name);
  await c.waitFor(() => names().length >= 703, 15_000); // a queued batch goes after a 0.5-1 s backoff, or two
  const encodings = c.requests.map((r) => r.headers['content-encoding'] ?? '-');
  assert.deepEqual(encodings, ['gzip', ...Array(encodings.length - 1).fill('-')], 'one 415, then none compressed');
  assert.ok(c.requests[1]!.body.equals(c.requests[0]!.body), 'the refused batch, the same bytes uncompressed');
  assert.equal(names().length, 703, 'every span once');
  assert.equal(new Set(names()).size, 703);
});
