// In real browsers: W3C baggage set with tracer.withBaggage goes out with the
// fetch and XHR requests the page may propagate to (a real cross-origin
// preflight that allows the header), and nowhere else; a page that sets none
// sends no baggage header. And the script tag's data-disabled: nothing loaded,
// nothing patched, nothing sent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { startApi, type Api } from './sdk-env.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const files = { script: readFileSync(join(dist, 'wasmtrace.js')), wasm: readFileSync(join(dist, 'wasmtrace.wasm')) };

const PAGE = `async ({ endpoint, api, other }) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'baggage-e2e', endpoint, wasm: '/wasmtrace.wasm', compression: 'none',
    propagateTo: [api], instrumentations: { webVitals: false, longTasks: false, interactions: false, documentLoad: false, resources: false } });
  const xhr = (url) => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('GET', url);
    x.onloadend = resolve;
    x.send();
  });
  await (await fetch(api + '/data?step=plain')).text();
  await tracer.withBaggage({ 'user.tier': 'gold plus', session: 's1' }, () => fetch(api + '/data?step=fetch')).then((r) => r.text());
  await tracer.withBaggage({ session: 's2' }, () => xhr(api + '/data?step=xhr'));
  await tracer.withBaggage({ session: 's3' }, () => fetch(other + '/data?step=other')).then((r) => r.text());
  return tracer.flush();
}`;

async function baggageGoesWhereTraceparentGoes(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('baggage');
  const [a, other] = [await startApi(site.origin), await startApi(site.origin)];
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const page = await newPage();
    await page.goto(site.url);
    await page.evaluate(`(${PAGE})(${JSON.stringify({ endpoint: c.url, api: a.origin, other: other.origin })})`);
    const get = (server: Api, step: string) => server.requests.find((r) => r.path.endsWith(`step=${step}`));
    const plain = get(a, 'plain');
    assert.ok(plain, 'the plain fetch reached the API');
    assert.match(String(plain.headers.traceparent ?? ''), /^00-[\da-f]{32}-[\da-f]{16}-0[01]$/);
    assert.equal(plain.headers.baggage, undefined, 'no baggage set: no header');
    assert.equal(get(a, 'fetch')?.headers.baggage, 'user.tier=gold%20plus,session=s1');
    assert.equal(get(a, 'xhr')?.headers.baggage, 'session=s2');
    const elsewhere = get(other, 'other');
    assert.ok(elsewhere, 'the fetch outside propagateTo reached its server');
    assert.equal(elsewhere.headers.baggage, undefined, 'outside propagateTo: no baggage');
    assert.equal(elsewhere.headers.traceparent, undefined);
    // The preflight of the plain fetch did not ask for baggage; the one with baggage did.
    assert.ok(a.preflights.some((h) => h.includes('baggage')), `preflights: ${JSON.stringify(a.preflights)}`);
  } finally {
    await Promise.all([c.close(), site.close(), a.close(), other.close()]);
  }
}

/** Requests that carry the app's own baggage header, with and without SDK baggage in effect, after ready. */
const APP_BAGGAGE = `async ({ endpoint, api }) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'app-baggage', endpoint, wasm: '/wasmtrace.wasm', compression: 'none',
    propagateTo: [api], instrumentations: { webVitals: false, longTasks: false, interactions: false, documentLoad: false, resources: false } });
  const xhr = (url, own) => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('GET', url);
    if (own) x.setRequestHeader('Baggage', own);
    x.onloadend = resolve;
    x.send();
  });
  await tracer.withBaggage({ sdk: 'one' }, () => fetch(api + '/data?step=fetch-init', { headers: { baggage: 'app=1' } })).then((r) => r.text());
  await tracer.withBaggage({ sdk: 'two' }, () => fetch(new Request(api + '/data?step=fetch-request', { headers: { BAGGAGE: 'app=2' } }))).then((r) => r.text());
  await tracer.withBaggage({ sdk: 'three' }, () => xhr(api + '/data?step=xhr', 'app=3'));
  // Without the app's header, the SDK's baggage goes as before.
  await tracer.withBaggage({ sdk: 'four' }, () => xhr(api + '/data?step=xhr-plain'));
  await tracer.withBaggage({ sdk: 'five' }, () => fetch(api + '/data?step=fetch-plain')).then((r) => r.text());
  await fetch(api + '/data?step=fetch-own', { headers: { baggage: 'app=6' } }).then((r) => r.text());
  return tracer.flush();
}`;

async function appBaggageLeftAlone(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('app-baggage');
  const a = await startApi(site.origin);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const page = await newPage();
    await page.goto(site.url);
    await page.evaluate(`(${APP_BAGGAGE})(${JSON.stringify({ endpoint: c.url, api: a.origin })})`);
    const header = (step: string, name: string) => a.requests.find((r) => r.path.endsWith(`step=${step}`))?.headers[name];
    assert.equal(header('fetch-init', 'baggage'), 'app=1', 'fetch(url, { headers }): the app\'s baggage as it wrote it');
    assert.equal(header('fetch-request', 'baggage'), 'app=2', 'fetch(Request): the app\'s baggage as it wrote it');
    assert.equal(header('xhr', 'baggage'), 'app=3', 'XHR: the app\'s baggage, nothing appended');
    assert.equal(header('xhr-plain', 'baggage'), 'sdk=four');
    assert.equal(header('fetch-plain', 'baggage'), 'sdk=five');
    assert.equal(header('fetch-own', 'baggage'), 'app=6');
    for (const step of ['fetch-init', 'fetch-request', 'xhr']) assert.match(String(header(step, 'traceparent')), /^00-[\da-f]{32}-[\da-f]{16}-0[01]$/, `${step}: traceparent still sent`);
  } finally {
    await Promise.all([c.close(), site.close(), a.close()]);
  }
}

async function disabledTag(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>disabled</title><script src="/wasmtrace.js" data-disabled data-service-name="off" data-endpoint="${c.url}"></script>`,
      '/wasmtrace.js': { body: files.script, type: 'text/javascript' },
      '/wasmtrace.wasm': { body: files.wasm, type: 'application/wasm' },
      '/data': '{}',
    },
  });
  try {
    const page = await newPage();
    await page.goto(site.url);
    const r = (await page.evaluate(`(async () => {
      const tracer = await window.wasmtrace.ready;
      const span = tracer.startSpan('x');
      const recording = span.isRecording();
      span.end();
      await fetch('/data');
      await tracer.flush();
      return { recording, fetchNative: String(window.fetch).includes('[native code]'), xhrNative: String(XMLHttpRequest.prototype.open).includes('[native code]') };
    })()`)) as { recording: boolean; fetchNative: boolean; xhrNative: boolean };
    assert.deepEqual(r, { recording: false, fetchNative: true, xhrNative: true });
    assert.equal(site.requests.filter((q) => q.path.startsWith('/wasmtrace.wasm')).length, 0, 'the Wasm was not fetched');
    assert.equal(site.requests.find((q) => q.path === '/data')?.headers.traceparent, undefined);
    assert.equal(c.requests.length, 0, 'nothing sent to the collector');
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('baggage goes with traceparent, only where the page may propagate, and only when set', baggageGoesWhereTraceparentGoes);
inBothBrowsers('a baggage header the app set itself is left alone, by fetch and by XHR', appBaggageLeftAlone);
inBothBrowsers('data-disabled: no Wasm fetched, nothing patched, nothing sent', disabledTag);
