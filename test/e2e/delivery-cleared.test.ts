// An app that clears localStorage at logout and navigates away, while its
// batches wait there for their retry (the collector not answering): the page
// took them for stored and released them at pagehide, and the next page
// found nothing. Now the batches are written again when the page is hidden
// and the next page of the origin sends them, each once. Chromium and
// Firefox ESR; generated span counts; a relay to a real collector that goes
// down and up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../demo/collector/synthetic.mjs';
import { appBehindRelay, attr, chromiumDriver, firefoxDriver, startEnv, startRelay, type Driver, type Env, type Tab } from './sdk-env.js';

const RUNS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const got = (env: Env, run: string): number => env.collector.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run).length;

async function until(tab: Tab, code: string, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (await tab.eval(code).catch(() => false)) return true;
  return false;
}

for (const [label, make] of [['Chromium', chromiumDriver], ['Firefox ESR', firefoxDriver]] as const) {
  test(`${label}: batches waiting in localStorage when the app clears it and navigates away reach the next page (${RUNS} runs)`, async () => {
    const driver: Driver = await make();
    const env = await startEnv();
    const relay = await startRelay(env.collector.origin);
    const r = prng(label.length * 1009);
    try {
      for (let i = 0; i < RUNS; i++) {
        const { tab, url } = await appBehindRelay(driver, env, relay);
        await relay.down();
        const run = `cleared-${i}`;
        const n = 1 + Math.floor(r() * 40);
        await tab.eval(`app.spans(${JSON.stringify(run)}, ${n})`); // exported in 100 ms: refused, stored, retried in a minute
        assert.ok(await until(tab, "Object.keys(localStorage).some((k) => k.startsWith('wasmtrace:q:'))", 10_000), `run ${i}: written ahead`);
        await tab.eval('localStorage.clear()'); // logout
        await tab.goto(env.site.origin + '/plain.html');
        await sleep(300);
        await relay.up();
        await tab.goto(url); // the next page of the origin
        await tab.eval('wasmtrace.ready.then(() => true)');
        await env.collector.waitFor(() => got(env, run) >= n, 15_000).catch(() => {});
        await sleep(500); // room for a copy to show up
        assert.equal(got(env, run), n, `run ${i}: each of ${n} spans once`);
        await tab.close();
      }
    } finally {
      await relay.close();
      await env.close();
      await driver.close();
    }
  });
}
