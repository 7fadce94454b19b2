// The shape of a page's traces (Chromium): no span is a child of documentLoad
// outside its window — resources loaded later are roots, or children of the
// interaction or navigation open at their start; web vitals reported after
// it (INP, CLS, a late LCP) are roots linked to it — and a back/forward-cache
// restore is a page view of its own, its vitals placed at the restore.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import type { FlatSpan } from '../helpers/otlp.js';
import { startCollector, type Collector, type Route, type StaticServer } from '../helpers/collector.js';
import { BFCACHE, launchFirefox, reportedVitals, sdkSite } from '../helpers/browser.js';
import { attr, initCode, ms, named, rng, startEnv } from './inst-env.js';

const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const svg = (w: number, h: number): { body: string; type: string } => ({ body: `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="#c33"/></svg>`, type: 'image/svg+xml' });
const start = (s: FlatSpan): number => ms(s.startTimeUnixNano);
const end = (s: FlatSpan): number => ms(s.endTimeUnixNano);
/** Whether `s` starts (and, with `whole`, ends) in `p`'s window; times are whole microseconds on the wire. */
const inside = (s: FlatSpan, p: FlatSpan, whole = false): boolean => start(s) >= start(p) - 0.001 && start(s) <= end(p) + 0.001 && (!whole || end(s) <= end(p) + 0.001);
const linksTo = (s: FlatSpan, p: FlatSpan): boolean => s.links.some((l) => l.traceId === p.traceId && l.spanId === p.spanId);
const of = (c: Collector, service: string): FlatSpan[] => c.spans().filter((s) => s.resource['service.name'] === service);

/** inst-env's startEnv, with Firefox ESR (puppeteer-core) instead. */
async function firefoxEnv(t: TestContext, routes: Record<string, Route>): Promise<{ site: StaticServer; c: Collector; newPage(): Promise<PuppeteerPage> }> {
  const site = await sdkSite('inst', routes);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  const browser = await launchFirefox();
  t.after(async () => {
    await browser.close();
    await c.close();
    await site.close();
  });
  return { site, c, newPage: () => browser.newPage() };
}

/** What the resource test needs of a page, in either driver. */
interface Page {
  goto(url: string): Promise<unknown>;
  evaluate(code: string): Promise<unknown>;
  click(selector: string): Promise<unknown>;
}

const RESOURCES = 'resources loaded after the page load are roots, or children of the click or navigation open at their start; documentLoad has no child past its end (generated steps)';

async function lateResources(seed: number, env: (routes: Record<string, Route>) => Promise<{ site: StaticServer; c: Collector; newPage(): Promise<Page> }>): Promise<void> {
  const r = rng(seed);
  const initial = 2 + Math.floor(r() * 4);
  const steps = Array.from({ length: 10 }, (_, i) => ({ kind: (['plain', 'click', 'nav'] as const)[Math.floor(r() * 3)]!, i, wait: 40 + Math.floor(r() * 200) }));
  const routes: Record<string, Route> = {
    '/page.html': {
      body: `<!doctype html><button id="b">more</button>${Array.from({ length: initial }, (_, i) => `<img src="/i/${i}.svg">`).join('')}
<script>
window.late = (kind, i) => { const img = new Image(); img.src = '/l/' + kind + '-' + i + '.svg'; document.body.append(img); };
window.next = 0;
document.getElementById('b').addEventListener('click', () => late('click', next));
window.nav = (i) => { history.pushState({}, '', '/view' + i); late('nav', i); };
</script>`,
      type: 'text/html',
    },
  };
  for (let i = 0; i < initial; i++) routes[`/i/${i}.svg`] = svg(10, 10);
  for (const s of steps) routes[`/l/${s.kind}-${s.i}.svg`] = svg(12, 12);
  const { site, c, newPage } = await env(routes);
  const page = await newPage();
  await page.goto(`${site.origin}/page.html`);
  await page.evaluate(initCode(c.url, { instrumentations: { webVitals: false, longTasks: false } }));
  await c.waitFor(() => named(c, 'documentLoad').length === 1, 10_000);
  for (const s of steps) {
    await sleep(s.wait);
    if (s.kind === 'plain') await page.evaluate(`late('plain', ${s.i})`);
    else if (s.kind === 'nav') await page.evaluate(`nav(${s.i})`);
    else {
      await page.evaluate(`next = ${s.i}`);
      await page.click('#b');
    }
  }
  const lateSpans = (): FlatSpan[] => named(c, 'resourceFetch').filter((s) => String(attr(s, 'url.full')).includes('/l/'));
  // With the click and navigation spans they are children of (ended later, maybe in a later batch).
  const parentsIn = (): boolean => {
    const ids = new Set(c.spans().map((s) => s.spanId));
    return lateSpans().every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId));
  };
  const initialSpans = (): FlatSpan[] => named(c, 'resourceFetch').filter((s) => String(attr(s, 'url.full')).includes('/i/'));
  await c.waitFor(() => lateSpans().length === steps.length && initialSpans().length === initial && parentsIn(), 15_000);
  const load = named(c, 'documentLoad')[0]!;
  const byId = new Map(c.spans().map((s) => [s.spanId, s]));
  for (const s of initialSpans()) {
    assert.equal(s.parentSpanId, load.spanId, `${attr(s, 'url.full')}: a resource of the load is documentLoad's child`);
  }
  for (const s of lateSpans()) {
    const kind = /\/l\/(\w+)-/.exec(String(attr(s, 'url.full')))![1];
    const parent = byId.get(s.parentSpanId);
    if (kind === 'plain') {
      // Before: a child of documentLoad that started long after it ended.
      assert.equal(s.parentSpanId, '', `${attr(s, 'url.full')} is a root (parent ${parent?.name})`);
      assert.notEqual(s.traceId, load.traceId);
    } else {
      const want = kind === 'click' ? 'click' : 'navigation';
      assert.equal(parent?.name, want, `${attr(s, 'url.full')} is a child of its ${want} (parent ${parent?.name ?? s.parentSpanId})`);
      assert.ok(inside(s, parent!), `${attr(s, 'url.full')} starts in its ${want}: ${start(s)} in ${start(parent!)}..${end(parent!)}`);
    }
  }
  for (const s of c.spans().filter((x) => x.parentSpanId === load.spanId)) {
    assert.ok(inside(s, load), `${s.name} ${attr(s, 'url.full')} starts in documentLoad: ${start(s) - end(load)} ms after its end`);
  }
}

test(`Chromium: ${RESOURCES}`, (t) => lateResources(9133, (routes) => startEnv(t, routes)));

test(`Firefox ESR: ${RESOURCES}`, (t) => lateResources(4471, (routes) => firefoxEnv(t, routes)));


test('Chromium: web vitals inside documentLoad\'s window are its children; INP, CLS and a late LCP are roots linked to it (generated delays)', async (t) => {
  const r = rng(5150);
  const cases = Array.from({ length: 3 }, (_, i) => ({ i, delay: 100 + Math.floor(r() * 600), busy: 120 + Math.floor(r() * 150) }));
  const { site, c, newPage } = await startEnv(t, {
    '/page.html': {
      body: `<!doctype html><button id="slow">slow</button><p id="text">Some text to paint first.</p>
<script>
document.getElementById('slow').addEventListener('click', (e) => { const u = performance.now() + window.busy; while (performance.now() < u); e.target.textContent = 'done'; });
// Late: a large block of text above the first (the page's LCP, and a layout shift).
// Text, as Chromium leaves a low-entropy image (a plain SVG) out of LCP.
window.big = () => { const d = document.createElement('div'); d.id = 'big'; d.style.cssText = 'font-size:40px;width:760px'; d.textContent = 'A late and large block of text. '.repeat(12); document.getElementById('text').before(d); };
</script>`,
      type: 'text/html',
    },
  });
  for (const k of cases) {
    const service = `vitals-${k.i}`;
    const page = await newPage();
    await page.goto(`${site.origin}/page.html`);
    await page.evaluate(initCode(c.url, { serviceName: service, instrumentations: { longTasks: false, resources: false } }));
    await c.waitFor(() => of(c, service).some((s) => s.name === 'documentLoad'), 10_000);
    await sleep(k.delay);
    await page.evaluate(`window.busy = ${k.busy}; big()`);
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))'); // painted: the LCP now
    await sleep(100);
    await page.click('#slow');
    await sleep(300);
    await page.close({ runBeforeUnload: false });
    const want = ['TTFB', 'FCP', 'LCP', 'INP', 'CLS'];
    await c.waitFor(() => want.every((n) => of(c, service).some((s) => s.name === `web-vital.${n}`)), 10_000).catch((e) => assert.fail(`case ${k.i}: ${of(c, service).map((s) => s.name)}: ${e}`));
    const spans = of(c, service);
    const load = spans.find((s) => s.name === 'documentLoad')!;
    for (const v of spans.filter((s) => s.name.startsWith('web-vital.'))) {
      const n = String(attr(v, 'web_vital.name'));
      if (v.parentSpanId) {
        assert.equal(v.parentSpanId, load.spanId, `case ${k.i}: ${n}'s parent is documentLoad`);
        assert.ok(inside(v, load, true), `case ${k.i}: ${n} (${start(v) - start(load)}..${end(v) - start(load)} ms) lies in documentLoad (..${end(load) - start(load)} ms)`);
      } else {
        assert.ok(linksTo(v, load), `case ${k.i}: ${n}, a root, is linked to documentLoad`);
        assert.ok(!inside(v, load, true), `case ${k.i}: ${n} is a root only when it is outside documentLoad`);
      }
    }
    // Reported after the load: before, they were documentLoad's children hundreds of ms after its end.
    assert.equal(attr(spans.find((s) => s.name === 'web-vital.LCP')!, 'web_vital.attribution.target'), '#big', `case ${k.i}: the late text is the LCP`);
    for (const v of spans.filter((s) => /^web-vital\.(INP|CLS|LCP)$/.test(s.name))) {
      assert.equal(v.parentSpanId, '', `case ${k.i}: ${v.name} is a root`);
      assert.notEqual(v.traceId, load.traceId, `case ${k.i}: ${v.name} has a trace of its own`);
    }
    assert.equal(spans.find((s) => s.name === 'web-vital.TTFB')!.parentSpanId, load.spanId, `case ${k.i}: TTFB is documentLoad's child`);
  }
});

const BFCACHE_TITLE = 'with the back/forward cache: a restore gets a documentLoad of its own, and its vitals start at the restore (generated gaps)';

/** What the restore test needs of a page, in either driver. */
interface RestorePage {
  goto(url: string): Promise<unknown>;
  evaluate(code: string): Promise<unknown>;
  close(): Promise<unknown>;
}

/** `code`'s value once it is true in the page (polled: the page may be navigating), or false after `ms`. */
async function until(page: RestorePage, code: string, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) {
    if (await page.evaluate(code).catch(() => false)) return true;
  }
  return false;
}

/** c.waitFor for 10 s; its timeout names each span that arrived and its navigation type (a span missing and one sent twice look alike otherwise). */
const arrived = (c: Collector, pred: () => boolean, what: string): Promise<void> =>
  c.waitFor(pred, 10_000).catch((e: Error) => {
    const seen = c.spans().map((s) => `${s.name}/${attr(s, 'web_vital.navigation_type') ?? attr(s, 'document.navigation.type') ?? ''}`);
    throw new Error(`${what}: ${e.message}; spans: ${JSON.stringify(seen)}`);
  });

/** `vitals`: those the browser reports for a restore (CLS at hide). */
async function restores(seed: number, vitals: string[], env: (routes: Record<string, Route>) => Promise<{ site: StaticServer; c: Collector; newPage(): Promise<RestorePage> }>): Promise<void> {
  const r = rng(seed);
  const gaps = Array.from({ length: 2 }, () => 300 + Math.floor(r() * 900));
  const { site, c, newPage } = await env({
    // no-store keeps a page out of Chromium's back/forward cache.
    '/a.html': {
      body: `<!doctype html><h1>A page</h1><p>Some text.</p>
<script>window.restores = []; addEventListener('pageshow', (e) => { if (e.persisted) restores.push(performance.timeOrigin + e.timeStamp); });</script>`,
      type: 'text/html',
      headers: { 'cache-control': 'no-cache' },
    },
    '/b.html': { body: '<!doctype html><p>B</p>', type: 'text/html', headers: { 'cache-control': 'no-cache' } },
  });
  const page = await newPage();
  await page.goto(`${site.origin}/a.html`);
  await page.evaluate(initCode(c.url, { instrumentations: { longTasks: false, resources: false } }));
  // No TTFB for the first load means none for its restores either (web-vitals reports a restore's only after one for the load).
  vitals = await reportedVitals((code) => page.evaluate(code), vitals);
  await c.waitFor(() => named(c, 'documentLoad').length === 1 && named(c, 'web-vital.TTFB').length === (vitals.includes('TTFB') ? 1 : 0), 10_000);
  const restored = (): FlatSpan[] => c.spans().filter((s) => attr(s, 'web_vital.navigation_type') === 'back-forward-cache');
  for (const [i, gap] of gaps.entries()) {
    // From the page: puppeteer's goto after a restore waits forever in Firefox, and a restore fires no load event to wait for.
    await page.evaluate(`location.href = '/b.html'`);
    assert.ok(await until(page, `location.pathname === '/b.html' && document.readyState === 'complete'`, 10_000), 'at /b.html');
    await sleep(gap);
    await page.evaluate('history.back()');
    assert.ok(await until(page, `window.restores?.length === ${i + 1}`, 10_000), `restore ${i} came from the back/forward cache`);
    await arrived(c, () => vitals.every((n) => n === 'CLS' || restored().filter((s) => s.name === `web-vital.${n}`).length === i + 1), `restore ${i}'s vitals`);
  }
  const times = (await page.evaluate('restores')) as number[];
  await page.close(); // hidden: the last restore's CLS is reported (where the browser has layout shifts)
  await arrived(c, () => named(c, 'documentLoad').length === 1 + gaps.length && (!vitals.includes('CLS') || restored().filter((s) => s.name === 'web-vital.CLS').length === gaps.length), 'the restores\' documentLoad and CLS');
  const views = named(c, 'documentLoad').filter((s) => attr(s, 'document.navigation.type') === 'back-forward-cache').sort((a, b) => start(a) - start(b));
  assert.equal(views.length, gaps.length, 'a documentLoad per restore');
  views.forEach((v, i) => {
    assert.ok(Math.abs(start(v) - times[i]!) < 0.01, `restore ${i}'s documentLoad starts at its pageshow (${start(v) - times[i]!} ms)`);
    assert.equal(v.parentSpanId, '');
  });
  const first = named(c, 'documentLoad').find((s) => !views.includes(s))!;
  for (const v of restored()) {
    const n = String(attr(v, 'web_vital.name'));
    const i = times.filter((at) => at <= start(v) + 0.01).length - 1;
    assert.ok(i >= 0, `${n} is after a restore`);
    if (n === 'CLS' || n === 'INP') {
      // Reported at hide, after the restore's documentLoad ended.
      assert.equal(v.parentSpanId, '', `${n} is a root`);
      assert.ok(linksTo(v, views[i]!), `${n} is linked to restore ${i}'s documentLoad`);
      continue;
    }
    // Before: they started at the first navigation's time origin, children of its documentLoad.
    assert.ok(Math.abs(start(v) - times[i]!) < 0.01, `${n} starts at its restore: ${start(v) - times[i]!} ms`);
    assert.ok(Math.abs(end(v) - start(v) - Number(attr(v, 'web_vital.value'))) < 0.01, `${n} lasts its value`);
    assert.equal(v.parentSpanId, views[i]!.spanId, `${n} is restore ${i}'s child`);
    assert.ok(inside(v, views[i]!, true), `${n} lies in restore ${i}'s documentLoad`);
    assert.notEqual(v.parentSpanId, first.spanId);
  }
}

test(`Chromium ${BFCACHE_TITLE}`, (t) => restores(707, ['TTFB', 'FCP', 'LCP', 'CLS'], (routes) => startEnv(t, routes, BFCACHE)));

test(`Firefox ESR ${BFCACHE_TITLE}`, (t) => restores(8086, ['TTFB', 'FCP', 'LCP'], (routes) => firefoxEnv(t, routes)));
