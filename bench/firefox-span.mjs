// Per span in Firefox ESR: the same page and workload as browser-span
// (bench/pages/span.mjs: both SDKs in one page, start + 3 attributes + end,
// flushed and protobuf-encoded every 512 spans), driven by puppeteer-core over
// WebDriver BiDi. The page is cross-origin isolated (COOP + COEP), so that
// performance.now() steps in 20 µs instead of 1 ms and a round can be timed;
// both SDKs read that same clock.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { figure } from './lib/figure.mjs';
import { interleave } from './lib/interleave.mjs';
import { OTEL_NAME } from './lib/otel.mjs';
import { bundlePage } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';

const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const firefoxPath = () => process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export async function run({ smoke = false } = {}) {
  const batches = smoke ? 1 : 40;
  const rounds = smoke ? 2 : 15;
  const warmup = smoke ? 0 : 2;
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
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.bench !== undefined, { timeout: 30_000 });
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');
    await page.evaluate(() => window.bench.setup());
    const cases = {
      wasmtrace: () => page.evaluate((n) => window.bench.round('wasmtrace', n), batches),
      otel: () => page.evaluate((n) => window.bench.round('otel', n), batches),
    };
    const real = await interleave(cases, { rounds, warmup });
    await page.evaluate(() => window.bench.fakeClock(true));
    const fake = await interleave(cases, { rounds, warmup });
    await page.evaluate(() => window.bench.fakeClock(false));
    const clock = [];
    for (let r = 0; r < Math.min(rounds, 5); r++) clock.push(await page.evaluate((n) => window.bench.clock(n), smoke ? 50_000 : 200_000));
    if (errors.length) throw errors[0];
    const note = `${batches * 512} spans/round, flush every 512, Firefox ${await browser.version()}, cross-origin isolated`;
    return [
      figure({ name: 'per span, Firefox, real clock', unit: 'ns/span', ours: real.wasmtrace, theirs: real.otel, rivalName: OTEL_NAME, note }),
      figure({ name: 'per span, Firefox, clock = counter', unit: 'ns/span', ours: fake.wasmtrace, theirs: fake.otel, rivalName: OTEL_NAME, note }),
      figure({ name: 'two performance.now() reads, Firefox (clock floor of both)', unit: 'ns/span', ours: clock }),
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}
