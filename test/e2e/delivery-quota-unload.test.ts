// An app whose own data fills localStorage to its quota, a collector that
// failed its last answer, and the user navigating away: the page's batches
// storage would not take were in its memory alone, and the final hide sent
// none of them (after a failed answer it leaves the stored ones for the next
// page), so they were lost, counted nowhere. Now those are sent at pagehide,
// with keepalive, each once. Chromium and Firefox ESR; generated span
// counts; a relay to a real collector that goes down and up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../demo/collector/synthetic.mjs';
import { appBehindRelay, attr, chromiumDriver, firefoxDriver, startEnv, startRelay, type Driver, type Env } from './sdk-env.js';

const RUNS = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const got = (env: Env, run: string): number => env.collector.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run).length;

/** Fills the origin's localStorage with the app's own keys, to the last code unit it takes. */
const FILL = `(() => {
  for (let size = 1 << 20, i = 0; size >= 1; ) {
    try { localStorage.setItem('app:' + i++, 'x'.repeat(size)); } catch { size >>= 1; }
  }
  return true;
})()`;

for (const [label, make] of [['Chromium', chromiumDriver], ['Firefox ESR', firefoxDriver]] as const) {
  test(`${label}: with localStorage full of the app's data, batches waiting after a failed answer are sent at pagehide (${RUNS} runs)`, async () => {
    const driver: Driver = await make();
    const env = await startEnv();
    const relay = await startRelay(env.collector.origin);
    const r = prng(label.length * 7919);
    try {
      for (let i = 0; i < RUNS; i++) {
        const { tab } = await appBehindRelay(driver, env, relay);
        await tab.eval(FILL);
        await relay.down();
        const run = `quota-${i}`;
        const n = 1 + Math.floor(r() * 40);
        await tab.eval(`app.spans(${JSON.stringify(run)}, ${n})`); // exported in 100 ms: refused, not stored (quota), retried in a minute
        await sleep(1500);
        assert.equal(await tab.eval("Object.keys(localStorage).filter((k) => k.startsWith('wasmtrace:q:')).length"), 0, `run ${i}: storage took none`);
        await relay.up();
        await tab.goto(env.site.origin + '/plain.html'); // pagehide
        await env.collector.waitFor(() => got(env, run) >= n, 10_000).catch(() => {});
        await sleep(500); // room for a copy to show up
        assert.equal(got(env, run), n, `run ${i}: each of ${n} spans once`);
        await tab.eval('localStorage.clear(), true');
        await tab.close();
      }
    } finally {
      await relay.close();
      await env.close();
      await driver.close();
    }
  });
}
