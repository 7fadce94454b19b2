// Pages that lock what the SDK wraps, or wrap it themselves after the SDK:
// a frozen XMLHttpRequest.prototype or History.prototype (hardened pages,
// SES-style lockdown of the DOM), a read-only window.fetch; a router that
// wraps History.prototype.pushState once the SDK is ready. What the page
// refuses goes untraced and the rest goes on: the page's tracer records
// (it was a tracer that records nothing, every span lost, when one
// instrumentation's assignment threw, and a frozen XHR prototype stopped
// everything at the script tag's first task, leaving the early fetch wrapper
// on), and a wrapper the page adds later is called as it would be without
// the SDK (one on History.prototype was never called: the SDK's own property
// on `history` shadowed it).
import assert from 'node:assert/strict';
import { A, earlyThenReady, inBoth, startNetEnv, tagPage } from './net-env.js';

/** The page's code: an early fetch and XHR, then (go) a fetch, an XHR, a pushState and a span of its own, each tagged. */
const PAGE = `
  const xhr = (u) => new Promise((done) => { const x = new XMLHttpRequest(); x.open('GET', u); x.onloadend = () => done(x.status); x.send(); });
  window.early = Promise.all([fetch('/f?tag=ef').then((r) => r.status), xhr('/x?tag=ex')]).then((r) => (window.earlyResults = r));
  window.go = async () => {
    const got = [await fetch('/f?tag=rf').then((r) => r.status), await xhr('/x?tag=rx')];
    history.pushState({ n: 1 }, '', '?tag=nav');
    const t = await wasmtrace.ready;
    t.startSpan('own').end();
    await new Promise((r) => setTimeout(r, 50));
    window.results = [got, location.search, history.state && history.state.n];
  };`;

const CASES: Array<[name: string, head: string, untraced: string[]]> = [
  ['frozen XMLHttpRequest.prototype', 'Object.freeze(XMLHttpRequest.prototype);', ['ex', 'rx']],
  ['read-only window.fetch', "Object.defineProperty(window, 'fetch', { value: window.fetch, writable: false, configurable: false });", ['ef', 'rf']],
  ['frozen History.prototype', 'Object.freeze(History.prototype);', []],
  ['frozen History.prototype and history', 'Object.freeze(History.prototype); Object.freeze(history);', ['nav']],
];

inBoth('a page that freezes XMLHttpRequest.prototype or History.prototype, or makes fetch read-only: the rest is traced, the page works as without the SDK', async (d) => {
  const env = await startNetEnv();
  try {
    const failures: string[] = [];
    for (const [i, [name, head, untraced]] of CASES.entries()) {
      env.site.page(`/locked${i}.html`, tagPage(env, `<script>${head}</script>`, PAGE));
      const before = env.collector.spans().length;
      const tab = await d.newTab();
      await earlyThenReady(tab, `${env.site.origin}/locked${i}.html`, 'go()');
      const results = await tab.eval<unknown>('[window.results, window.earlyResults]');
      assert.deepEqual(results, [[[200, 200], '?tag=nav', 1], [200, 200]], `${name}: what the page saw`);
      const want = ['ef', 'ex', 'rf', 'rx', 'nav'].filter((t) => !untraced.includes(t));
      await env.collector.waitFor(() => env.collector.spans().slice(before).filter((s) => s.name === 'own').length > 0, 10_000).catch(() => {});
      const spans = env.collector.spans().slice(before);
      const tags = spans.map((s) => /tag=(\w+)/.exec(String(A(s)['url.full']))?.[1]).filter((t) => t !== undefined);
      for (const t of want) if (!tags.includes(t)) failures.push(`${name}: no span for ${t} (spans: ${spans.map((s) => s.name).join(', ')})`);
      if (!spans.some((s) => s.name === 'own')) failures.push(`${name}: the page's own span was not exported`);
      await tab.close();
    }
    assert.deepEqual(failures, []);
  } finally {
    await env.close();
  }
});

inBoth("a wrapper the page puts on History.prototype's pushState/replaceState after the SDK is ready is called, and the navigation still traced; a router's own on history before the SDK too", async (d) => {
  const env = await startNetEnv();
  try {
    const router = `const own = history.pushState; history.pushState = function (...a) { (window.log ||= []).push('router'); return own.apply(this, a); };`;
    env.site.page('/proto.html', tagPage(env, `<script>${router}</script>`, `window.go = async () => {
      await wasmtrace.ready;
      for (const name of ['pushState', 'replaceState']) {
        const original = History.prototype[name];
        History.prototype[name] = function (...a) { (window.log ||= []).push('proto ' + name); return original.apply(this, a); };
      }
      history.pushState(null, '', '?tag=push');
      history.replaceState(null, '', '?tag=replace');
      await new Promise((r) => setTimeout(r, 50));
    };`));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/proto.html`, 'go()');
    // As without the SDK: pushState goes through the router's (on history; it calls the browser's it kept), replaceState through the prototype's.
    assert.deepEqual(await tab.eval('window.log'), ['router', 'proto replaceState']);
    await env.collector.waitFor(() => env.collector.spans().filter((s) => s.name === 'navigation').length >= 2, 10_000).catch(() => {});
    const navs = env.collector.spans().filter((s) => s.name === 'navigation').map((s) => [A(s)['navigation.type'], String(A(s)['url.full']).split('?')[1]]);
    assert.deepEqual(navs.sort(), [['pushState', 'tag=push'], ['replaceState', 'tag=replace']]);
    await tab.close();
  } finally {
    await env.close();
  }
});
