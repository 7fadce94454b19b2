// Request attributes and settings, in real browsers:
// - a method given in another case is canonicalized (GET for 'get'), with
//   http.request.method_original when the method sent differs (fetch and XHR
//   send DELETE, GET, HEAD, OPTIONS, POST, PUT in upper case whatever the
//   case given; 'patch' goes as 'patch'); an unknown one is _OTHER with its
//   original (generated methods, fetch and XHR, before and after ready; the
//   server's request line checked where Node parses it);
// - propagateTo given as one string or RegExp works as a list of one; any
//   other non-array but null (unset) warns `[wasmtrace] bad propagateTo …`.
import assert from 'node:assert/strict';
import { A, clientSpans, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

const KNOWN = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'QUERY'];

/** `m` with each letter's case flipped at random. */
const recase = (r: () => number, m: string): string => [...m].map((ch) => (r() < 0.5 ? ch.toLowerCase() : ch.toUpperCase())).join('');

inBoth('methods: canonical http.request.method, with method_original whenever it differs from the method sent', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(9);
    const cases = Array.from({ length: 24 }, () => ({ kind: pick(r, ['fetch', 'xhr'] as const), method: recase(r, pick(r, [...KNOWN, 'PURGE', 'Foo', 'MKCOL'])) }));
    const script = `const cases = ${JSON.stringify(cases)};
      const one = ({ kind, method }, tag) => {
        const url = '/status/200?tag=' + tag;
        return kind === 'fetch' ? fetch(url, { method }).then(() => 0, () => 0)
          : new Promise((done) => { const x = new XMLHttpRequest(); x.open(method, url); x.onloadend = done; x.send(); });
      };
      window.go = (phase) => Promise.all(cases.map((c, i) => one(c, phase + i + '.')));
      window.early = go('e');`;
    env.site.page('/methods.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/methods.html`, `go('r')`);
    const c = env.collector;
    await c.waitFor(() => c.spans().filter((s) => s.kind === 3).length >= cases.length * 2, 15_000).catch(() => {});
    const failures: string[] = [];
    for (const phase of ['e', 'r']) cases.forEach((k, i) => {
      const label = `${phase}${i} ${k.kind} ${k.method}`;
      const spans = clientSpans(c, `tag=${phase}${i}.`);
      if (spans.length !== 1) return void failures.push(`${label}: ${spans.length} spans`);
      const a = A(spans[0]!);
      const upper = k.method.toUpperCase();
      const canonical = KNOWN.includes(upper) ? upper : '_OTHER';
      const got = `${spans[0]!.name} ${String(a['http.request.method'])} ${String(a['http.request.method_original'] ?? '-')}`;
      const sent = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : k.method;
      const want = `${canonical === '_OTHER' ? 'HTTP' : canonical} ${canonical} ${sent === canonical ? '-' : sent}`;
      if (got !== want) failures.push(`${label}: ${got}, expected ${want}`);
      // The request line, where Node's parser takes the method (not another case) and the probe answers it (OPTIONS is a preflight there).
      const line = env.site.seen.find((s) => s.path.includes(`tag=${phase}${i}.`))?.method;
      if (['DELETE', 'GET', 'HEAD', 'POST', 'PUT'].includes(upper) && line !== sent) failures.push(`${label}: the server got ${line}, expected ${sent}`);
    });
    assert.deepEqual(failures, []);
  } finally {
    await env.close();
  }
});

inBoth('propagateTo: one string or RegExp is a list of one; another non-array warns', async (d) => {
  const env = await startNetEnv();
  try {
    const api = env.api.origin;
    const settings: Array<[code: string, propagates: boolean, warns: boolean]> = [
      [JSON.stringify(api), true, false],
      [JSON.stringify(`${api}/open`), true, false],
      [`new RegExp(${JSON.stringify(`^${api}/`)})`, true, false],
      [`[${JSON.stringify(api)}]`, true, false],
      ['5', false, true],
      ['{ url: 1 }', false, true],
      ['true', false, true],
      ['undefined', false, false],
      // Unset, as in Workers and as the other settings read it (it warned here before).
      ['null', false, false],
    ];
    for (const [i, [code, propagates, warns]] of settings.entries()) {
      env.site.page(`/p${i}.html`, `<!doctype html><title>p</title><script type="module">
        import { init } from '/browser.js';
        await init({ serviceName: 'net-edge', endpoint: ${JSON.stringify(env.collector.url)}, propagateTo: ${code} });
        await fetch(${JSON.stringify(`${api}/open/status/200?setting=${i}`)});
        window.done = true;
      </script>`);
      const tab = await d.newTab();
      await tab.goto(`${env.site.origin}/p${i}.html`);
      await tab.eval('new Promise((r) => { const t = setInterval(() => { if (window.done) { clearInterval(t); r(true); } }, 20); })');
      const q = env.api.seen.find((s) => s.path.endsWith(`setting=${i}`));
      assert.ok(q, `${code}: the request arrived`);
      assert.equal(Boolean(q.headers.traceparent), propagates, `${code}: traceparent ${q.headers.traceparent ?? 'absent'}`);
      const warned = tab.console.filter((l) => l.includes('[wasmtrace] bad propagateTo'));
      assert.equal(warned.length, warns ? 1 : 0, `${code}: console ${JSON.stringify(tab.console)}`);
    }
  } finally {
    await env.close();
  }
});
