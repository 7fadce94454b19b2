// Issue 4's page-load target, checked in real Chromium: on a normal page load
// (the script tag in <head>, a stylesheet, a deferred script that fetches and
// renders 200 products), no long animation frame (> 50 ms) has a script
// attributed to wasmtrace.js — not its evaluation, nor the start-up tasks and
// idle work that follow. Long animation frames cover long tasks and are the
// only entries that name the script (longtask entries do not). Firefox ESR has
// neither entry type (PLATFORM-FACTS.md). Tolerant of a noisy machine: up to
// FORGIVEN of LOADS loads may offend. The build before this check offended on
// 3-4 of 6 loads (its evaluation and start-up ran inside the first frame).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, type PlaywrightBrowser } from '../helpers/browser.js';
import { startCollector, startStaticServer, type Collector, type StaticServer } from '../helpers/collector.js';

const LOADS = 8;
const FORGIVEN = 2; // loads with an offending frame that a noisy machine may cause
const LONG_MS = 50;
const root = join(fileURLToPath(import.meta.url), '../../..');
const script = process.env.WASMTRACE_JS ?? join(root, 'dist/wasmtrace.js'); // another build can be checked the same way
const products = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `Kettle ${i}`, price: 10 + (i % 17) }));

let browser: PlaywrightBrowser;
let site: StaticServer;
let collector: Collector;
before(async () => {
  collector = await startCollector({ cors: { origins: '*' } });
  site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shop</title>
<link rel="stylesheet" href="/shop.css">
<script src="/wasmtrace.js" data-service-name="longtask-e2e" data-endpoint="${collector.url}"></script>
<script src="/shop.js" defer></script></head>
<body><header><h1>Shop</h1></header><main><ul id="products"></ul></main></body></html>`,
      '/shop.css': 'body{font:16px sans-serif;margin:0 auto;max-width:60em}ul{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;list-style:none}li{border:1px solid #ccc;padding:8px}',
      '/shop.js': `fetch('/products.json').then((r) => r.json()).then((list) => {
  document.getElementById('products').innerHTML = list.map((p) => '<li><b>' + p.name + '</b> ' + p.price + '.00</li>').join('');
});`,
      '/products.json': { body: JSON.stringify(products), type: 'application/json' },
      '/wasmtrace.js': () => ({ body: readFileSync(script), type: 'text/javascript' }),
      '/wasmtrace.wasm': () => ({ body: readFileSync(join(root, 'dist/wasmtrace.wasm')), type: 'application/wasm' }),
    },
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await collector?.close();
});

interface Frame { duration: number; scripts: Array<{ sourceURL: string; invokerType: string; duration: number }> }

test('Chromium: no long animation frame on a page load is attributed to wasmtrace.js', { timeout: 120_000 }, async () => {
  const offending: string[] = [];
  let traced = 0;
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext(); // cold cache and empty storage, like a first visit
    try {
      const page = await context.newPage();
      await page.addInitScript(() => {
        const w = window as unknown as { __frames: unknown[] };
        w.__frames = [];
        new PerformanceObserver((l) => void w.__frames.push(...l.getEntries().map((e) => e.toJSON()))).observe({ type: 'long-animation-frame', buffered: true });
      });
      await page.goto(site.url);
      await page.waitForFunction(() => document.querySelectorAll('#products li').length === 200);
      traced += (await page.evaluate(() => (window as unknown as { wasmtrace: { ready: Promise<unknown> } }).wasmtrace.ready.then(() => 1))) as number;
      // Start-up work left for idle time (documentLoad, resource spans, adopting stored batches) runs within a second or so.
      await page.waitForTimeout(1500);
      const frames = (await page.evaluate(() => (window as unknown as { __frames: unknown[] }).__frames)) as Frame[];
      if (process.env.DEBUG_FRAMES) console.log(i, JSON.stringify(frames.map((f) => [Math.round(f.duration), f.scripts.map((s) => `${s.sourceURL.split("/").pop()} ${s.invokerType} ${Math.round(s.duration)}`)])));
      for (const f of frames) {
        const ours = f.scripts.filter((s) => s.sourceURL.endsWith('/wasmtrace.js'));
        if (f.duration > LONG_MS && ours.length > 0) {
          offending.push(`load ${i}: ${Math.round(f.duration)} ms frame, ${ours.map((s) => `${s.invokerType} ${Math.round(s.duration)} ms`).join(', ')}`);
        }
      }
    } finally {
      await context.close();
    }
  }
  assert.equal(traced, LOADS, 'the tracer came up on every load');
  const loads = new Set(offending.map((o) => o.split(':')[0])).size;
  assert.ok(loads <= FORGIVEN, `long animation frames attributed to wasmtrace.js on ${loads} of ${LOADS} loads:\n${offending.join('\n')}`);
});
