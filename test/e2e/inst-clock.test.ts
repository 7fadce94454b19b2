// The instrumentations' span times under any clock (Chromium): they read the
// performance timeline (entries, an event's timeStamp) and must give those
// times as unix ms. Under setClock(fn, 0) — a clock of unix ms — a timeline
// time given as it is was read as unix ms: documentLoad, resources, vitals
// and long frames in 1970. The fetch/XHR spans keep times taken with the
// SDK's clock for later (a failure's end, the requests made before ready):
// kept as readings of a clock whose origin setClock then moved, they fell in
// 1970 or ended at their start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FlatSpan } from '../helpers/otlp.js';
import { attr, ms, named, rng, startEnv } from './inst-env.js';

const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const start = (s: FlatSpan): number => ms(s.startTimeUnixNano);
const end = (s: FlatSpan): number => ms(s.endTimeUnixNano);

/** The clocks a page runs under: the default, or one of unix ms put in with origin 0, before or after init(). */
const CLOCKS = [
  { name: 'default' },
  { name: 'Date.now, origin 0, before init', fn: '() => Date.now()', when: 'before' },
  { name: 'Date.now, origin 0, after init', fn: '() => Date.now()', when: 'after' },
  { name: 'Date.now + sub-ms, origin 0, before init', fn: '() => Date.now() + (performance.now() % 1)', when: 'before' },
] as const;

test('Chromium: documentLoad, resource, click, long-frame and web-vital spans lie in the navigation\'s wall-clock window under the default clock and under setClock(unix ms, 0) (generated pages)', async (t) => {
  const r = rng(1970);
  const cases = Array.from({ length: 8 }, (_, i) => ({
    i,
    clock: CLOCKS[i % CLOCKS.length]!,
    images: 1 + Math.floor(r() * 4),
    busy: 60 + Math.floor(r() * 80),
  }));
  const routes: Record<string, { body: string | Uint8Array; type: string }> = {
    '/page.html': {
      body: `<!doctype html><button id="b">go</button><p>Some text to paint.</p><div id="imgs"></div>
<script>
window.inputs = [];
// Registered before the SDK's listener: the click span must still start at the input.
window.addEventListener('click', (e) => { inputs.push(performance.timeOrigin + e.timeStamp); const u = performance.now() + window.busy; while (performance.now() < u); }, true);
const n = Number(new URLSearchParams(location.search).get('n'));
for (let i = 0; i < n; i++) { const img = document.createElement('img'); img.src = '/i/' + i + '.svg?' + location.search.slice(1); document.getElementById('imgs').append(img); }
</script>`,
      type: 'text/html',
    },
  };
  for (let i = 0; i < 4; i++) {
    routes[`/i/${i}.svg`] = { body: `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="#36c"/></svg>`, type: 'image/svg+xml' };
  }
  const { site, c, newPage } = await startEnv(t, routes);
  for (const k of cases) {
    const service = `clock-${k.i}`;
    const of = (): FlatSpan[] => c.spans().filter((s) => s.resource['service.name'] === service);
    const label = `case ${k.i} (${k.clock.name}, ${k.images} images)`;
    const t0 = Date.now();
    const page = await newPage();
    await page.goto(`${site.origin}/page.html?n=${k.images}&case=${k.i}`);
    const fn = 'fn' in k.clock ? k.clock.fn : '';
    const when = 'when' in k.clock ? k.clock.when : '';
    await page.evaluate(`(async () => {
  const { init, setClock } = await import('/browser.js');
  ${when === 'before' ? `setClock(${fn}, 0);` : ''}
  window.tracer = await init({ serviceName: ${JSON.stringify(service)}, endpoint: ${JSON.stringify(c.url)}, wasm: '/wasmtrace.wasm', compression: 'none', scheduledDelayMs: 100 });
  ${when === 'after' ? `setClock(${fn}, 0);` : ''}
})()`);
    await c.waitFor(() => of().some((s) => s.name === 'documentLoad'), 10_000);
    await page.evaluate(`window.busy = ${k.busy}`);
    await page.click('#b');
    await sleep(200);
    const seen = (await page.evaluate(`({ origin: performance.timeOrigin, inputs, images: performance.getEntriesByType('resource').filter((e) => e.name.includes('/i/')).map((e) => [e.name, performance.timeOrigin + e.startTime]) })`)) as
      { origin: number; inputs: number[]; images: Array<[string, number]> };
    await page.close({ runBeforeUnload: false });
    const want = ['documentLoad', 'documentFetch', 'click', 'longAnimationFrame', 'web-vital.TTFB', 'web-vital.FCP', 'web-vital.LCP', 'web-vital.INP'];
    // Each image's own span (the SDK's /browser.js has one too).
    const images = (): boolean => seen.images.every(([url]) => of().some((s) => s.name === 'resourceFetch' && attr(s, 'url.full') === url));
    await c.waitFor(() => want.every((n) => of().some((s) => s.name === n)) && of().filter((s) => s.name === 'resourceFetch').length >= k.images && images(), 10_000)
      .catch((e) => assert.fail(`${label}: ${of().map((s) => s.name)}: ${e}`));
    const t1 = Date.now();
    // Every span and event within the test's wall-clock window (a little slack: two processes' clocks).
    for (const s of of()) {
      for (const [what, at] of [['start', start(s)], ['end', end(s)], ...s.events.map((e) => [`event ${e.name}`, ms(e.timeUnixNano)] as const)] as const) {
        assert.ok(at >= t0 - 5 && at <= t1 + 5, `${label}: ${s.name} ${what} ${new Date(at).toISOString()} outside ${new Date(t0).toISOString()}..${new Date(t1).toISOString()}`);
      }
      assert.ok(end(s) >= start(s), `${label}: ${s.name} ends before it starts`);
    }
    // And where the page itself tells the time: exactly.
    const load = named(c, 'documentLoad').find((s) => s.resource['service.name'] === service)!;
    assert.ok(Math.abs(start(load) - seen.origin) < 0.01, `${label}: documentLoad starts at the time origin (${start(load) - seen.origin} ms)`);
    for (const [url, at] of seen.images) {
      const s = of().find((x) => x.name === 'resourceFetch' && attr(x, 'url.full') === url);
      assert.ok(s, `${label}: a span for ${url}`);
      assert.ok(Math.abs(start(s) - at) < 0.01, `${label}: ${url} starts at its entry's start (${start(s) - at} ms)`);
    }
    const click = of().find((s) => s.name === 'click')!;
    assert.equal(seen.inputs.length, 1);
    assert.ok(Math.abs(start(click) - seen.inputs[0]!) < 0.01, `${label}: the click starts at the input (${start(click) - seen.inputs[0]!} ms; handler delayed ${k.busy} ms)`);
  }
});

/** The request spans' cases: a clock put in before init(), after init() (while requests made before ready are in flight) or after ready. */
const NET_CLOCKS = [...CLOCKS, { name: 'Date.now, origin 0, after ready', fn: '() => Date.now()', when: 'ready' }] as const;

test('Chromium: fetch and XHR spans, before and after ready, ok, aborted and failed, start when the request did and last as long under the default clock and setClock(unix ms, 0) (generated)', async (t) => {
  const hang = createServer(() => {}); // never answers: a request to it ends when the page aborts it
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hang`;
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/dead`;
  await new Promise<void>((r) => dead.close(() => r())); // a refused port: the request fails at once
  t.after(() => {
    hang.closeAllConnections();
    hang.close();
  });
  const { site, c, newPage } = await startEnv(t, { '/page.html': { body: '<!doctype html><p>x</p>', type: 'text/html' }, '/ok': { body: 'ok', type: 'text/plain' } });
  const r = rng(1971);
  const KINDS = ['ok', 'abort', 'fail'] as const;
  const cases = Array.from({ length: 8 }, (_, i) => ({
    i,
    clock: NET_CLOCKS[i % NET_CLOCKS.length]!,
    // Each phase: fetch and XHR requests of generated kinds; an aborted one after a generated delay.
    phases: ['early', 'late'].map((phase) =>
      Array.from({ length: 3 + Math.floor(r() * 3) }, (_, j) => ({ tag: `${phase}${j}`, api: r() < 0.5 ? 'fetch' : 'xhr', kind: KINDS[Math.floor(r() * KINDS.length)]!, delay: 80 + Math.floor(r() * 300) })),
    ),
  }));
  for (const k of cases) {
    const service = `net-clock-${k.i}`;
    const label = `case ${k.i} (${k.clock.name})`;
    const fn = 'fn' in k.clock ? k.clock.fn : '';
    const when = 'when' in k.clock ? k.clock.when : '';
    const t0 = Date.now();
    const page = await newPage();
    await page.goto(`${site.origin}/page.html?case=${k.i}`);
    // Each request's wall-clock start and end as the page saw them.
    const seen = (await page.evaluate(`(async () => {
  const { init, setClock } = await import('/browser.js');
  const urls = { ok: '/ok', abort: ${JSON.stringify(hangUrl)}, fail: ${JSON.stringify(deadUrl)} };
  const seen = {};
  const one = ({ tag, api, kind, delay }) => {
    const url = urls[kind] + '?t=' + tag;
    const s = Date.now();
    const done = () => (seen[tag] = [s, Date.now()]);
    if (api === 'fetch') {
      const ac = new AbortController();
      if (kind === 'abort') setTimeout(() => ac.abort(), delay);
      return fetch(url, { signal: ac.signal }).then((res) => res.text()).catch(() => {}).then(done);
    }
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open('GET', url);
      x.onloadend = () => resolve(done());
      x.send();
      if (kind === 'abort') setTimeout(() => x.abort(), delay);
    });
  };
  const [early, late] = ${JSON.stringify(k.phases)};
  ${when === 'before' ? `setClock(${fn}, 0);` : ''}
  const p = init({ serviceName: ${JSON.stringify(service)}, endpoint: ${JSON.stringify(c.url)}, wasm: '/wasmtrace.wasm', compression: 'none', scheduledDelayMs: 100 });
  const first = Promise.all(early.map(one));
  ${when === 'after' ? `setClock(${fn}, 0);` : ''}
  window.tracer = await p;
  ${when === 'ready' ? `setClock(${fn}, 0);` : ''}
  await first;
  await Promise.all(late.map(one));
  return seen;
})()`)) as Record<string, [number, number]>;
    const all = k.phases.flat();
    const spans = (): FlatSpan[] => c.spans().filter((s) => s.resource['service.name'] === service && s.kind === 3);
    await c.waitFor(() => all.every((q) => spans().some((s) => String(attr(s, 'url.full')).endsWith(`?t=${q.tag}`))), 10_000)
      .catch((e) => assert.fail(`${label}: ${spans().map((s) => attr(s, 'url.full'))}: ${e}`));
    await page.close({ runBeforeUnload: false });
    const t1 = Date.now();
    for (const q of all) {
      const s = spans().find((x) => String(attr(x, 'url.full')).endsWith(`?t=${q.tag}`))!;
      const [s0, s1] = seen[q.tag]!;
      const what = `${label}: ${q.tag} ${q.api} ${q.kind}${q.kind === 'abort' ? ` after ${q.delay} ms` : ''}`;
      assert.ok(start(s) >= t0 - 5 && end(s) <= t1 + 5, `${what}: ${new Date(start(s)).toISOString()}..${new Date(end(s)).toISOString()} outside ${new Date(t0).toISOString()}..${new Date(t1).toISOString()}`);
      // The page's two Date.now() reads bracket the request; one that failed ends as the page saw it fail (one that
      // succeeded ends at its response, before the page read the body). Slack: in Chromium, performance.timeOrigin +
      // performance.now() (the default clock, and the clock before setClock) runs some ms off Date.now(); and a
      // starved page runs its own callback (s1) late. A clock misread is off by decades, or ends at the start.
      const slack = 100;
      assert.ok(Math.abs(start(s) - s0) < slack && end(s) < s1 + slack, `${what}: ${start(s) - s0}..${end(s) - s0} ms from the request's start, which the page saw end at ${s1 - s0}`);
      if (q.kind !== 'ok') assert.ok(Math.abs(end(s) - start(s) - (s1 - s0)) < slack, `${what}: lasts ${end(s) - start(s)} ms, the request ${s1 - s0} ms`);
      // Kept tight: an abort comes no earlier than its delay (80 ms and more), and a span ended at its start lasts 0.
      if (q.kind === 'abort') assert.ok(end(s) - start(s) > q.delay - 25, `${what}: lasts ${end(s) - start(s)} ms`);
    }
  }
});
