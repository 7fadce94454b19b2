// An XHR the page opens before the SDK is ready and sends after it: a
// request set up at load, sent later. Every wrapper of XHR shares one record
// of open(), so the instrumentation traces a send() of an XHR opened under
// the early recorder (each kept its own: no span, no trace headers). With
// XHRs opened and sent before, and after, ready (generated, both browsers):
// one CLIENT span each, and where propagation is allowed (same origin,
// propagateTo) the traceparent the server got names that span.
import assert from 'node:assert/strict';
import { A, clientSpans, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

inBoth('XHRs opened before ready and sent after (and opened and sent before, or after) each get a CLIENT span, and its traceparent where it may go (generated)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(20261207);
    const WHEN = ['split', 'split', 'before', 'after'] as const;
    const WHERE = ['site', 'open', 'strict'] as const; // same origin; the API within propagateTo; the API outside it
    const cases = Array.from({ length: 16 }, () => ({ when: pick(r, WHEN), where: pick(r, WHERE), method: pick(r, ['GET', 'POST']) }));
    const script = `const cases = ${JSON.stringify(cases)}, api = ${JSON.stringify(env.api.origin)};
      const base = { site: '', open: api + '/open', strict: api + '/strict' };
      const sends = [];
      const opened = (k, i) => {
        const x = new XMLHttpRequest();
        x.open(k.method, base[k.where] + '/status/200?tag=x' + i + '.');
        return () => new Promise((done) => { x.onloadend = () => done(x.status); x.send(k.method === 'POST' ? 'b' : null); });
      };
      window.results = [];
      cases.forEach((k, i) => {
        if (k.when === 'before') sends.push(opened(k, i)().then((s) => (results[i] = s)));
        if (k.when === 'split') { const send = opened(k, i); window.late = (window.late || []).concat(() => send().then((s) => (results[i] = s))); }
      });
      window.early = Promise.all(sends);
      window.go = () => Promise.all([...(window.late || []).map((f) => f()), ...cases.map((k, i) => k.when === 'after' && opened(k, i)().then((s) => (results[i] = s)))]);`;
    env.site.page('/xhr-ready.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/xhr-ready.html`, 'go()');
    const results = await tab.eval<unknown[]>('results');
    const c = env.collector;
    await c.waitFor(() => cases.every((_, i) => clientSpans(c, `tag=x${i}.`).length > 0), 10_000).catch(() => {});
    const seen = [...env.site.seen, ...env.api.seen];
    const failures: string[] = [];
    cases.forEach((k, i) => {
      const tag = `tag=x${i}.`;
      const label = `x${i} ${k.method} ${k.where} ${k.when}`;
      if (results[i] !== 200) failures.push(`${label}: the page's request got ${String(results[i])}`);
      const spans = clientSpans(c, tag);
      if (spans.length !== 1) return void failures.push(`${label}: ${spans.length} CLIENT spans`);
      const s = spans[0]!;
      if (A(s)['http.request.method'] !== k.method) failures.push(`${label}: method ${String(A(s)['http.request.method'])}`);
      const q = seen.find((x) => x.path.endsWith(tag) && x.method === k.method);
      if (!q) return void failures.push(`${label}: not seen at the server`);
      const want = k.where === 'strict' ? undefined : `00-${s.traceId}-${s.spanId}-0${s.flags & 1}`;
      if (q.headers.traceparent !== want) failures.push(`${label}: traceparent ${String(q.headers.traceparent)}, the span's ${String(want)}`);
    });
    assert.ok(['split', 'before', 'after'].every((w) => cases.some((k) => k.when === w)), 'every kind of case');
    assert.deepEqual(failures, []);
    assert.deepEqual(tab.pageErrors, []);
  } finally {
    await env.close();
  }
});
