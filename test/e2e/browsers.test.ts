// Proves test/helpers/browser.ts and the collector's CORS against real browsers: each
// browser loads a page from the static server and POSTs protobuf cross-origin to the
// collector (a real preflight), and a header the Collector does not allow is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { launchChromium, launchFirefox } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';

function body(name: string): number[] {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider();
  p.addSpanProcessor(new SimpleSpanProcessor(exporter));
  p.getTracer('browser-test').startSpan(name).end();
  return [...ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!];
}

// Runs in the page: returns 'status <n>' or the error's name, never throws.
const PAGE_SEND = `async ([url, bytes, extraHeaders]) => {
  try {
    const r = await fetch(url, { method: 'POST', keepalive: true, body: new Uint8Array(bytes),
      headers: { 'content-type': 'application/x-protobuf', ...extraHeaders } });
    await r.arrayBuffer();
    return 'status ' + r.status;
  } catch (e) { return 'error ' + e.name; }
}`;

async function withServers(fn: (page: string, collector: Awaited<ReturnType<typeof startCollector>>) => Promise<void>): Promise<void> {
  const site = await startStaticServer({ routes: { '/index.html': '<!doctype html><title>wasmtrace e2e</title><p>hi</p>' } });
  const collector = await startCollector({ cors: { origins: [site.origin] } });
  try {
    await fn(site.url, collector);
  } finally {
    await collector.close();
    await site.close();
  }
}

test('Chromium (playwright-core) loads a page and exports cross-origin through a preflight', { timeout: 120_000 }, async () => {
  const browser = await launchChromium();
  try {
    await withServers(async (url, c) => {
      const page = await browser.newPage();
      await page.goto(url);
      assert.equal(await page.title(), 'wasmtrace e2e');
      const send = (bytes: number[], headers: Record<string, string>) =>
        page.evaluate(`(${PAGE_SEND})(${JSON.stringify([c.url, bytes, headers])})`);
      assert.equal(await send(body('from-chromium'), {}), 'status 200');
      await c.waitFor(() => c.spans().length === 1);
      assert.equal(c.spans()[0]?.name, 'from-chromium');
      assert.equal(c.requests[0]?.headers.origin, new URL(url).origin);
      assert.ok(c.preflights.some((p) => p.allowed), 'the browser sent a preflight that was allowed');
      assert.equal(await send(body('refused'), { 'content-encoding': 'identity' }), 'error TypeError',
        'Content-Encoding fails the preflight against a Collector with origins only');
      assert.equal(c.requests.length, 1, 'the refused POST never arrived');
    });
  } finally {
    await browser.close();
  }
});

test('Firefox ESR (puppeteer-core, WebDriver BiDi) loads a page and exports cross-origin', { timeout: 120_000 }, async () => {
  const browser = await launchFirefox();
  try {
    await withServers(async (url, c) => {
      const page = await browser.newPage();
      await page.goto(url);
      assert.equal(await page.title(), 'wasmtrace e2e');
      const send = (bytes: number[], headers: Record<string, string>) =>
        page.evaluate(`(${PAGE_SEND})(${JSON.stringify([c.url, bytes, headers])})`);
      assert.equal(await send(body('from-firefox'), {}), 'status 200');
      await c.waitFor(() => c.spans().length === 1);
      assert.equal(c.spans()[0]?.name, 'from-firefox');
      assert.ok(c.preflights.some((p) => p.allowed));
      assert.equal(await send(body('refused'), { authorization: 'Bearer x' }), 'error TypeError');
      assert.equal(c.requests.length, 1);
    });
  } finally {
    await browser.close();
  }
});
