// In real browsers: W3C baggage set with tracer.withBaggage goes out with the
// fetch and XHR requests the page may propagate to (a real cross-origin
// preflight that allows the header), and nowhere else; a page that sets none
// sends no baggage header. And the script tag's data-disabled: nothing loaded,
// nothing patched, nothing sent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, openPage, sdkSite, type AnyPage } from '../helpers/browser.js';
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
  // One XHR used twice: its own baggage on an untraced request, then reopened (open() clears headers) for the API.
  const reused = new XMLHttpRequest();
  const sent = () => new Promise((resolve) => { reused.onloadend = resolve; reused.send(); });
  reused.open('GET', 'data:text/plain,untraced');
  reused.setRequestHeader('baggage', 'app=7');
  await sent();
  reused.open('GET', api + '/data?step=xhr-reused');
  await tracer.withBaggage({ sdk: 'seven' }, sent);
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
    assert.equal(header('xhr-reused', 'baggage'), 'sdk=seven', 'a reopened XHR: the app\'s earlier baggage is gone, the SDK\'s goes');
    for (const step of ['fetch-init', 'fetch-request', 'xhr']) assert.match(String(header(step, 'traceparent')), /^00-[\da-f]{32}-[\da-f]{16}-0[01]$/, `${step}: traceparent still sent`);
  } finally {
    await Promise.all([c.close(), site.close(), a.close()]);
  }
}

/** Before the tag: counts what the SDK could schedule or listen to. */
const COUNT_SCHEDULING = `<script>
  window.calls = {};
  const count = (obj, name) => {
    const f = obj[name];
    obj[name] = function (...a) {
      calls[name] = (calls[name] || 0) + 1;
      return new.target ? new f(...a) : f.apply(this, a);
    };
    // Statics too (PerformanceObserver.supportedEntryTypes): without them a caller that checks first would skip the call.
    Object.setPrototypeOf(obj[name], f);
  };
  for (const n of ['setTimeout', 'setInterval', 'requestAnimationFrame', 'requestIdleCallback', 'MessageChannel', 'PerformanceObserver', 'addEventListener']) if (window[n]) count(window, n);
  count(document, 'addEventListener');
</script>`;

/** Right after the tag, before anything could load: every method of window.wasmtrace, on a tracer that records nothing. */
const USE_DISABLED = `<script>
  const w = window.wasmtrace;
  const span = w.startSpan('x');
  const h = {};
  w.inject(h, span);
  w.withBaggage({ k: 'v' }, () => w.inject(h));
  window.used = {
    recording: span.isRecording(),
    ctx: span.spanContext(),
    chained: span.setAttribute('a', 1) === span,
    active: w.startActiveSpan('y', (s) => (s.isRecording() ? 'recording' : 'noop')),
    withSpan: w.withSpan(span, () => 'ran'),
    baggage: w.withBaggage({ k: 'v' }, () => w.getBaggage()),
    injected: h,
    extracted: w.extract({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }) ?? null,
    activeSpan: w.getActiveSpan() ?? null,
    stats: w.stats(),
  };
  span.end();
</script>`;

async function disabledTag(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>disabled</title>${COUNT_SCHEDULING}<script src="/wasmtrace.js" data-disabled data-service-name="off" data-endpoint="${c.url}"></script>${USE_DISABLED}`,
      '/wasmtrace.js': { body: files.script, type: 'text/javascript' },
      '/wasmtrace.wasm': { body: files.wasm, type: 'application/wasm' },
      '/data': '{}',
    },
  });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const before = { ...window.calls };
      const tracer = await window.wasmtrace.ready;
      const span = tracer.startSpan('x');
      const recording = span.isRecording();
      span.end();
      await fetch('/data');
      const x = new XMLHttpRequest();
      x.open('GET', '/data');
      x.setRequestHeader('baggage', 'app=1');
      await new Promise((resolve) => { x.onloadend = resolve; x.send(); });
      const flushed = await tracer.flush();
      await new Promise((resolve) => setTimeout(resolve, 600)); // past the 300 ms first-paint wait
      const native = (f) => String(f).includes('[native code]');
      return { before, recording, flushed, used: window.used, fetchNative: native(window.fetch),
        xhrNative: [XMLHttpRequest.prototype.open, XMLHttpRequest.prototype.send, XMLHttpRequest.prototype.setRequestHeader].every(native) };
    })()`)) as Record<string, unknown>;
    assert.deepEqual(errors, []);
    assert.deepEqual(r.before, {}, 'no timer, frame callback, observer, channel or listener');
    assert.equal(r.recording, false);
    assert.deepEqual(r.flushed, { sent: 0, queued: 0, dropped: 0 });
    assert.equal(r.fetchNative, true, 'fetch not patched');
    assert.equal(r.xhrNative, true, 'XHR not patched');
    assert.deepEqual(r.used, {
      recording: false, ctx: { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }, chained: true, active: 'noop', withSpan: 'ran',
      // The baggage API works without an SDK (OpenTelemetry baggage/api.md: "MUST be fully functional").
      baggage: { k: 'v' }, injected: { baggage: 'k=v' }, activeSpan: null,
      // Passed on all the same (W3C: a participant that does not record forwards the context).
      extracted: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true }, stats: { droppedSpans: 0, droppedData: 0, droppedOversize: 0 },
    });
    assert.equal(site.requests.filter((q) => q.path.startsWith('/wasmtrace.wasm')).length, 0, 'the Wasm was not fetched');
    for (const q of site.requests.filter((q) => q.path === '/data')) assert.equal(q.headers.traceparent, undefined);
    assert.equal(c.requests.length, 0, 'nothing sent to the collector');
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('baggage goes with traceparent, only where the page may propagate, and only when set', baggageGoesWhereTraceparentGoes);
inBothBrowsers('a baggage header the app set itself is left alone, by fetch and by XHR', appBaggageLeftAlone);
inBothBrowsers('data-disabled: a no-op tracer at once; no Wasm fetched, nothing patched, scheduled or sent', disabledTag);
