// redactQuery (init) and data-redact-query (the script tag): the values of
// the query keys named — or of every key — are REDACTED in every URL the
// page sends (the document, its resources, fetch and XHR requests, also one
// sent before ready, SPA navigations, errors), and so are OAuth tokens in the
// fragment, which is otherwise kept. Generated key names and secrets
// (Chromium).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { initCode, named, rng, startEnv, word } from './inst-env.js';

/** Every URL-valued attribute sent. */
const urls = (c: Collector): string[] => c.spans().flatMap((s) => Object.entries(attrs(s.attributes))
  .filter(([k]) => k.startsWith('url.') || k === 'navigation.from' || k === 'code.file.path').map(([, v]) => String(v)));

const PAGE_SCRIPT = `
window.work = (q) => {
  const img = new Image(); img.src = '/pixel.svg?' + q;
  fetch('/api?' + q);
  const x = new XMLHttpRequest(); x.open('GET', '/xhr?' + q); x.send();
  history.pushState({}, '', '/next?' + q);
  setTimeout(() => { throw new Error('thrown'); }, 0);
};`;

for (const mode of ['init', 'init-one', 'tag', 'tag-all'] as const) {
  test(`Chromium: ${mode === 'init' ? 'redactQuery' : mode === 'init-one' ? 'redactQuery as one key' : mode === 'tag' ? 'data-redact-query="<keys>"' : 'data-redact-query (every key)'} redacts the named query values in every URL (generated keys)`, async (t) => {
    const byInit = mode.startsWith('init');
    const r = rng(mode.length * 7919);
    const key = `tok_${word(r, 5)}`;
    const secret = (): string => `SECRET${word(r)}`;
    const [pageSecret, fragSecret, workSecret, earlySecret] = [secret(), secret(), secret(), secret()];
    const kept = `${word(r, 4)}=${word(r, 6)}`;
    let endpoint = '';
    const tag = (): string => `<script src="/wasmtrace.js" data-service-name="inst" data-endpoint="${endpoint}" data-wasm="/wasmtrace.wasm"
      data-compression="none" data-scheduled-delay-ms="100" ${mode === 'tag' ? `data-redact-query="other, ${key}"` : 'data-redact-query'}></script>
      <script>fetch('/early?${key}=${earlySecret}&${kept}');</script>`;
    const { site, c, newPage } = await startEnv(t, {
      '/p.html': () => ({ type: 'text/html', body: `<!doctype html><title>p</title>${byInit ? '' : tag()}<script>${PAGE_SCRIPT}</script>` }),
      '/pixel.svg': { body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>', type: 'image/svg+xml' },
      '/api': '{}', '/xhr': '{}', '/early': '{}',
    });
    endpoint = c.url;
    const page = await newPage();
    await page.goto(`${site.origin}/p.html?${key}=${pageSecret}&${kept}#access_token=${fragSecret}&state=${kept}`);
    if (byInit) await page.evaluate(initCode(c.url, { redactQuery: mode === 'init' ? ['other', key] : key, instrumentations: { webVitals: false, longTasks: false } }));
    else await page.evaluate('wasmtrace.ready');
    await page.evaluate(`work(${JSON.stringify(`${key}=${workSecret}&${kept}`)})`);
    const spanNames = ['documentLoad', 'documentFetch', 'resourceFetch', 'GET', 'navigation', 'error'];
    await c.waitFor(() => spanNames.every((n) => named(c, n).length > 0) && named(c, 'GET').length >= (byInit ? 2 : 3), 10_000);
    await c.waitFor(() => named(c, 'resourceFetch').some((s) => String(attrs(s.attributes)['url.full']).includes('/pixel.svg')), 10_000);

    const everything = JSON.stringify(c.spans());
    for (const s of [pageSecret, fragSecret, workSecret, earlySecret]) assert.ok(!everything.includes(s), `${s} reached the collector`);
    const all = urls(c);
    const want = (path: string): string => `${site.origin}${path}?${key}=REDACTED&${mode === 'tag-all' ? kept.replace(/=.*/, '=REDACTED') : kept}`;
    for (const path of ['/pixel.svg', '/api', '/xhr', '/next', ...(byInit ? [] : ['/early'])]) {
      assert.ok(all.includes(want(path)), `${want(path)} among ${all.join(' ')}`);
    }
    // The document's URL keeps its fragment, with the token redacted.
    const doc = String(attrs(named(c, 'documentLoad')[0]!.attributes)['url.full']);
    assert.equal(doc, `${want('/p.html')}#access_token=REDACTED&state=${mode === 'tag-all' ? 'REDACTED' : kept}`);
    assert.equal(attrs(named(c, 'error')[0]!.attributes)['code.file.path'], want('/p.html')); // a script's URL has no fragment
  });
}
