// Per span in Firefox ESR: the same page and workload as browser-span
// (bench/pages/span.mjs: both SDKs in one page, start + 3 attributes + end,
// flushed and protobuf-encoded every 512 spans), driven by puppeteer-core over
// WebDriver BiDi. The page is cross-origin isolated (COOP + COEP), so that
// performance.now() steps in 20 µs instead of 1 ms and a round can be timed;
// both SDKs read that same clock.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { spanPageFigures } from './lib/span-page.mjs';
import { bundlePage } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';
import { firefoxPath } from './lib/machine.mjs';

const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

export async function run({ smoke = false } = {}) {
  const server = await serve({
    '/': { type: 'text/html', headers: ISOLATED, body: '<!doctype html><meta charset="utf-8"><title>span bench</title><script type="module" src="/bench.js"></script>' },
    '/bench.js': { type: 'text/javascript', headers: ISOLATED, body: await bundlePage(new URL('pages/span.mjs', import.meta.url)) },
    '/wasmtrace.wasm': { type: 'application/wasm', headers: ISOLATED, body: readFileSync(new URL('wasmtrace.wasm', dist)) },
  });
  let browser;
  try {
    browser = await puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath(), headless: true, timeout: 60_000 });
  } catch (e) {
    await server.close();
    throw new Error(`cannot start Firefox at ${firefoxPath()} (set FIREFOX_PATH): ${e.message}`);
  }
  try {
    const page = await browser.newPage();
    const figures = await spanPageFigures(page, `${server.origin}/`, {
      browserName: 'Firefox', note: `Firefox ${await browser.version()}, cross-origin isolated`, smoke,
      waitFor: (fn) => page.waitForFunction(fn, { timeout: 30_000 }),
    });
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated: its clock steps in 1 ms');
    return figures;
  } finally {
    await browser.close();
    await server.close();
  }
}
