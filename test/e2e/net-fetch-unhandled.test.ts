// A failing fetch the page never catches fires `unhandledrejection`, as it
// does without the SDK, whether it is sent before the SDK is ready (under the
// early recorder) or after (under the fetch instrumentation). The early
// recorder once attached its handler to the page's own promise, which marked
// it handled: no event. Caught ones fire none. Each still gets its CLIENT span.
import assert from 'node:assert/strict';
import { clientSpans, deadOrigin, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

inBoth('a failing fetch the page does not catch fires unhandledrejection, before ready and after (generated)', async (d) => {
  const env = await startNetEnv();
  try {
    const dead = await deadOrigin();
    const r = prng(20261206);
    const cases = Array.from({ length: 12 }, () => ({ when: pick(r, ['before', 'after']), caught: r() < 0.4 }));
    const script = `const cases = ${JSON.stringify(cases)}, dead = ${JSON.stringify(dead)};
      window.unhandled = [];
      addEventListener('unhandledrejection', (e) => { e.preventDefault(); unhandled.push(String(e.reason && e.reason.name)); });
      const send = (k, i) => { const p = fetch(dead + '/x?tag=u' + i + '.'); return k.caught ? p.catch(() => {}) : p; };
      // Nothing here may wait on an uncaught promise (that would handle it): a refused port fails at once, and the test polls.
      cases.forEach((k, i) => k.when === 'before' && send(k, i));
      window.early = new Promise((r) => setTimeout(r, 300));
      window.go = () => cases.forEach((k, i) => k.when === 'after' && send(k, i));`;
    env.site.page('/unhandled.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/unhandled.html`, 'go()');
    const c = env.collector;
    await c.waitFor(() => cases.every((_, i) => clientSpans(c, `tag=u${i}.`).length > 0), 10_000).catch(() => {});
    const uncaught = cases.filter((k) => !k.caught);
    for (const t0 = Date.now(); Date.now() - t0 < 5_000 && (await tab.eval<number>('unhandled.length')) < uncaught.length; ) await new Promise((r) => setTimeout(r, 100));
    assert.ok(uncaught.some((k) => k.when === 'before') && uncaught.some((k) => k.when === 'after'), 'uncaught cases in both phases');
    assert.deepEqual(await tab.eval<string[]>('unhandled'), uncaught.map(() => 'TypeError'), 'one event per uncaught failing fetch');
    assert.deepEqual(cases.map((_, i) => clientSpans(c, `tag=u${i}.`).length), cases.map(() => 1), 'a CLIENT span each');
  } finally {
    await env.close();
  }
});
