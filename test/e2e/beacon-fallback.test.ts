// A page without fetch (removed before any script runs, as a hardened or
// broken page may have it), with the ESM entry given the Wasm as bytes
// (loaded by XHR): every batch leaves with sendBeacon, the scheduled ones
// and the last at pagehide (DESIGN.md: the fallback). Each scheduled batch
// was dropped before: the missing fetch counted as a refusal.
// The collector allows credentials for the page's origin, as sendBeacon's
// credentialed preflight needs (PLATFORM-FACTS.md). Generated span counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { startEnv, attr, type Env } from './sdk-env.js';

const RUNS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The ESM entry, the Wasm read with XHR; `spans(run, n)` as app.js makes them. */
const module = (endpoint: string): string => `
import { init } from '/browser.js';
const bytes = await new Promise((resolve, reject) => {
  const x = new XMLHttpRequest();
  x.open('GET', '/wasmtrace.wasm');
  x.responseType = 'arraybuffer';
  x.onload = () => resolve(new Uint8Array(x.response));
  x.onerror = reject;
  x.send();
});
const tracer = await init({ serviceName: 'e2e-beacon', endpoint: ${JSON.stringify(endpoint)}, scheduledDelayMs: 300, wasm: bytes });
window.spans = (run, n) => {
  for (let i = 0; i < n; i++) tracer.startSpan('work', { attributes: { 'test.run': run, 'test.i': i } }).end();
};
`;

const got = (env: Env, run: string): number => env.collector.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run).length;

test(`Chromium, a page without fetch: every batch goes with sendBeacon, scheduled and at pagehide, each once (${RUNS} navigations)`, async () => {
  const env = await startEnv();
  const r = prng(0xbeac);
  try {
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.addInitScript('delete window.fetch');
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.route('**/esm-beacon.js', (route) => route.fulfill({ contentType: 'text/javascript', body: module(env.collector.url) }));
      const url = env.appUrl({ esm: '/esm-beacon.js' });
      await page.goto(url);
      assert.equal(await page.evaluate('typeof fetch'), 'undefined');
      await page.waitForFunction('typeof window.spans === "function"', undefined, { timeout: 10_000 });
      const run = `beacon-${i}`;
      const n = 1 + Math.floor(r() * 60);
      await page.evaluate(`spans(${JSON.stringify(run)}, ${n})`);
      await env.collector.waitFor(() => got(env, run) >= n, 8000).catch(() => {});
      assert.equal(got(env, run), n, `run ${i}: the scheduled export`);
      const last = `${run}-last`;
      const m = 1 + Math.floor(r() * 60);
      await page.evaluate(`spans(${JSON.stringify(last)}, ${m})`);
      await page.goto(env.site.origin + '/plain.html'); // pagehide, before the scheduled export
      await env.collector.waitFor(() => got(env, last) >= m, 8000).catch(() => {});
      // The next page of the origin (without fetch too) must not send them again.
      await page.goto(url);
      await page.waitForFunction('typeof window.spans === "function"', undefined, { timeout: 10_000 });
      await sleep(800);
      await page.goto(env.site.origin + '/plain.html');
      await sleep(500);
      assert.equal(got(env, run), n, `run ${i}: each span once`);
      assert.equal(got(env, last), m, `run ${i}: the batch at pagehide, each span once`);
      assert.deepEqual(errors, [], 'nothing thrown into the page');
      await context.close();
    }
  } finally {
    await env.close();
  }
});
