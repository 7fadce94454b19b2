// URL-valued attributes beyond url.full are redacted like it: a long frame's
// script (browser.long_task.script.invoker, code.file.path), LCP's
// web_vital.attribution.url, an error's code.file.path and the URLs in its
// exception.stacktrace. Generated page, script and image URLs, each with a
// signature key's value that must not reach the collector and a pair that
// must stay as it is (Chromium).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attr, eventAttrs, initCode, named, rng, startEnv, word } from './inst-env.js';

const SIGNATURE_KEYS = ['sig', 'Signature', 'X-Goog-Signature', 'AWSAccessKeyId', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'];
const BUSY = (name: string): string => `function ${name}() { const t = performance.now(); while (performance.now() - t < 120); }`;
// Chromium leaves images of under 0.05 bits per pixel out of LCP: a comment makes the file large enough.
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><!-- ${'x'.repeat(2000)} --><rect width="400" height="300" fill="teal"/></svg>`;

test('Chromium: long frames, LCP and errors carry redacted URLs (3 generated page loads)', async (t) => {
  const r = rng(7103);
  const loads = Array.from({ length: 3 }, (_, i) => {
    const query = (): { q: string; secret: string; redacted: string } => {
      const key = SIGNATURE_KEYS[Math.floor(r() * SIGNATURE_KEYS.length)]!;
      const secret = `S3CRET${word(r)}`;
      const kept = `${word(r, 4)}=${word(r, 6)}`;
      return { q: `?${key}=${secret}&${kept}`, secret, redacted: `?${key}=REDACTED&${kept}` };
    };
    return { i, page: query(), busy: query(), hero: query(), thrower: query() };
  });
  const routes: Record<string, { body: string; type: string }> = {};
  for (const l of loads) {
    routes[`/p${l.i}.html`] = { type: 'text/html', body: `<!doctype html><title>p</title><body style="margin:0">
<img src="/hero${l.i}.svg${l.hero.q}" width="400" height="300">
<script>
window.inlineBusy = ${BUSY(`inlineBusy${l.i}`)};
window.inlineThrow = () => setTimeout(function inlineThrower() { throw new RangeError('inline ${l.i}'); }, 0);
</script>` };
    routes[`/busy${l.i}.js`] = { type: 'text/javascript', body: `${BUSY(`busy${l.i}`)}\nbusy${l.i}();\n` };
    routes[`/thrower${l.i}.js`] = { type: 'text/javascript', body: `setTimeout(() => {\n  throw new TypeError('external ${l.i}');\n}, 0);\n` };
    routes[`/hero${l.i}.svg`] = { type: 'image/svg+xml', body: SVG };
  }
  const { site, c, newPage } = await startEnv(t, routes);
  for (const l of loads) {
    const page = await newPage();
    await page.goto(`${site.origin}/p${l.i}.html${l.page.q}`);
    await page.evaluate(initCode(c.url, { instrumentations: { interactions: false } }));
    await page.evaluate(`(async () => {
      for (const src of ['/busy${l.i}.js${l.busy.q}', '/thrower${l.i}.js${l.thrower.q}']) {
        await new Promise((res) => { const s = document.createElement('script'); s.src = src; s.onload = res; document.head.append(s); });
      }
      setTimeout(inlineBusy, 200);
      inlineThrow();
    })()`);
    const mine = (name: string) => named(c, name).filter((s) => String(eventAttrs(s)['exception.message']).endsWith(` ${l.i}`));
    const loaf = (path: string) => named(c, 'longAnimationFrame').find((s) => String(attr(s, 'code.file.path')).includes(path));
    await c.waitFor(() => mine("error").length === 2 && !!loaf(`/busy${l.i}.js`) && !!loaf(`/p${l.i}.html`), 10_000);
    await page.close({ runBeforeUnload: true });
    const lcp = () => named(c, 'web-vital.LCP').find((s) => String(attr(s, 'web_vital.attribution.url')).includes(`/hero${l.i}.svg`));
    await c.waitFor(() => !!lcp(), 10_000);

    const everything = JSON.stringify(c.spans());
    for (const part of [l.page, l.busy, l.hero, l.thrower]) assert.ok(!everything.includes(part.secret), `${part.secret} reached the collector`);
    const pageUrl = `${site.origin}/p${l.i}.html${l.page.redacted}`;
    const busyUrl = `${site.origin}/busy${l.i}.js${l.busy.redacted}`;
    const throwerUrl = `${site.origin}/thrower${l.i}.js${l.thrower.redacted}`;
    assert.equal(attr(loaf(`/busy${l.i}.js`)!, 'code.file.path'), busyUrl);
    assert.equal(attr(loaf(`/busy${l.i}.js`)!, 'browser.long_task.script.invoker'), busyUrl);
    assert.equal(attr(loaf(`/p${l.i}.html`)!, 'code.file.path'), pageUrl);
    assert.equal(attr(lcp()!, 'web_vital.attribution.url'), `${site.origin}/hero${l.i}.svg${l.hero.redacted}`);
    const external = mine('error').find((s) => String(eventAttrs(s)['exception.message']).includes('external'))!;
    const inline = mine('error').find((s) => String(eventAttrs(s)['exception.message']).includes('inline'))!;
    assert.equal(attr(external, 'code.file.path'), throwerUrl);
    assert.equal(attr(inline, 'code.file.path'), pageUrl);
    // The stack keeps each frame's line and column after the redacted URL.
    assert.ok(String(eventAttrs(external)['exception.stacktrace']).includes(`${throwerUrl}:2:`), String(eventAttrs(external)['exception.stacktrace']));
    assert.ok(String(eventAttrs(inline)['exception.stacktrace']).includes(`${pageUrl}:`), String(eventAttrs(inline)['exception.stacktrace']));
  }
});
