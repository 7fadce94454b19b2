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
    await c.waitFor(() => cases.every((_, i) => clientSpans(c, `tag=u${i}.`).length > 0), 15_000).catch(() => {});
    const uncaught = cases.filter((k) => !k.caught);
    for (const t0 = Date.now(); Date.now() - t0 < 15_000 && (await tab.eval<number>('unhandled.length')) < uncaught.length; ) await new Promise((r) => setTimeout(r, 100));
    assert.ok(uncaught.some((k) => k.when === 'before') && uncaught.some((k) => k.when === 'after'), 'uncaught cases in both phases');
    assert.deepEqual(await tab.eval<string[]>('unhandled'), uncaught.map(() => 'TypeError'), 'one event per uncaught failing fetch');
    assert.deepEqual(cases.map((_, i) => clientSpans(c, `tag=u${i}.`).length), cases.map(() => 1), 'a CLIENT span each');
  } finally {
    await env.close();
  }
});

// A page whose fetch is a stub (a test double, a mock library) that resolves
// to something other than a Response: the page's promise gives exactly that,
// before ready and after; the SDK's own failure to read a status stays its own.
inBoth('a page fetch that resolves to a non-Response gives the page exactly that value, before ready and after (the SDK loaded, or its own Wasm fetch stubbed too)', async (d) => {
  const env = await startNetEnv();
  try {
    const values = [undefined, null, 0, 'text', { status: 'x' }, { get status() { throw new Error('no status'); } }];
    for (const all of [false, true]) {
      const head = `<script>const values = [undefined, null, 0, 'text', { status: 'x' }, { get status() { throw new Error('no status'); } }];
        const real = window.fetch, all = ${all};
        window.fetch = (u, i) => all || String(u).startsWith('/x?') ? Promise.resolve(values[Number(String(u).split('?')[1])]) : real(u, i);</script>`;
      const script = `const got = (p) => p.then((v) => ['ok', typeof v === 'object' && v ? Object.keys(v).join() : String(v)], (e) => ['failed', String(e)]);
        const round = () => Promise.all(values.map((_, i) => got(fetch('/x?' + i))));
        window.early = round().then((r) => (window.before = r));
        window.go = () => round().then((r) => (window.after = r));`;
      env.site.page(`/stub-${all}.html`, tagPage(env, head, script));
      const tab = await d.newTab();
      await earlyThenReady(tab, `${env.site.origin}/stub-${all}.html`, 'go()');
      const want = values.map((v) => ['ok', typeof v === 'object' && v ? Object.keys(v).join() : String(v)]);
      assert.deepEqual(await tab.eval('before'), want, `before ready (all stubbed: ${all})`);
      assert.deepEqual(await tab.eval('after'), want, `after ready (all stubbed: ${all})`);
      assert.equal(await tab.eval<boolean>('wasmtrace.startSpan("x").isRecording()'), !all, 'the SDK loaded (its fetch instrumentation wraps the stub) unless its own Wasm fetch was stubbed');
      assert.deepEqual(tab.pageErrors, [], `all stubbed: ${all}`);
    }
  } finally {
    await env.close();
  }
});

// A page fetch (installed below the SDK) that returns a non-promise, or
// throws synchronously: the page's call returns or throws exactly that, as
// without the SDK (a .then on it threw a TypeError into the page), and each
// request's CLIENT span ends (one that threw stayed open, holding its click).
inBoth('a page fetch that returns a non-promise or throws synchronously: the page gets exactly that, and each span ends (before ready and after)', async (d) => {
  const env = await startNetEnv();
  try {
    const head = `<script>
      const made = () => [undefined, null, 'text', { status: 201 }, new Response('r', { status: 202 }), { then: 5 }];
      window.returned = made(); window.thrown = [new TypeError('stub'), { code: 'E' }, 'no'];
      const real = window.fetch;
      window.fetch = function (u, i) {
        const m = /[?&]r=(\\d+)/.exec(String(u)), t = /[?&]t=(\\d+)/.exec(String(u));
        if (m) return returned[Number(m[1])];
        if (t) throw thrown[Number(t[1])];
        return real.apply(this, arguments);
      };</script>`;
    const script = `const call = (q, tag) => { try { return ['returned', fetch('/x?' + q + '&tag=' + tag + '.')]; } catch (e) { return ['threw', e]; } };
      const round = (phase) => [
        ...returned.map((v, i) => { const [how, got] = call('r=' + i, phase + 'r' + i); return how === 'returned' && got === v; }),
        ...thrown.map((v, i) => { const [how, got] = call('t=' + i, phase + 't' + i); return how === 'threw' && got === v; }),
      ];
      window.early = Promise.resolve().then(() => (window.before = round('e')));
      window.go = () => (window.after = round('a'));`;
    env.site.page('/sync.html', tagPage(env, head, script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/sync.html`, 'go()');
    const n = 9;
    assert.deepEqual(await tab.eval('before'), Array(n).fill(true), 'before ready: each value returned or thrown as it was');
    assert.deepEqual(await tab.eval('after'), Array(n).fill(true), 'after ready');
    assert.deepEqual(tab.pageErrors, []);
    const c = env.collector;
    const tags = ['e', 'a'].flatMap((p) => [...Array(6).keys()].map((i) => `${p}r${i}`).concat([0, 1, 2].map((i) => `${p}t${i}`)));
    // Ended spans only are sent: no pagehide here, so one left in flight is missing.
    await c.waitFor(() => tags.every((t) => clientSpans(c, `tag=${t}.`).length > 0), 8000).catch(() => {});
    assert.deepEqual(tags.filter((t) => clientSpans(c, `tag=${t}.`).length !== 1), [], 'one ended CLIENT span each');
    for (const t of tags.filter((x) => x.includes('t'))) {
      const s = clientSpans(c, `tag=${t}.`)[0]!;
      assert.equal(s.status.code, 2, `${t}: a call that threw is an error`);
      assert.ok(s.events.some((e) => e.name === 'exception'), `${t}: with its exception`);
    }
  } finally {
    await env.close();
  }
});
