// The trace viewer (demo/viewer) in real Chromium against the real collector: the
// live list, a 5,000-span trace rendered with virtualized rows, the critical path,
// the service graph, span details, collapsing, filtering, and live arrival over SSE.
// Timings are measured by `npm run bench`, never asserted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../../demo/collector/index.mjs';
import { makeTraceRequest, prng, splitRequest, toProtobuf } from '../../demo/collector/synthetic.mjs';
import { launchChromium } from '../helpers/browser.js';

const PB = { 'content-type': 'application/x-protobuf' };

test('viewer: 5,000-span trace, critical path, service graph, details, live updates', async () => {
  const c = await startCollector({ port: 0 });
  const browser = await launchChromium();
  try {
    const big = makeTraceRequest({ spanCount: 5000, seed: 2 });
    for (const part of splitRequest(big.request, 512)) {
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: new Uint8Array(toProtobuf(part)) });
      assert.equal(r.status, 200);
    }
    const small = makeTraceRequest({ spanCount: 12, seed: 3 });
    await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: new Uint8Array(toProtobuf(small.request)) });
    const api = await (await fetch(`${c.apiUrl}/traces/${big.traceId}`)).json() as any;

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(c.viewerUrl);
    await page.waitForSelector(`#traces tr[data-trace="${big.traceId}"]`);
    assert.equal(await page.locator('#traces tbody tr').count(), 2);
    const row = page.locator(`#traces tr[data-trace="${big.traceId}"]`);
    assert.match(await row.innerText(), /5000/);
    assert.match(await row.innerText(), /shop-web/);

    await row.click();
    await page.waitForFunction((id) => (window as any).wasmtraceViewer.state === 'rendered' &&
      (window as any).wasmtraceViewer.lastRender?.traceId === id, big.traceId);
    assert.match(await page.locator('.trace-head').innerText(), /5000 spans/);
    // Virtualized: a few dozen rows in the DOM, not 5,000; the scroll height holds them all.
    const domRows = await page.locator('.wf-rows .row').count();
    assert.ok(domRows > 10 && domRows < 150, `${domRows} rows in the DOM`);
    assert.equal(await page.locator('.wf-spacer').evaluate((el) => (el as HTMLElement).offsetHeight), 5000 * 22);
    // Scrolled to the end, the last span's row is drawn.
    await page.locator('.wf-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    const lastSpan = api.spans[api.spans.length - 1];
    await page.waitForSelector(`.wf-rows .row[data-i="4999"]`);
    assert.match(await page.locator('.wf-rows .row[data-i="4999"]').innerText(), new RegExp(lastSpan.name.replace(/[/]/g, '\\/')));
    assert.ok(await page.locator('.wf-rows .row').count() < 150);

    // Critical path: the filter shows exactly the API's critical spans, each row marked.
    await page.locator('input[name="wf-mode"][value="critical"]').check();
    await page.waitForFunction((n) => document.querySelector('.wf-count')?.textContent?.startsWith(`${n} of`), api.criticalPath.spanIds.length);
    const critIds = await page.locator('.wf-rows .row').evaluateAll((rows) => rows.map((r) => r.className));
    assert.ok(critIds.length > 0 && critIds.every((cls) => cls.includes('crit')));
    assert.ok(await page.locator('.wf-rows .row .cp').count() >= 1, 'critical segments drawn over the bars');
    await page.locator('input[name="wf-mode"][value="all"]').check();

    // Service graph: one box per service, one arrow per edge with its count.
    const services = api.serviceGraph.nodes.map((n: any) => n.service).sort();
    const boxes = await page.locator('svg.graph g.node').evaluateAll((g) => g.map((x) => x.getAttribute('data-service')));
    assert.deepEqual(boxes.sort(), services);
    assert.equal(await page.locator('svg.graph g.edge').count(), api.serviceGraph.edges.length);
    const e0 = api.serviceGraph.edges[0];
    assert.match(await page.locator(`svg.graph g.edge[data-from="${e0.from}"][data-to="${e0.to}"] text`).textContent() ?? '', new RegExp(`^${e0.count}×`));

    // Span details: select the root, see its attributes and status.
    await page.locator('.wf-scroll').evaluate((el) => { el.scrollTop = 0; });
    await page.locator('.wf-rows .row[data-i="0"]').click();
    const details = await page.locator('.span-details').innerText();
    assert.match(details, /documentLoad/);
    assert.match(details, new RegExp(api.spans[0].spanId));
    assert.match(details, /attr\.s0/);
    assert.match(details, /on critical path/);
    assert.match(page.url(), new RegExp(`span=${api.spans[0].spanId}`));

    // Collapsing the root hides its subtree; expanding brings it back.
    await page.locator('.wf-rows .row[data-i="0"] .tw').click();
    await page.waitForFunction(() => document.querySelector('.wf-count')?.textContent?.startsWith('1 of 5000'));
    await page.locator('.wf-expand').click();
    await page.waitForFunction(() => document.querySelector('.wf-count')?.textContent?.startsWith('5000 of 5000'));
    // Filtering by text.
    await page.locator('.wf-find').fill('db.query');
    const expected = api.spans.filter((s: any) => s.name.toLowerCase().includes('db.query') || s.service.includes('db.query') ||
      Object.values(s.attributes).some((v) => String(v).toLowerCase().includes('db.query'))).length;
    await page.waitForFunction((n) => document.querySelector('.wf-count')?.textContent?.startsWith(`${n} of`), expected);

    // Live: a trace sent now appears in the list without reloading.
    const live = makeTraceRequest({ spanCount: 9, seed: 4, services: ['shop-web', 'shop-edge', 'pricing-wasi'] });
    await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: new Uint8Array(toProtobuf(live.request)) });
    await page.waitForSelector(`#traces tr[data-trace="${live.traceId}"]`, { timeout: 10_000 });
    assert.equal(await page.locator('#traces tbody tr').count(), 3);
    assert.equal(await page.locator('#live').textContent(), 'live');

    // A deep link opens the trace and selects the span.
    const spanId = api.spans[1234].spanId;
    await page.goto(`${c.viewerUrl}#trace=${big.traceId}&span=${spanId}`);
    await page.waitForFunction(() => (window as any).wasmtraceViewer.state === 'rendered');
    assert.match(await page.locator('.span-details').innerText(), new RegExp(spanId));
    assert.equal(await page.locator('.wf-rows .row.sel').getAttribute('data-i'), '1234');

    // Hostile strings are shown as text, never run.
    const evil = makeTraceRequest({ spanCount: 2, seed: 5, services: ['<img src=x onerror="window.__owned=1">'] });
    await fetch(c.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(evil.request) });
    await page.waitForSelector(`#traces tr[data-trace="${evil.traceId}"]`);
    await page.locator(`#traces tr[data-trace="${evil.traceId}"]`).click();
    await page.waitForFunction((id) => (window as any).wasmtraceViewer.lastRender?.traceId === id, evil.traceId);
    assert.equal(await page.evaluate(() => (window as any).__owned), undefined);
    assert.match(await page.locator('.trace-head').innerText(), /<img src=x/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await c.close();
  }
});

test('viewer: the trace list mirrors the store through eviction and DELETE /api/traces (generated batches)', async () => {
  const c = await startCollector({ port: 0, maxTraces: 100 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(c.viewerUrl);
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live');
    const rand = prng(1500);
    const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
    const sent: number[] = [];
    const shownIds = () => page.evaluate(() => [...(window as any).wasmtraceViewer.summaries.keys()].sort());
    while (sent.length < 1500) {
      // A batch of new one-span traces, sometimes with updates to traces sent earlier.
      const fresh = Array.from({ length: 10 + Math.floor(rand() * 110) }, () => sent.push(sent.length + 1) && sent.length);
      const again = rand() < 0.3 ? Array.from({ length: 5 }, () => sent[Math.floor(rand() * sent.length)]!) : [];
      const spans = [...fresh, ...again].map((i, k) => ({
        traceId: hex(i, 32), spanId: hex(k + 1, 16), name: `t${i}`, startTimeUnixNano: String(1.7e18 + i * 1e6), endTimeUnixNano: String(1.7e18 + i * 1e6 + 1e6),
      }));
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }) });
      assert.equal(r.status, 200);
      if (rand() < 0.2) await new Promise((res) => setTimeout(res, 150)); // let some events flush mid-way
    }
    const inStore = c.store.list(1000).map((t) => t.traceId).sort();
    assert.equal(inStore.length, 100);
    // Events arrive every 100 ms: wait until the list has caught up (or time out and compare).
    await page.waitForFunction((ids) => JSON.stringify([...(window as any).wasmtraceViewer.summaries.keys()].sort()) === JSON.stringify(ids),
      inStore, { timeout: 10_000 }).catch(() => {});
    assert.deepEqual(await shownIds(), inStore, 'the list holds exactly the store\'s traces');
    assert.equal(await page.locator('#traces tbody tr').count(), 100);
    assert.equal(await page.locator('#trace-count').textContent(), '100');

    assert.equal((await fetch(`${c.apiUrl}/traces`, { method: 'DELETE' })).status, 200);
    await page.waitForFunction(() => (window as any).wasmtraceViewer.summaries.size === 0, null, { timeout: 10_000 }).catch(() => {});
    assert.deepEqual(await shownIds(), []);
    await page.waitForFunction(() => document.querySelectorAll('#traces tbody tr').length === 0, null, { timeout: 5_000 });
    assert.equal(await page.locator('#trace-count').textContent(), '0');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await c.close();
  }
});

test('viewer: quick clicks in the list draw only the latest selection, whatever order the answers come in (generated)', async () => {
  const c = await startCollector({ port: 0 });
  const browser = await launchChromium();
  try {
    const traces = [3, 40, 7, 120, 15].map((spanCount, i) => makeTraceRequest({ spanCount, seed: 600 + i }));
    for (const t of traces) {
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: PB, body: new Uint8Array(toProtobuf(t.request)) });
      assert.equal(r.status, 200);
    }
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const rand = prng(5150);
    // Each trace request waits a generated delay, so later clicks may be answered first.
    let pending = 0;
    await page.route('**/api/traces/*', async (route) => {
      pending++;
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 400)));
      await route.continue().catch(() => {}); // the page may have aborted it
      pending--;
    });
    await page.goto(c.viewerUrl);
    await page.waitForSelector(`#traces tr[data-trace="${traces[4]!.traceId}"]`);
    for (let round = 0; round < 15; round++) {
      const clicks: string[] = [];
      for (let n = 2 + Math.floor(rand() * 3); n > 0; n--) {
        let id;
        do id = traces[Math.floor(rand() * traces.length)]!.traceId; while (id === clicks.at(-1));
        clicks.push(id);
      }
      if (clicks[0] === new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('trace')) clicks.shift();
      for (const id of clicks) {
        await page.locator(`#traces tr[data-trace="${id}"]`).click();
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
      }
      const last = clicks.at(-1)!;
      await page.waitForFunction(() => (window as any).wasmtraceViewer.state !== 'loading');
      while (pending > 0) await new Promise((r) => setTimeout(r, 20));
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
      const where = `round ${round}: clicks ${clicks.map((x) => x.slice(0, 6)).join(' → ')}`;
      assert.equal(new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('trace'), last, where);
      assert.match(await page.locator('.trace-head').innerText(), new RegExp(last), `${where}: drawn trace`);
      assert.equal(await page.locator('#traces tr.sel').getAttribute('data-trace'), last, `${where}: selected row`);
      assert.equal(await page.evaluate(() => (window as any).wasmtraceViewer.state), 'rendered', where);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await c.close();
  }
});
