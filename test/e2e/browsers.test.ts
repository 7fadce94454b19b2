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

/** A page of either driver: both have goto, title and evaluate. */
interface AnyPage {
  goto(url: string): Promise<unknown>;
  title(): Promise<string>;
  evaluate(code: string): Promise<unknown>;
}

/** Loads the page, exports a span cross-origin, and checks a refused header fails its preflight. */
async function proveBrowser(newPage: () => Promise<AnyPage>, name: string, refusedHeader: Record<string, string>): Promise<void> {
  await withServers(async (url, c) => {
    const page = await newPage();
    await page.goto(url);
    assert.equal(await page.title(), 'wasmtrace e2e');
    const send = (bytes: number[], headers: Record<string, string>) =>
      page.evaluate(`(${PAGE_SEND})(${JSON.stringify([c.url, bytes, headers])})`);
    assert.equal(await send(body(`from-${name}`), {}), 'status 200');
    await c.waitFor(() => c.spans().length === 1);
    assert.equal(c.spans()[0]?.name, `from-${name}`);
    assert.equal(c.requests[0]?.headers.origin, new URL(url).origin);
    assert.ok(c.preflights.some((p) => p.allowed), 'the browser sent a preflight that was allowed');
    assert.equal(await send(body('refused'), refusedHeader), 'error TypeError',
      'a header the Collector does not allow fails the preflight against a Collector with origins only');
    assert.equal(c.requests.length, 1, 'the refused POST never arrived');
  });
}

test('Chromium (playwright-core) loads a page and exports cross-origin through a preflight', { timeout: 120_000 }, async () => {
  const browser = await launchChromium();
  try {
    await proveBrowser(() => browser.newPage(), 'chromium', { 'content-encoding': 'identity' });
  } finally {
    await browser.close();
  }
});

test('Firefox ESR (puppeteer-core, WebDriver BiDi) loads a page and exports cross-origin', { timeout: 120_000 }, async () => {
  const browser = await launchFirefox();
  try {
    await proveBrowser(() => browser.newPage() as Promise<AnyPage>, 'firefox', { authorization: 'Bearer x' });
  } finally {
    await browser.close();
  }
});
