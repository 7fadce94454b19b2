// A reload while a keepalive export is in flight (the collector answers it
// late): Chromium rejects the page's fetch as the document starts to unload,
// before delivery's pagehide listener runs, and goes on sending it. The batch
// must be left to the browser — stored and adopted by the next page, it was
// delivered twice (every time in Chromium before the fix in pipeline.ts
// settle()). Both browsers, a few reloads each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumDriver, firefoxDriver, startEnv, attr, type Driver } from './sdk-env.js';

const RELOADS = 3;

for (const [label, driver] of [['Chromium', chromiumDriver], ['Firefox ESR', firefoxDriver]] as const) {
  let d: Driver;
  before(async () => {
    d = await driver();
  });
  after(async () => {
    await d?.close();
  });
  test(`${label}: an export in flight at a reload is delivered once (${RELOADS} reloads)`, async () => {
    for (let i = 0; i < RELOADS; i++) {
      const env = await startEnv();
      try {
        const c = env.collector;
        const run = `inflight-${i}`;
        // The batch with the app's spans is answered 1.5 s late: still in flight at the reload.
        c.setRespond((req) => (req.decoded?.resourceSpans.some((rs) => rs.scopeSpans.some((ss) => ss.spans.some((s) => s.name === 'work'))) ? { delayMs: 1500 } : {}));
        const url = env.appUrl({ data: { 'scheduled-delay-ms': '100' } });
        const tab = await d.newTab();
        await tab.goto(url);
        await tab.eval('wasmtrace.ready.then(() => true)');
        await tab.eval(`app.spans(${JSON.stringify(run)}, 40)`);
        const mine = () => c.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run);
        await c.waitFor(() => mine().length >= 40, 10_000); // arrived; its answer is 1.5 s away
        await tab.goto(url); // the reload, with the request in flight
        await tab.eval('wasmtrace.ready.then(() => true)');
        // A second delivery would come from the new page's adoption, within its first seconds:
        // absence can only be waited for, so wait past the late answer and the adoption.
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal(mine().length, 40, `reload ${i}: each span once`);
        await tab.close();
      } finally {
        await env.close();
      }
    }
  });
}
