// fetch calls the SDK must leave as the page meant them, before and after
// ready, in both browsers (generated cases):
// - an opaque response (mode 'no-cors', redirect 'manual': status 0) is the
//   page's success: no error, and no status code to report;
// - a traceparent the app set itself goes out as the app wrote it, alone
//   (XHR: setRequestHeader appends, `<app>, <sdk>` is invalid), with the
//   app's other headers untouched;
// - a RequestInit whose members are inherited (Object.create, class getters)
//   keeps its method, body and headers when the SDK adds its own.
// - a Request made in another realm (an iframe's) is recognised as one: its own
//   method, headers and body go out, traceparent only where propagation is allowed.
import assert from 'node:assert/strict';
import type { Tab } from './sdk-env.js';
import { A, clientSpans, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

const pageErrors = (tab: Tab): string[] => tab.pageErrors.filter((e) => !e.startsWith('Cross-Origin Request Blocked'));

inBoth('opaque responses (no-cors, redirect: manual) are not failures and have no status code', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(5);
    const cases = Array.from({ length: 16 }, () => ({ how: pick(r, ['no-cors', 'no-cors', 'manual', 'same-no-cors'] as const), code: pick(r, [200, 201, 404, 500, 503]) }));
    const script = `const api = ${JSON.stringify(env.api.origin)}, cases = ${JSON.stringify(cases)};
      const one = ({ how, code }, tag) => how === 'manual'
        ? fetch('/redirect?tag=' + tag, { redirect: 'manual' }).then((res) => res.type)
        : fetch((how === 'no-cors' ? api : '') + '/status/' + code + '?tag=' + tag, { mode: 'no-cors' }).then((res) => res.type + ' ' + res.status);
      window.go = (phase) => Promise.all(cases.map((c, i) => one(c, phase + i + '.')));
      window.early = go('e').then((r) => (window.results = r));`;
    env.site.page('/opaque.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/opaque.html`, `go('r').then((r) => (window.results = results.concat(r)))`);
    const results = await tab.eval<string[]>('results');
    const c = env.collector;
    await c.waitFor(() => c.spans().filter((s) => s.kind === 3).length >= cases.length * 2, 15_000).catch(() => {});
    const failures: string[] = [];
    ['e', 'r'].forEach((phase, p) => cases.forEach((k, i) => {
      const label = `${phase}${i} ${k.how} ${k.code}`;
      const result = results[p * cases.length + i];
      const wantType = k.how === 'manual' ? 'opaqueredirect' : k.how === 'no-cors' ? 'opaque 0' : `basic ${k.code}`;
      if (result !== wantType) failures.push(`${label}: the page got ${result}`);
      const spans = clientSpans(c, `tag=${phase}${i}.`);
      if (spans.length !== 1) return void failures.push(`${label}: ${spans.length} spans`);
      const a = A(spans[0]!);
      const got = `${String(a['http.response.status_code'] ?? '-')} ${String(a['error.type'] ?? '-')} ${spans[0]!.status.code}`;
      const want = k.how === 'same-no-cors' ? `${k.code} ${k.code >= 400 ? k.code : '-'} ${k.code >= 400 ? 2 : 0}` : '- - 0';
      if (got !== want) failures.push(`${label}: span ${got}, expected ${want}`);
    }));
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

const APP_TP = (n: number): string => `00-${String(n).padStart(32, 'a')}-${String(n).padStart(16, 'b')}-01`;

inBoth('a traceparent the app set itself goes out alone, as the app wrote it (fetch and XHR)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(6);
    const cases = Array.from({ length: 20 }, (_, i) => ({
      api: pick(r, ['fetch-object', 'fetch-headers', 'fetch-array', 'fetch-request', 'xhr'] as const),
      name: pick(r, ['traceparent', 'Traceparent', 'TRACEPARENT', 'TraceParent']),
      state: pick(r, [undefined, 'app=s1']),
      baggage: pick(r, [undefined, 'app=b1']),
      where: pick(r, ['same', 'api'] as const),
      tp: APP_TP(i + 1),
    }));
    const script = `const api = ${JSON.stringify(env.api.origin)}, cases = ${JSON.stringify(cases)};
      const one = (k, tag) => {
        const url = (k.where === 'api' ? api + '/open' : '') + '/status/200?tag=' + tag;
        const h = [[k.name, k.tp]];
        if (k.state) h.push(['tracestate', k.state]);
        if (k.baggage) h.push(['baggage', k.baggage]);
        if (k.api === 'xhr') return new Promise((done) => { const x = new XMLHttpRequest(); x.open('GET', url); for (const [n, v] of h) x.setRequestHeader(n, v); x.onloadend = () => done(x.status); x.send(); });
        const headers = k.api === 'fetch-headers' ? new Headers(h) : k.api === 'fetch-array' ? h : Object.fromEntries(h);
        return (k.api === 'fetch-request' ? fetch(new Request(url, { headers })) : fetch(url, { headers })).then((res) => res.status);
      };
      window.go = (phase) => Promise.all(cases.map((c, i) => one(c, phase + i + '.')));
      window.early = go('e');`;
    env.site.page('/own.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/own.html`, `go('r')`);
    const c = env.collector;
    await c.waitFor(() => c.spans().filter((s) => s.kind === 3).length >= cases.length * 2, 15_000).catch(() => {});
    const seen = [...env.site.seen, ...env.api.seen];
    const failures: string[] = [];
    for (const phase of ['e', 'r']) cases.forEach((k, i) => {
      const tag = `tag=${phase}${i}.`;
      const label = `${phase}${i} ${k.api} ${k.name} ${k.where} state=${k.state ?? '-'} baggage=${k.baggage ?? '-'}`;
      const q = seen.find((s) => s.path.endsWith(tag));
      if (!q) return void failures.push(`${label}: not received`);
      if (q.headers.traceparent !== k.tp) failures.push(`${label}: traceparent ${q.headers.traceparent}`);
      if (q.headers.tracestate !== k.state) failures.push(`${label}: tracestate ${q.headers.tracestate}`);
      if (q.headers.baggage !== k.baggage) failures.push(`${label}: baggage ${q.headers.baggage}`);
      if (clientSpans(c, tag).length !== 1) failures.push(`${label}: ${clientSpans(c, tag).length} spans`);
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

inBoth('fetch inits with inherited members keep method, body and headers (as the page\'s own fetch reads them)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(8);
    const cases = Array.from({ length: 20 }, () => ({
      shape: pick(r, ['proto', 'class', 'own', 'mixed', 'deep'] as const),
      method: pick(r, ['POST', 'PUT', 'PATCH', 'DELETE', 'post']),
      size: 1 + Math.floor(r() * 300),
      where: pick(r, ['same', 'api'] as const),
    }));
    // The page's own fetch, kept before the tag wraps it: what the browser does with each init.
    const head = `<script>window.native = fetch;</script>`;
    const script = `const api = ${JSON.stringify(env.api.origin)}, cases = ${JSON.stringify(cases)};
      class Init { constructor(m, b) { this.m = m; this.b = b; } get method() { return this.m; } get body() { return this.b; } get headers() { return { 'x-app': 'class' }; } }
      const make = ({ shape, method, size }) => {
        const body = 'x'.repeat(size), headers = { 'x-app': shape };
        if (shape === 'proto') return Object.create({ method, body, headers });
        if (shape === 'class') return new Init(method, body);
        if (shape === 'mixed') return Object.assign(Object.create({ method, body }), { headers });
        if (shape === 'deep') return Object.create(Object.create({ method, body, headers }));
        return { method, body, headers };
      };
      const one = (k, tag) => {
        const url = (k.where === 'api' ? api + '/open' : '') + '/status/200?tag=' + tag;
        return Promise.all([native(url + '-native', make(k)).then((res) => res.status), fetch(url + '-sdk', make(k)).then((res) => res.status)]);
      };
      window.go = (phase) => Promise.all(cases.map((c, i) => one(c, phase + i + '.')));
      window.early = go('e');`;
    env.site.page('/init.html', tagPage(env, head, script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/init.html`, `go('r')`);
    const seen = [...env.site.seen, ...env.api.seen];
    const failures: string[] = [];
    for (const phase of ['e', 'r']) cases.forEach((k, i) => {
      const tag = `tag=${phase}${i}.`;
      const label = `${phase}${i} ${k.shape} ${k.method} ${k.size} ${k.where}`;
      const [native, sdk] = ['native', 'sdk'].map((w) => seen.find((s) => s.path.endsWith(`${tag}-${w}`)));
      if (!native || !sdk) return void failures.push(`${label}: native ${Boolean(native)}, sdk ${Boolean(sdk)}`);
      const facts = (q: typeof native) => `${q.method} ${q.bodyLength} ${String(q.headers['x-app'])}`;
      if (facts(sdk) !== facts(native)) failures.push(`${label}: ${facts(sdk)}, the page's own fetch ${facts(native)}`);
      if (!sdk.headers.traceparent) failures.push(`${label}: no traceparent`);
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

inBoth("an iframe's Request (another realm) goes out with its own method, headers and body; traceparent only where propagation is allowed", async (d) => {
  const env = await startNetEnv();
  try {
    // Same origin, an API path propagateTo allows, one it does not.
    const targets = [`${env.site.origin}/status/200`, `${env.api.origin}/open/status/200`, `${env.api.origin}/closed/status/200`];
    const script = `const targets = ${JSON.stringify(targets)};
      const f = document.createElement('iframe');
      document.documentElement.append(f);
      const R = f.contentWindow.Request;
      const one = (url, tag) => fetch(new R(url + '?tag=' + tag, { method: 'POST', body: 'payload', headers: { 'content-type': 'application/json', 'x-auth': 'tok' } })).then((res) => res.status);
      window.go = (phase) => Promise.all(targets.map((u, i) => one(u, phase + i + '.')));
      window.early = go('e').then((r) => (window.results = r));`;
    env.site.page('/realm.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/realm.html`, `go('r').then((r) => (window.results = results.concat(r)))`);
    assert.deepEqual(await tab.eval('results'), [200, 200, 200, 200, 200, 200]);
    const c = env.collector;
    await c.waitFor(() => c.spans().filter((s) => s.kind === 3).length >= 6, 15_000).catch(() => {});
    const failures: string[] = [];
    for (const phase of ['e', 'r']) targets.forEach((url, i) => {
      const tag = `tag=${phase}${i}.`;
      const label = `${phase}${i} ${url}`;
      const q = [...env.site.seen, ...env.api.seen].find((s) => s.path.includes(tag));
      if (!q) return void failures.push(`${label}: not received`);
      const got = `${q.method} ${q.bodyLength} ${String(q.headers['content-type'])} ${String(q.headers['x-auth'])} ${q.headers.traceparent ? 'tp' : 'no-tp'}`;
      const want = `POST 7 application/json tok ${i < 2 ? 'tp' : 'no-tp'}`;
      if (got !== want) failures.push(`${label}: sent ${got}, expected ${want}`);
      const spans = clientSpans(c, tag);
      if (spans.length !== 1) return void failures.push(`${label}: ${spans.length} spans`);
      const span = `${spans[0]!.name} ${String(A(spans[0]!)['url.full'])}`;
      if (span !== `POST ${url}?${tag}`) failures.push(`${label}: span ${span}`);
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

// A fetch the page keeps while loading (fetch.bind(window), a client
// library's taken at import) and XHR methods kept the same way were the early
// recorder's wrappers, inert after ready: their requests went out with no
// CLIENT span, no traceparent, and no resourceFetch span either.
inBoth('fetch and XHR methods the page kept during load are traced after ready as window.fetch is (generated)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(41);
    const cases = Array.from({ length: 12 }, () => pick(r, ['bound', 'kept', 'global', 'xhr-kept'] as const));
    const script = `const bound = fetch.bind(window), kept = window.fetch;
      const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
      const one = (how, url) => how === 'bound' ? bound(url).then((res) => res.status)
        : how === 'kept' ? kept(url).then((res) => res.status)
        : how === 'global' ? fetch(url).then((res) => res.status)
        : new Promise((done) => { const x = new XMLHttpRequest(); open.call(x, 'GET', url); x.onloadend = () => done(x.status); send.call(x); });
      window.go = () => Promise.all(${JSON.stringify(cases)}.map((how, i) => one(how, '/status/200?tag=k' + i + '.'))).then((s) => (window.statuses = s));
      window.early = Promise.resolve();`;
    env.site.page('/kept.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/kept.html`, 'go()');
    assert.deepEqual(await tab.eval('statuses'), cases.map(() => 200));
    const c = env.collector;
    await c.waitFor(() => cases.every((_, i) => clientSpans(c, `tag=k${i}.`).length > 0), 15_000).catch(() => {});
    const failures: string[] = [];
    cases.forEach((how, i) => {
      const tag = `tag=k${i}.`;
      const spans = clientSpans(c, tag);
      const q = env.site.seen.find((s) => s.path.includes(tag));
      const tp = String(q?.headers.traceparent ?? '');
      if (spans.length !== 1) return void failures.push(`${i} ${how}: ${spans.length} CLIENT spans`);
      if (tp !== `00-${spans[0]!.traceId}-${spans[0]!.spanId}-01`) failures.push(`${i} ${how}: traceparent '${tp}'`);
    });
    // Traced: none of them is a resourceFetch span too (the flush at pagehide sends any that were).
    await tab.close();
    await c.waitFor(() => false, 1000).catch(() => {});
    const resources = c.spans().filter((s) => s.name === 'resourceFetch' && String(A(s)['url.full']).includes('tag=k'));
    assert.deepEqual(failures, []);
    assert.deepEqual(resources.map((s) => A(s)['url.full']), []);
  } finally {
    await env.close();
  }
});

// A fetch and XHR methods the page kept before the script tag ran (its own
// bundle first, a client library's taken at import) are not the SDK's
// wrappers: their requests go out untraced, and their Resource Timing entries
// are their only record. Fetch/XHR entries were skipped from the recorder's
// start on, as if every request since had a CLIENT span: these had neither
// span. Each is now a resourceFetch span; a traced request is still not one.
inBoth('requests through fetch and XHR methods kept before the script tag get a resourceFetch span each; traced ones none (generated)', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(53);
    const cases = Array.from({ length: 12 }, () => pick(r, ['kept', 'xhr-kept', 'global', 'xhr'] as const));
    const head = `<script>window.kept = window.fetch; window.open0 = XMLHttpRequest.prototype.open; window.send0 = XMLHttpRequest.prototype.send;</script>`;
    const script = `const xhr = (url, own) => new Promise((done) => { const x = new XMLHttpRequest(); (own ? open0 : x.open).call(x, 'GET', url); x.onloadend = () => done(x.status); (own ? send0 : x.send).call(x); });
      // Bodies read: Chromium reports a fetch's entry once its body is done, and an unread one may wait for its collection.
      const body = (res) => res.text().then(() => res.status);
      const one = (how, url) => how === 'kept' ? kept(url).then(body) : how === 'global' ? fetch(url).then(body) : xhr(url, how === 'xhr-kept');
      const run = (phase) => Promise.all(${JSON.stringify(cases)}.map((how, i) => one(how, '/status/200?tag=b' + phase + i + '.')));
      window.early = run('e');
      window.go = () => run('r');`;
    env.site.page('/kept-before.html', tagPage(env, head, script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/kept-before.html`, 'go()');
    await tab.close(); // the resource entries left are recorded at pagehide
    const c = env.collector;
    const tags = ['e', 'r'].flatMap((phase) => cases.map((how, i) => [`tag=b${phase}${i}.`, how] as const));
    const named = (tag: string, name: string): number => c.spans().filter((s) => s.name === name && String(A(s)['url.full']).includes(tag)).length;
    const untraced = (how: string): boolean => how === 'kept' || how === 'xhr-kept';
    await c.waitFor(() => tags.every(([tag, how]) => named(tag, untraced(how) ? 'resourceFetch' : 'GET') > 0), 15_000).catch(() => {});
    await c.waitFor(() => false, 500).catch(() => {});
    const failures: string[] = [];
    for (const [tag, how] of tags) {
      const got = [clientSpans(c, tag).length, named(tag, 'resourceFetch')];
      const want = untraced(how) ? [0, 1] : [1, 0];
      if (got.join() !== want.join()) failures.push(`${tag} ${how}: ${got[0]} CLIENT and ${got[1]} resourceFetch spans, expected ${want[0]} and ${want[1]}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    await env.close();
  }
});
