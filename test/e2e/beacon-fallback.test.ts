// A page without fetch (removed before any script runs, as a hardened or
// broken page may have it), with the ESM entry given the Wasm as bytes
// (loaded by XHR): every batch leaves with sendBeacon, the scheduled ones
// and the last at pagehide (DESIGN.md: the fallback). Each scheduled batch
// was dropped before: the missing fetch counted as a refusal.
// The collector allows credentials for the page's origin, as sendBeacon's
// credentialed preflight needs (docs/platform.md). With `headers` set,
// which sendBeacon cannot send, the batches stay stored for a page with
// fetch; the retry timer was re-armed at 0 ms for them meanwhile, ~450
// setTimeout calls in 2 s of an idle page. Generated span counts.
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

/** The ESM entry, the Wasm read with XHR; `spans(run, n)` as app.js makes them; `more`: init options added. */
const module = (endpoint: string, more = ''): string => `
import { init } from '/browser.js';
const bytes = await new Promise((resolve, reject) => {
  const x = new XMLHttpRequest();
  x.open('GET', '/wasmtrace.wasm');
  x.responseType = 'arraybuffer';
  x.onload = () => resolve(new Uint8Array(x.response));
  x.onerror = reject;
  x.send();
});
const tracer = await init({ serviceName: 'e2e-beacon', endpoint: ${JSON.stringify(endpoint)}, scheduledDelayMs: 300, wasm: bytes${more} });
window.spans = (run, n) => {
  for (let i = 0; i < n; i++) tracer.startSpan('work', { attributes: { 'test.run': run, 'test.i': i } }).end();
};
`;

/** A page in a fresh context that runs `init` before any of its scripts, and the errors it throws. */
async function newPage(init: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(init);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

const got = (env: Env, run: string): number => env.collector.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run).length;

test(`Chromium, a page without fetch: every batch goes with sendBeacon, scheduled and at pagehide, each once (${RUNS} navigations)`, async () => {
  const env = await startEnv();
  const r = prng(0xbeac);
  try {
    for (let i = 0; i < RUNS; i++) {
      const { context, page, errors } = await newPage('delete window.fetch');
      await page.route('**/esm-beacon.js', (route) => route.fulfill({ contentType: 'text/javascript', body: module(env.collector.url) }));
      const url = env.appUrl({ esm: '/esm-beacon.js' });
      await page.goto(url);
      assert.equal(await page.evaluate('typeof fetch'), 'undefined');
      await page.waitForFunction('typeof window.spans === "function"', undefined, { timeout: 10_000 });
      const run = `beacon-${i}`;
      const n = 1 + Math.floor(r() * 60);
      await page.evaluate(`spans(${JSON.stringify(run)}, ${n})`);
      await env.collector.waitFor(() => got(env, run) >= n, 15_000).catch(() => {});
      assert.equal(got(env, run), n, `run ${i}: the scheduled export`);
      const last = `${run}-last`;
      const m = 1 + Math.floor(r() * 60);
      await page.evaluate(`spans(${JSON.stringify(last)}, ${m})`);
      await page.goto(env.site.origin + '/plain.html'); // pagehide, before the scheduled export
      await env.collector.waitFor(() => got(env, last) >= m, 15_000).catch(() => {});
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

/** Spans in the page's stored batches (the queue entries' span counts). */
const STORED = `Object.keys(localStorage).filter((k) => k.startsWith('wasmtrace:q:'))
  .reduce((n, k) => n + Number(/^W1,[pj],[g-],(\\d+),/.exec(localStorage.getItem(k))?.[1] ?? NaN), 0)`;

test(`Chromium, a page without fetch and with headers: its batches stay stored with no timer running, and the next page with fetch sends them once (${RUNS} runs)`, async () => {
  const env = await startEnv();
  const r = prng(0x4ead);
  try {
    for (let i = 0; i < RUNS; i++) {
      // fetch removed unless the URL asks for it; every setTimeout call counted.
      const { context, page, errors } = await newPage(`if (!location.search.includes('fetch')) delete window.fetch;
        window.timers = 0; const st = window.setTimeout; window.setTimeout = function (...a) { window.timers++; return st.apply(this, a); };`);
      const batch = 1 + Math.floor(r() * 20);
      // A header the collector's CORS answer allows, so the page with fetch can send it; on a
      // bare page, its instrumentations making no spans, the queue holds the test's alone.
      // (The page is served, not routed: Chromium refuses a routed page's fetch to the loopback collector.)
      const more = `, headers: { 'x-requested-with': 'wasmtrace' }, maxExportBatchSize: ${batch},
        instrumentations: { documentLoad: false, resources: false, webVitals: false, longTasks: false }`;
      await page.route('**/esm-headers.js', (route) => route.fulfill({ contentType: 'text/javascript', body: module(env.collector.url, more) }));
      const open = async (url: string): Promise<void> => {
        await page.goto(url);
        await page.evaluate(`import('/esm-headers.js')`);
        await page.waitForFunction('typeof window.spans === "function"', undefined, { timeout: 10_000 });
      };
      await open(`${env.site.origin}/plain.html`);
      assert.equal(await page.evaluate('typeof fetch'), 'undefined');
      const run = `headers-${i}`;
      const n = 1 + Math.floor(r() * 60);
      await page.evaluate(`spans(${JSON.stringify(run)}, ${n})`);
      // The scheduled export (300 ms) has found sendBeacon unable to send them and stored them all.
      await page.waitForFunction(`(${STORED}) === ${n}`, undefined, { timeout: 15_000, polling: 50 }).catch(() => {});
      const t0 = (await page.evaluate('window.timers')) as number;
      await sleep(2000);
      const timers = ((await page.evaluate('window.timers')) as number) - t0;
      assert.ok(timers < 30, `run ${i} (${n} spans, batches of ${batch}): ${timers} setTimeout calls in 2 s of an idle page`);
      assert.equal(await page.evaluate(STORED), n, `run ${i}: every span stored`);
      assert.equal(got(env, run), 0, `run ${i}: nothing sent`);
      // The next page of the origin has fetch: it adopts the batches and sends them, each once.
      await open(`${env.site.origin}/plain.html?fetch`);
      assert.equal(await page.evaluate('typeof fetch'), 'function');
      await env.collector.waitFor(() => got(env, run) >= n, 15_000).catch(() => {});
      await sleep(500);
      assert.equal(got(env, run), n, `run ${i}: each span once, from the page with fetch`);
      // The page removes a stored batch once it has read the collector's answer.
      await page.waitForFunction(`(${STORED}) === 0`, undefined, { timeout: 15_000, polling: 50 }).catch(() => {});
      assert.equal(await page.evaluate(STORED), 0, `run ${i}: nothing left stored`);
      assert.deepEqual(errors, [], 'nothing thrown into the page');
      await context.close();
    }
  } finally {
    await env.close();
  }
});
