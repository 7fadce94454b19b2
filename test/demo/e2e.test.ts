// The whole demo end to end, started the way `npm start` starts it: Chromium
// loads the shop (script-tag build), fills a cart and checks out; the edge
// worker (in workerd) calls the pricing service, which runs the WASI job with
// the worker's traceparent. The viewer's API must then hold one trace made of
// the page's, the worker's and the job's spans, parented page → worker → job,
// with its critical path. Screenshots of the shop and the viewer are saved
// under test-results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { ApiSpan, ApiTrace, TraceSummary } from '../../demo/collector/index.mjs';
import { startDemo } from '../../demo/start.mjs';
import { launchChromium } from '../helpers/browser.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const results = fileURLToPath(new URL('../../test-results/', import.meta.url));
const CART = ['mug', 'kettle', 'tea'];
/** Clocks of Chromium, workerd and the WASI host are the same system clock, read at ms precision or better. */
const CLOCK_SLACK_MS = 25;

let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;

before(async () => {
  demo = await startDemo({ ports: { collector: 0, shop: 0, api: 0, pricing: 0 }, quiet: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  assert.equal(r.status, 200, `GET ${url}`);
  return (await r.json()) as T;
}

/** Polls the viewer's API until `ready` holds for the trace, at most `ms`. */
async function waitForTrace(traceId: string, ready: (t: ApiTrace) => boolean, ms: number): Promise<ApiTrace> {
  const deadline = Date.now() + ms;
  let last: ApiTrace | undefined;
  while (Date.now() < deadline) {
    const r = await fetch(`${demo.viewerApiUrl}/traces/${traceId}`);
    if (r.status === 200) {
      last = (await r.json()) as ApiTrace;
      if (ready(last)) return last;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  const have = last ? last.spans.map((s) => `${s.service}/${s.name}`).join(', ') : 'no trace';
  throw new Error(`trace ${traceId} incomplete after ${ms} ms; have: ${have}`);
}

const ns = (s: string): number => Number(BigInt(s) / 1000n) / 1000; // decimal ns → ms (µs kept)

/** The child's time window lies inside the parent's, within the clocks' slack. */
function assertInside(child: ApiSpan, parent: ApiSpan, what: string): void {
  const [cs, ce, ps, pe] = [child.startTimeUnixNano, child.endTimeUnixNano, parent.startTimeUnixNano, parent.endTimeUnixNano].map(ns) as [number, number, number, number];
  assert.ok(cs >= ps - CLOCK_SLACK_MS && ce <= pe + CLOCK_SLACK_MS, `${what}: [${cs}, ${ce}] not inside [${ps}, ${pe}]`);
}

test('demo: a checkout in Chromium is one trace across the page, the worker and the WASI job', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(demo.shopUrl);
  // The checkout is traced only once Wasm is in: wait like a user who reads the page first.
  await page.evaluate(() => (window as unknown as { wasmtrace: { ready: Promise<unknown> } }).wasmtrace.ready);
  for (const id of CART) await page.click(`#add-${id}`);
  assert.equal(await page.locator('#cart li').count(), CART.length);
  await page.click('#checkout');
  await page.waitForSelector('body[data-checkout="done"]', { timeout: 60_000 });
  const message = await page.locator('#result p').innerText();
  assert.match(message, /^Paid 43\.49 for 3 item\(s\)\. Priced by the WASI job under (node:wasi|wasmedge)/);
  const traceId = await page.evaluate(() => document.body.dataset.traceId ?? '');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(traceId, '0'.repeat(32));
  assert.equal(await page.locator('#trace-link').getAttribute('href'), `${demo.viewerUrl}#trace=${traceId}`);
  mkdirSync(results, { recursive: true });
  await page.screenshot({ path: `${results}demo-e2e-shop.png` });

  const complete = (t: ApiTrace): boolean =>
    ['shop-web', 'shop-edge', 'pricing-job'].every((svc) => t.spans.some((s) => s.service === svc)) &&
    t.spans.filter((s) => s.name === 'price-order').length === CART.length &&
    t.spans.some((s) => s.service === 'shop-web' && s.name === 'checkout');
  const trace = await waitForTrace(traceId, complete, 30_000);

  // One trace holds the checkout, and it is the only one with the backend in
  // it: the worker runs CORS preflights untraced (instrument()'s default).
  const { traces } = await getJson<{ traces: TraceSummary[] }>(`${demo.viewerApiUrl}/traces?limit=100`);
  const checkouts = traces.filter((t) => t.services.includes('shop-edge') || t.services.includes('pricing-job'));
  assert.deepEqual(checkouts.map((t) => t.traceId), [traceId]);
  assert.deepEqual([...checkouts[0]!.services].sort(), ['pricing-job', 'shop-edge', 'shop-web']);

  // A single root, every parent present.
  const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
  const missing = trace.spans.filter((s) => s.parentMissing).map((s) => `${s.service}/${s.name}`);
  assert.deepEqual(missing, []);
  assert.equal(trace.roots.length, 1);
  const rootSpan = byId.get(trace.rootSpanId)!;
  assert.equal(rootSpan.service, 'shop-web');
  assert.equal(rootSpan.name, 'checkout'); // the click's interaction span, named by the shop
  assert.equal(rootSpan.parentSpanId, '');
  assert.equal(rootSpan.attributes['event_type'], 'click');
  assert.equal(rootSpan.attributes['target_id'], 'checkout');
  assert.ok(trace.spans.every((s) => s.traceId === traceId));

  // page: checkout → POST (CLIENT) to the worker
  const one = (pred: (s: ApiSpan) => boolean, what: string): ApiSpan => {
    const found = trace.spans.filter(pred);
    assert.equal(found.length, 1, `exactly one ${what}; have ${trace.spans.map((s) => `${s.service}/${s.name}/${s.kind}`).join(', ')}`);
    return found[0]!;
  };
  const pageFetch = one((s) => s.service === 'shop-web' && s.kind === 3, 'page CLIENT span');
  assert.equal(pageFetch.parentSpanId, rootSpan.spanId);
  assert.equal(pageFetch.attributes['http.request.method'], 'POST');
  assert.equal(pageFetch.attributes['url.full'], `${demo.apiUrl}/api/checkout`);
  assert.equal(String(pageFetch.attributes['http.response.status_code']), '200');

  // worker: SERVER span continuing the page's, and its CLIENT call to pricing
  const edgeServer = one((s) => s.service === 'shop-edge' && s.kind === 2, 'worker SERVER span');
  assert.equal(edgeServer.parentSpanId, pageFetch.spanId);
  assert.equal(edgeServer.attributes['http.route'], '/api/checkout');
  assert.equal(String(edgeServer.attributes['shop.cart.items']), String(CART.length));
  const edgeClient = one((s) => s.service === 'shop-edge' && s.kind === 3, 'worker CLIENT span');
  assert.equal(edgeClient.parentSpanId, edgeServer.spanId);
  assert.equal(edgeClient.attributes['url.full'], `${demo.pricingUrl}/charge`);

  // WASI job: its root continues the worker's CLIENT span (TRACEPARENT)
  const job = one((s) => s.service === 'pricing-job' && s.name === 'pricing-job', 'job span');
  assert.equal(job.parentSpanId, edgeClient.spanId);
  assert.equal(job.kind, 5); // CONSUMER
  assert.equal(String(job.attributes['job.orders']), String(CART.length));
  for (const s of trace.spans.filter((x) => x.service === 'pricing-job' && x !== job)) {
    let p = byId.get(s.parentSpanId);
    while (p && p !== job) p = byId.get(p.parentSpanId);
    assert.ok(p === job, `${s.name} is under the job span`);
  }

  // Cross-service children run inside their parents' windows.
  assertInside(edgeServer, pageFetch, 'worker SERVER in page fetch');
  assertInside(job, edgeClient, 'WASI job in worker fetch');
  assertInside(pageFetch, rootSpan, 'page fetch in checkout');

  // Critical path: from the root, through the worker, into the job.
  const cp = trace.criticalPath;
  assert.ok(cp.spanIds.length > 0);
  assert.equal(cp.segments[0]!.spanId, rootSpan.spanId);
  const chain = [rootSpan, pageFetch, edgeServer, edgeClient, job];
  const diag = `spans: ${chain.map((x) => `${x.service}/${x.name} ${x.startOffsetMs}+${x.durationMs}`).join(', ')}; ` +
    `segments: ${JSON.stringify(cp.segments.map((g) => [byId.get(g.spanId)?.name, g.startOffsetMs, g.endOffsetMs]))}`;
  chain.forEach((s, i) => {
    // A span whose child covers exactly its window has no time of its own on the
    // path (workerd's clock is whole ms, so the worker's SERVER and CLIENT spans
    // can share start and end); the child stands for it.
    const next = chain[i + 1];
    const covered = next !== undefined && next.startOffsetMs === s.startOffsetMs && next.durationMs === s.durationMs;
    assert.ok(cp.spanIds.includes(s.spanId) || covered, `${s.service}/${s.name} on the critical path; ${diag}`);
  });
  assert.deepEqual(new Set(cp.spanIds.map((id) => byId.get(id)!.service)), new Set(['shop-web', 'shop-edge', 'pricing-job']), diag);
  for (let i = 1; i < cp.segments.length; i++) {
    assert.equal(cp.segments[i]!.startOffsetMs, cp.segments[i - 1]!.endOffsetMs, `segments are contiguous; ${diag}`);
  }
  const total = cp.segments.reduce((sum, g) => sum + (g.endOffsetMs - g.startOffsetMs), 0);
  assert.ok(Math.abs(total - cp.durationMs) < 0.01, `segments add up to ${total}, root lasts ${cp.durationMs}`);
  assert.equal(cp.durationMs, rootSpan.durationMs);

  // Service graph: page → worker → job.
  const edges = trace.serviceGraph.edges.map((e) => `${e.from}->${e.to}`).sort();
  assert.deepEqual(edges, ['shop-edge->pricing-job', 'shop-web->shop-edge']);

  // The viewer shows it: its critical-path filter matches the API; then a screenshot of the whole trace.
  const viewer = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  viewer.on('pageerror', (e) => pageErrors.push(`viewer: ${e.message}`));
  await viewer.goto(`${demo.viewerUrl}#trace=${traceId}`);
  await viewer.waitForFunction((id) => {
    const v = (window as unknown as { wasmtraceViewer?: { state: string; lastRender?: { traceId: string } } }).wasmtraceViewer;
    return v?.state === 'rendered' && v.lastRender?.traceId === id;
  }, traceId);
  assert.match(await viewer.locator('.trace-head').innerText(), new RegExp(`${trace.spans.length} spans`));
  await viewer.locator('input[name="wf-mode"][value="critical"]').check();
  await viewer.waitForFunction((n) => document.querySelector('.wf-count')?.textContent?.startsWith(`${n} of`), cp.spanIds.length);
  await viewer.locator('input[name="wf-mode"][value="all"]').check();
  const shot = `${results}demo-e2e-viewer.png`;
  await viewer.screenshot({ path: shot, fullPage: true });
  const png = readFileSync(shot);
  assert.ok(png.length > 1000 && png.subarray(1, 4).toString() === 'PNG', 'a PNG screenshot of the viewer');

  assert.deepEqual(pageErrors, []);
});

test('demo: `node demo/start.mjs` prints its URLs and the ready line, serves the shop, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['demo/start.mjs', '--collector-port', '0', '--shop-port', '0', '--api-port', '0', '--pricing-port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line in 90 s; stdout: ${out}; stderr: ${err}`)), 90_000);
      const check = (): void => {
        const m = out.match(/^wasmtrace demo ready: shop (http:\/\/127\.0\.0\.1:\d+\/) {2}viewer (http:\/\/127\.0\.0\.1:\d+\/)/m);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code} before ready; stdout: ${out}; stderr: ${err}`));
      });
    });
    for (const label of ['collector', 'viewer', 'pricing', 'api', 'shop']) assert.match(out, new RegExp(`^${label} +http://127\\.0\\.0\\.1:\\d+`, 'm'));
    const shop = await fetch(ready[1]!);
    assert.equal(shop.status, 200);
    assert.match(await shop.text(), /<script src="\/wasmtrace\.js"/);
    const viewer = await fetch(ready[2]!);
    assert.equal(viewer.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(out, /SIGTERM: stopping the demo/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
