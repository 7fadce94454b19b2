// Smart sampling in real Chromium: at ratio 0 with keepErrors, a page that is
// left while traces are still open exports the failed one (decided at page
// hide) and not the quiet one; a later trace at the same ratio is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { launchChromium, launchFirefox } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const page = (endpoint: string) => `<!doctype html><title>sampling</title>
<script type="module">
  import { init } from '/browser.js';
  const tracer = await init({
    serviceName: 'sampling-page', endpoint, storage: null,
    sampler: { ratio: 0, keepErrors: true, slowMs: 60000 },
    instrumentations: { documentLoad: false, resources: false, fetch: false, xhr: false, interactions: false, navigation: false, errors: false, webVitals: false, longTasks: false },
  });
  // Roots stay open: their traces are undecided when the page goes away.
  const failing = tracer.startSpan('checkout');
  const pay = tracer.startSpan('pay', {}, failing);
  pay.recordException(new Error('card declined'));
  pay.end();
  const quiet = tracer.startSpan('browse');
  tracer.startSpan('list', {}, quiet).end();
  window.ids = { failing: failing.spanContext().traceId, quiet: quiet.spanContext().traceId };
  document.title = 'ready';
</script>`.replace('endpoint, storage', `endpoint: ${JSON.stringify(endpoint)}, storage`);

test('page hide decides held traces: the failed one is exported, the quiet one is not', { timeout: 120_000 }, async () => {
  const collector = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({ dir: dist, routes: { '/index.html': page(collector.url), '/next.html': '<!doctype html><title>next</title>' } });
  const browser = await launchChromium();
  try {
    for (let round = 0; round < 3; round++) {
      const tab = await browser.newPage();
      await tab.goto(site.url);
      await tab.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
      const ids = (await tab.evaluate('window.ids')) as { failing: string; quiet: string };
      assert.equal(collector.spans().filter((s) => s.traceId === ids.failing).length, 0, 'held until the page hides');
      await tab.goto(`${site.origin}/next.html`); // pagehide
      await collector.waitFor(() => collector.spans().some((s) => s.traceId === ids.failing), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      const failing = collector.spans().filter((s) => s.traceId === ids.failing).map((s) => s.name);
      assert.deepEqual(failing, ['pay'], 'the failed trace is exported; its root never ended');
      assert.equal(collector.spans().filter((s) => s.traceId === ids.quiet).length, 0, 'the quiet trace is dropped at ratio 0');
      await tab.close();
    }
  } finally {
    await browser.close();
    await site.close();
    await collector.close();
  }
});

test('Firefox ESR: the same at page hide', { timeout: 120_000 }, async () => {
  const collector = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({ dir: dist, routes: { '/index.html': page(collector.url), '/next.html': '<!doctype html><title>next</title>' } });
  const browser = await launchFirefox();
  try {
    const tab = await browser.newPage();
    await tab.goto(site.url);
    await tab.waitForFunction(() => document.title === 'ready', { timeout: 30_000 });
    const ids = (await tab.evaluate('window.ids')) as { failing: string; quiet: string };
    await tab.goto(`${site.origin}/next.html`);
    await collector.waitFor(() => collector.spans().some((s) => s.traceId === ids.failing), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(collector.spans().filter((s) => s.traceId === ids.failing).map((s) => s.name), ['pay']);
    assert.equal(collector.spans().filter((s) => s.traceId === ids.quiet).length, 0);
  } finally {
    await browser.close();
    await site.close();
    await collector.close();
  }
});
