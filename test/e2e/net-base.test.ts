// A page whose <base href> is on another origin: fetch and XHR resolve a
// relative URL against the document's base URL, and so must the SDK — for
// what it propagates to (a traceparent sent to an API outside propagateTo
// makes a preflight the API never allowed: the page's request fails) and for
// url.full / server.port, and a link's url.full. Generated relative URLs,
// before and after ready, fetch and XHR, in both browsers.
import assert from 'node:assert/strict';
import { A, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

const RELATIVE = ['orders', 'a/b/c', './x', '../y', 'z?q=1', '../../open/p', '/strict/root', '/open/rooted', 'SITE/same', 'SITE/strict/same'];

inBoth('relative URLs resolve against <base href>: propagation, url.full and server.port follow it', async (d) => {
  const env = await startNetEnv();
  try {
    const base = `${env.api.origin}/strict/v2/`;
    const r = prng(20261206);
    const cases: Array<[kind: 'fetch' | 'xhr', rel: string]> = [];
    for (const rel of RELATIVE) for (const kind of ['fetch', 'xhr'] as const) {
      const seg = pick(r, ['', 'k1/', 'deep/er/', 'v3/']);
      const withSeg = rel.startsWith('SITE') ? rel.replace('SITE', env.site.origin) : rel.startsWith('/') || rel.startsWith('.') ? rel : seg + rel;
      cases.push([kind, withSeg]);
    }
    const script = `const cases = ${JSON.stringify(cases)};
      window.go = (phase) => Promise.all(cases.map(([kind, rel], i) => {
        const u = rel + (rel.includes('?') ? '&' : '?') + 'tag=' + phase + i;
        return kind === 'fetch'
          ? fetch(u).then((res) => res.status, (e) => 'rejected ' + e)
          : new Promise((done) => { const x = new XMLHttpRequest(); x.open('GET', u); x.onloadend = () => done(x.status || 'failed'); x.send(); });
      }));
      window.early = go('e').then((r) => (window.results = r));`;
    const link = `<a id="l" href="next/page?x=1">next</a>`; // a link the page handles itself: its click span's url.full
    env.site.page('/base.html', tagPage(env, `<base href="${base}">${link}`, `${script}
      document.getElementById('l').addEventListener('click', (e) => e.preventDefault());`));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/base.html`, `go('r').then((r) => (window.results = window.results.concat(r)))`);
    await tab.click('#l');
    await tab.eval('wasmtrace.flush().then(() => true)');
    const results = await tab.eval<unknown[]>('window.results');
    await env.collector.waitFor(() => env.collector.spans().filter((s) => s.kind === 3).length >= cases.length * 2, 10_000).catch(() => {});
    const spans = env.collector.spans().filter((s) => s.kind === 3);
    const seen = [...env.api.seen, ...env.site.seen];
    const failures: string[] = [];
    ['e', 'r'].forEach((phase, p) => cases.forEach(([kind, rel], i) => {
      const tag = `tag=${phase}${i}`;
      const want = new URL(rel + (rel.includes('?') ? '&' : '?') + tag, base);
      const label = `${phase} ${kind} ${rel} -> ${want.href}`;
      const result = results[p * cases.length + i];
      if (result !== 200) failures.push(`${label}: the page's request got ${String(result)}`);
      const propagates = want.origin === env.site.origin || want.href.startsWith(`${env.api.origin}/open/`);
      const got = seen.find((q) => q.path.endsWith(tag));
      if (got && Boolean(got.headers.traceparent) !== propagates) failures.push(`${label}: traceparent ${got.headers.traceparent ?? 'absent'}, expected ${propagates ? 'one' : 'none'}`);
      const span = spans.find((s) => String(A(s)['url.full']).endsWith(tag));
      if (!span) failures.push(`${label}: no span`);
      else {
        const a = A(span);
        if (a['url.full'] !== want.href) failures.push(`${label}: url.full ${String(a['url.full'])}`);
        if (Number(a['server.port']) !== Number(want.port)) failures.push(`${label}: server.port ${String(a['server.port'])}`);
        if (a['server.address'] !== want.hostname) failures.push(`${label}: server.address ${String(a['server.address'])}`);
      }
    }));
    const click = env.collector.spans().find((s) => s.name === 'click');
    const linkUrl = click && A(click)['url.full'];
    if (linkUrl !== new URL('next/page?x=1', base).href) failures.push(`link click: url.full ${String(linkUrl)}`);
    assert.deepEqual(failures, []);
    assert.deepEqual(env.api.preflights.filter((p) => p.path.startsWith('/strict')), [], 'no preflight to the strict API');
    assert.deepEqual(tab.pageErrors, []);
  } finally {
    await env.close();
  }
});

inBoth('an XHR whose <base href> changes between open() and send() goes where open() resolved it, and its span names that URL (before and after ready, generated)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(8675309);
    const dirs = ['one/two/', 'moved/', 'a/b/c/', 'other/place/'];
    const cases = Array.from({ length: 8 }, () => [pick(r, dirs), pick(r, dirs), pick(r, ['x', './y/z', '../up', 'q?k=1'])] as const).filter(([a, b]) => a !== b);
    const script = `const cases = ${JSON.stringify(cases)};
      const base = document.querySelector('base');
      window.go = (phase) => Promise.all(cases.map(([at, later, rel], i) => new Promise((done) => {
        const u = rel + (rel.includes('?') ? '&' : '?') + 'tag=' + phase + i;
        base.href = location.origin + '/' + at;
        const x = new XMLHttpRequest();
        x.open('GET', u);
        base.href = location.origin + '/' + later;
        x.onloadend = () => done(x.responseURL);
        x.send();
      })));
      window.early = go('e').then((r) => (window.results = r));`;
    env.site.page('/moving-base.html', tagPage(env, `<base href="${env.site.origin}/">`, script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/moving-base.html`, `go('r').then((r) => (window.results = window.results.concat(r)))`);
    const results = await tab.eval<string[]>('window.results');
    await env.collector.waitFor(() => env.collector.spans().filter((s) => s.kind === 3).length >= cases.length * 2, 10_000).catch(() => {});
    const spans = env.collector.spans().filter((s) => s.kind === 3);
    const failures: string[] = [];
    ['e', 'r'].forEach((phase, p) => cases.forEach(([at, later, rel], i) => {
      const tag = `tag=${phase}${i}`;
      const want = new URL(rel + (rel.includes('?') ? '&' : '?') + tag, `${env.site.origin}/${at}`).href;
      const label = `${phase} ${rel} opened under /${at}, sent under /${later}`;
      if (results[p * cases.length + i] !== want) failures.push(`${label}: the request went to ${results[p * cases.length + i]}, not ${want}`);
      // The span is found by its tag, which the query keeps wherever the URL was resolved.
      const span = spans.find((s) => String(A(s)['url.full']).endsWith(tag));
      if (!span) failures.push(`${label}: no span`);
      else if (A(span)['url.full'] !== want) failures.push(`${label}: url.full ${String(A(span)['url.full'])}, not ${want}`);
    }));
    assert.ok(cases.length >= 4, 'enough cases');
    assert.deepEqual(failures, []);
    assert.deepEqual(tab.pageErrors, []);
  } finally {
    await env.close();
  }
});
