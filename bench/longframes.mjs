// Long animation frames on a page load in Chromium: how much of wasmtrace.js
// runs inside frames longer than 50 ms (issue 4: "no long task from the SDK").
// A shop-like page: the script tag in <head>, a stylesheet, a deferred script
// that fetches and renders 200 products. Each load is a fresh context (cold
// cache, empty storage). Long animation frames are the entries that name the
// script (longtask entries do not); Firefox has neither.
import { readFileSync } from 'node:fs';
import { launch } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';
import { single } from './lib/figure.mjs';

const LONG_MS = 50;
const products = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `Kettle ${i}`, price: 10 + (i % 17) }));

export async function run({ smoke = false } = {}) {
  const loads = smoke ? 1 : 12;
  const server = await serve({
    '/index.html': { type: 'text/html', body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shop</title>
<link rel="stylesheet" href="/shop.css">
<script src="/wasmtrace.js" data-service-name="bench" data-endpoint="/v1/traces"></script>
<script src="/shop.js" defer></script></head>
<body><h1>Shop</h1><ul id="products"></ul></body></html>` },
    '/shop.css': { type: 'text/css', body: 'ul{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;list-style:none}li{border:1px solid #ccc;padding:8px}' },
    '/shop.js': { type: 'text/javascript', body: `fetch('/products.json').then((r) => r.json()).then((list) => {
  document.getElementById('products').innerHTML = list.map((p) => '<li><b>' + p.name + '</b> ' + p.price + '.00</li>').join('');
});` },
    '/products.json': { type: 'application/json', body: JSON.stringify(products) },
    '/wasmtrace.js': { type: 'text/javascript', body: readFileSync(new URL('wasmtrace.js', dist)) },
    '/wasmtrace.wasm': { type: 'application/wasm', body: readFileSync(new URL('wasmtrace.wasm', dist)) },
  });
  const browser = await launch();
  let offendingLoads = 0;
  let oursInLong = 0; // ms of wasmtrace.js inside long frames, all loads
  try {
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.addInitScript(() => {
          window.__frames = [];
          new PerformanceObserver((l) => void window.__frames.push(...l.getEntries().map((e) => e.toJSON()))).observe({ type: 'long-animation-frame', buffered: true });
        });
        await page.goto(`${server.origin}/index.html`);
        await page.waitForFunction(() => document.querySelectorAll('#products li').length === 200);
        await page.evaluate(() => window.wasmtrace.ready);
        await page.waitForTimeout(1500); // idle-time start-up work included
        const frames = await page.evaluate(() => window.__frames);
        let offended = false;
        for (const f of frames) {
          const ours = f.scripts.filter((s) => s.sourceURL.endsWith('/wasmtrace.js')).reduce((n, s) => n + s.duration, 0);
          if (f.duration > LONG_MS && ours > 0) {
            offended = true;
            oursInLong += ours;
          }
        }
        if (offended) offendingLoads++;
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const note = `${loads} cold loads; frames over ${LONG_MS} ms naming wasmtrace.js on ${offendingLoads} of ${loads} loads`;
  return [
    single({ name: 'loads with a long animation frame naming wasmtrace.js, Chromium', unit: '% of loads', wasmtrace: Math.max((100 * offendingLoads) / loads, 0.01), note: `${note} (0.01 means none)` }),
    single({ name: 'wasmtrace.js time inside long animation frames, per load, Chromium', unit: 'ms', wasmtrace: Math.max(oursInLong / loads, 0.01), note }),
  ];
}
