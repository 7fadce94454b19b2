// Tail sampling with slowMs in real Chromium: a span started after its fast,
// unsampled trace was decided, backdated to the navigation start (as a web
// vital reported at page hide is), is not exported alone as "slow" when the
// page hides; a failed trace decided at the same hide is; and a late span of a
// slow trace kept before is exported with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const page = (endpoint: string) => `<!doctype html><title>late</title>
<script type="module">
  import { init } from '/browser.js';
  const tracer = await init({
    serviceName: 'late-page', endpoint: ENDPOINT, storage: null,
    sampler: { ratio: 0, keepErrors: true, slowMs: 50, maxHoldMs: 60000 },
    instrumentations: { documentLoad: false, resources: false, fetch: false, xhr: false, interactions: false, navigation: false, errors: false, webVitals: false, longTasks: false },
  });
  const load = tracer.startSpan('load', {}, null);
  load.end(); // fast: dropped at ratio 0
  await new Promise((r) => setTimeout(r, 120));
  tracer.startSpan('vital', { startTime: 0 }, load).end(); // after the decision, from the navigation start
  const slow = tracer.startSpan('slow-load', {}, null);
  await new Promise((r) => setTimeout(r, 80));
  slow.end(); // slow: kept by tail sampling
  await new Promise((r) => setTimeout(r, 120));
  tracer.startSpan('slow-vital', { startTime: 0 }, slow).end();
  const failing = tracer.startSpan('checkout', {}, null);
  tracer.startSpan('pay', {}, failing).setStatus({ code: 2 }).end();
  window.ids = { late: load.spanContext().traceId, failing: failing.spanContext().traceId, slow: slow.spanContext().traceId };
  document.title = 'ready';
</script>`.replace('ENDPOINT', JSON.stringify(endpoint));

test('page hide: a late span of a decided fast trace is not kept as slow; a failed trace is; a late span of a kept slow trace is exported', { timeout: 120_000 }, async () => {
  const collector = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({ dir: dist, routes: { '/index.html': page(collector.url), '/next.html': '<!doctype html><title>next</title>' } });
  const browser = await launchChromium();
  try {
    for (let round = 0; round < 3; round++) {
      const tab = await browser.newPage();
      await tab.goto(site.url);
      await tab.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
      const ids = (await tab.evaluate('window.ids')) as { late: string; failing: string; slow: string };
      await tab.goto(`${site.origin}/next.html`); // pagehide
      await collector.waitFor(() => collector.spans().some((s) => s.traceId === ids.failing), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(collector.spans().filter((s) => s.traceId === ids.failing).map((s) => s.name), ['pay'], 'the failed trace is decided at hide');
      assert.deepEqual(collector.spans().filter((s) => s.traceId === ids.late).map((s) => s.name), [], 'the late span is dropped with its trace');
      assert.deepEqual(collector.spans().filter((s) => s.traceId === ids.slow).map((s) => s.name).sort(), ['slow-load', 'slow-vital'], 'the late span of the kept slow trace is exported with it');
      await tab.close();
    }
  } finally {
    await browser.close();
    await site.close();
    await collector.close();
  }
});
