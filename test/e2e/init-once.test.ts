// In real browsers: a page starts the SDK once. A second init(), or init()
// beside the script tag, returns the first start-up's tracer instead of
// instrumenting fetch and XHR twice (two spans per request, two traceparent
// values in an XHR's header) and tracing the second start-up's Wasm fetch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, openPage, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
import { startApi, type Api } from './sdk-env.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const script = readFileSync(join(dist, 'wasmtrace.js'));

const OFF = "{ webVitals: false, longTasks: false, interactions: false, documentLoad: false, resources: false }";

/** After start-up: one fetch and one XHR to the API; then flush. */
const REQUESTS = `
  const xhr = (url) => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('GET', url);
    x.onloadend = resolve;
    x.send();
  });
  await fetch(api + '/data?step=fetch').then((r) => r.text());
  await xhr(api + '/data?step=xhr');
  await tracer.flush();`;

/** Each request traced once: one span, one traceparent value; the SDK's own Wasm fetch not traced. */
async function tracedOnce(c: Collector, a: Api): Promise<void> {
  const url = (s: FlatSpan): string => String(attrs(s.attributes)['url.full'] ?? '');
  await c.waitFor(() => c.spans().some((s) => url(s).endsWith('step=xhr')), 10_000);
  for (const step of ['fetch', 'xhr']) {
    assert.equal(c.spans().filter((s) => url(s).endsWith(`step=${step}`)).length, 1, `one ${step} span`);
    const sent = a.requests.find((q) => q.path.endsWith(`step=${step}`))?.headers.traceparent;
    assert.match(String(sent), /^00-[\da-f]{32}-[\da-f]{16}-01$/, `${step}: one traceparent`);
  }
  assert.deepEqual(c.spans().filter((s) => url(s).includes('.wasm')), [], 'no span for a Wasm fetch');
}

async function initTwice(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('init twice', { '/wasmtrace.js': { body: script, type: 'text/javascript' } });
  const a = await startApi(site.origin);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const api = ${JSON.stringify(a.origin)};
      const { init } = await import('/browser.js');
      const options = { serviceName: 'twice', endpoint: ${JSON.stringify(c.url)}, wasm: '/wasmtrace.wasm', compression: 'none', propagateTo: [api], instrumentations: ${OFF} };
      const [tracer, second] = await Promise.all([init(options), init(options)]);
      const third = await init({ ...options, serviceName: 'third' });
      // A script tag added after init(): window.wasmtrace is that tracer.
      const tag = document.createElement('script');
      tag.src = '/wasmtrace.js';
      tag.dataset.serviceName = 'tag';
      tag.dataset.endpoint = ${JSON.stringify(c.url)};
      await new Promise((resolve) => { tag.onload = resolve; document.head.append(tag); });
      const fromTag = await window.wasmtrace.ready;
      ${REQUESTS}
      return { same: tracer === second && tracer === third, tagSame: fromTag === tracer };
    })()`)) as { same: boolean; tagSame: boolean };
    assert.deepEqual(errors, []);
    assert.deepEqual(r, { same: true, tagSame: true });
    await tracedOnce(c, a);
    assert.equal(site.requests.filter((q) => q.path.startsWith('/wasmtrace.wasm')).length, 1, 'the Wasm fetched once');
    assert.ok(c.spans().every((s) => s.resource['service.name'] === 'twice'), 'the first options stand');
  } finally {
    await Promise.all([c.close(), site.close(), a.close()]);
  }
}

async function initBesideTag(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const apis: { a?: Api } = {};
  const site = await sdkSite('tag then init', {
    '/index.html': () => ({
      type: 'text/html',
      body: `<!doctype html><title>tag then init</title><script src="/wasmtrace.js" data-service-name="tag" data-endpoint="${c.url}" data-compression="none"
        data-propagate-to="${apis.a!.origin}" data-disable="webVitals,longTasks,interactions,documentLoad,resources"></script>`,
    }),
    '/wasmtrace.js': { body: script, type: 'text/javascript' },
  });
  apis.a = await startApi(site.origin);
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const api = ${JSON.stringify(apis.a.origin)};
      const { init } = await import('/browser.js');
      const tracer = await init({ serviceName: 'app', endpoint: ${JSON.stringify(c.url)}, wasm: '/wasmtrace.wasm', propagateTo: [api], instrumentations: ${OFF} });
      const same = tracer === (await window.wasmtrace.ready);
      ${REQUESTS}
      return { same };
    })()`)) as { same: boolean };
    assert.deepEqual(errors, []);
    assert.deepEqual(r, { same: true });
    await tracedOnce(c, apis.a);
    assert.equal(site.requests.filter((q) => q.path.startsWith('/wasmtrace.wasm')).length, 1, 'the Wasm fetched once');
  } finally {
    await Promise.all([c.close(), site.close(), apis.a.close()]);
  }
}

inBothBrowsers('init() twice: the same tracer, each request traced once', initTwice);
inBothBrowsers('init() beside the script tag: the tag\'s tracer, each request traced once', initBesideTag);
