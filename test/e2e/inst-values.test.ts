// Values of the instrumentations' spans against what the page itself reports
// (Chromium): a click span starts at the input, not when its handler ran; an
// error on the active span keeps its place on the exception event; resource
// spans split the ALPN id into the semantic conventions' protocol name and version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attr, eventAttrs, initCode, ms, named, rng, startEnv } from './inst-env.js';

test('Chromium: a click span starts at the input (generated handler delays), and an error thrown while it is active keeps its file, line and column on the exception event', async (t) => {
  const r = rng(4242);
  const delays = Array.from({ length: 4 }, () => 80 + Math.floor(r() * 250));
  const { site, c, newPage } = await startEnv(t, {
    '/page.html': { body: `<!doctype html><button id="b">go</button><script src="/busy.js"></script>`, type: 'text/html' },
    // The first listener (the page's, registered before the SDK's) keeps the main thread busy, so the SDK's runs late.
    '/busy.js': { body: `window.delays = []; window.inputs = [];
document.getElementById('b').addEventListener('pointerdown', () => {});
window.addEventListener('click', (e) => { inputs.push(performance.timeOrigin + e.timeStamp); const until = performance.now() + delays.shift(); while (performance.now() < until); }, true);
document.getElementById('b').addEventListener('click', () => { throw new RangeError('in handler ' + inputs.length); });`, type: 'text/javascript' },
  });
  const page = await newPage();
  await page.goto(`${site.origin}/page.html`);
  await page.evaluate(initCode(c.url, { instrumentations: { webVitals: false, longTasks: false, documentLoad: false, resources: false } }));
  for (const d of delays) {
    await page.evaluate(`delays.push(${d})`);
    await page.click('#b');
  }
  const inputs = (await page.evaluate('inputs')) as number[];
  await c.waitFor(() => named(c, 'click').length === delays.length, 10_000);
  const clicks = named(c, 'click').sort((a, b) => ms(a.startTimeUnixNano) - ms(b.startTimeUnixNano));
  clicks.forEach((s, i) => {
    // Before: the span started when the SDK's listener ran, after the page's busy listener.
    assert.ok(Math.abs(ms(s.startTimeUnixNano) - inputs[i]!) < 5, `click ${i}: starts ${(ms(s.startTimeUnixNano) - inputs[i]!).toFixed(1)} ms from the input (handler delayed ${delays[i]} ms)`);
    const ev = eventAttrs(s);
    assert.match(String(ev['exception.message']), /^in handler/);
    assert.match(String(ev['code.file.path']), /\/busy\.js$/, 'the file on the event');
    assert.equal(ev['code.line.number'], '4');
    assert.ok(Number(ev['code.column.number']) > 0);
  });
});

test('Chromium: resource spans carry network.protocol.name "http" and its version, as the semantic conventions split the ALPN id', async (t) => {
  const { site, c, newPage } = await startEnv(t, {
    '/page.html': { body: `<!doctype html><img src="/a.png"><img src="/b.png">`, type: 'text/html' },
    '/a.png': { body: new Uint8Array([1]), type: 'image/png' },
    '/b.png': { body: new Uint8Array([2]), type: 'image/png' },
  });
  const page = await newPage();
  await page.goto(`${site.origin}/page.html`);
  const alpn = (await page.evaluate(`performance.getEntriesByType('resource').find((e) => e.name.endsWith('/a.png')).nextHopProtocol`)) as string;
  await page.evaluate(initCode(c.url, { instrumentations: { webVitals: false, longTasks: false, interactions: false } }));
  await c.waitFor(() => named(c, 'resourceFetch').filter((s) => /\/[ab]\.png$/.test(String(attr(s, 'url.full')))).length === 2, 10_000);
  assert.equal(alpn, 'http/1.1', 'the test server speaks HTTP/1.1');
  for (const s of named(c, 'resourceFetch').filter((x) => /\/[ab]\.png$/.test(String(attr(x, 'url.full'))))) {
    assert.equal(attr(s, 'network.protocol.name'), 'http');
    assert.equal(attr(s, 'network.protocol.version'), '1.1');
  }
});

// The page's own sendBeacon requests were skipped as if they were the
// exporter's: they get a resourceFetch span (the exporter's own do not).
test('Chromium: the page\'s sendBeacon requests get resourceFetch spans (initiator beacon), after ready (generated count)', async (t) => {
  const n = 2 + Math.floor(rng(5150)() * 4);
  const { site, c, newPage } = await startEnv(t, { '/beacon': '' });
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { instrumentations: { interactions: false, webVitals: false, longTasks: false } }));
  await page.evaluate(`for (let i = 0; i < ${n}; i++) navigator.sendBeacon('/beacon?b=' + i, 'x')`);
  const beacons = () => named(c, 'resourceFetch').filter((s) => String(attr(s, 'url.full')).includes('/beacon?b='));
  await c.waitFor(() => beacons().length >= n, 15_000).catch(() => {});
  assert.deepEqual(beacons().map((s) => [attr(s, 'url.full'), attr(s, 'resource.initiator_type')]).sort(), Array.from({ length: n }, (_, i) => [`${site.origin}/beacon?b=${i}`, 'beacon']));
  assert.deepEqual(named(c, 'resourceFetch').filter((s) => String(attr(s, 'url.full')).startsWith(c.url)), [], 'none of the exporter\'s own');
});

// `null` for an instrumentation is unset, as for any option: on, with its defaults. `interactions: null`
// read `null.events` after the tracer existed: init() resolved to a tracer recording nothing, with the
// instrumentations before it installed.
test('Chromium: instrumentations given null (each, and all at once) are on with their defaults: the tracer records and a click is traced', async (t) => {
  const keys = ['documentLoad', 'resources', 'fetch', 'xhr', 'interactions', 'navigation', 'errors', 'webVitals', 'longTasks', 'session'];
  const { site, c, newPage } = await startEnv(t, {
    '/page.html': { body: '<!doctype html><button id="b">go</button>', type: 'text/html' },
  });
  for (const [label, instrumentations] of [...keys.map((k) => [k, { [k]: null }] as const), ['all', Object.fromEntries(keys.map((k) => [k, null]))] as const]) {
    const page = await newPage();
    await page.goto(`${site.origin}/page.html`);
    await page.evaluate(initCode(c.url, { instrumentations }));
    assert.equal(await page.evaluate(`(() => { const s = tracer.startSpan('null-${label}'); const r = s.isRecording(); s.end(); return r; })()`), true, `${label}: records`);
    await page.click('#b');
    await c.waitFor(() => named(c, `null-${label}`).length === 1, 15_000).catch(() => {});
    assert.equal(named(c, `null-${label}`).length, 1, `${label}: its span exported`);
    await page.close();
  }
  await c.waitFor(() => named(c, 'click').length >= keys.length + 1, 15_000).catch(() => {});
  assert.equal(named(c, 'click').length, keys.length + 1, 'a click span from each page');
});
