// SPA navigations: a `navigation` span for each pushState/replaceState that
// changes the URL (docs/browser.md), none for one that only changes the state,
// in generated sequences of history calls; url.full, navigation.from and
// navigation.type as the browser's location saw them.
import assert from 'node:assert/strict';
import { inBothBrowsers, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

type Call = [method: 'pushState' | 'replaceState', url: string | null];

/** History calls: no URL, the current one, a path, a query or a hash of a few. */
function calls(seed: number, n: number): Call[] {
  const r = rng(seed);
  const urls = [null, 'SAME', '/a', '/b', '/a?x=1', '#h', '#k', './'];
  return Array.from({ length: n }, () => [r() < 0.5 ? 'pushState' : 'replaceState', urls[Math.floor(r() * urls.length)]!]);
}

const RUN = `async ([endpoint, calls]) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'nav-e2e', endpoint, wasm: '/wasmtrace.wasm', compression: 'none',
    instrumentations: { webVitals: false, interactions: false, documentLoad: false, resources: false, longTasks: false } });
  const changes = [];
  calls.forEach(([method, url], i) => {
    const from = location.href;
    if (url === null) history[method]({ i }, '');
    else history[method]({ i }, '', url === 'SAME' ? location.href : url);
    if (location.href !== from) changes.push({ type: method, from, to: location.href });
  });
  await new Promise((r) => setTimeout(r, 50));
  await tracer.flush();
  return changes;
}`;

async function urlChangesOnly(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('navigation');
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const page = await newPage();
      await page.goto(site.url);
      const sequence = calls(seed, 12);
      const before = c.spans().length;
      const changes = (await page.evaluate(`(${RUN})(${JSON.stringify([c.url, sequence])})`)) as Array<{ type: string; from: string; to: string }>;
      const spans = c.spans().slice(before).filter((s) => s.name === 'navigation')
        .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
      const seen = spans.map((s) => attrs(s.attributes)).map((a) => ({ type: a['navigation.type'], from: a['navigation.from'], to: a['url.full'] }));
      assert.deepEqual(seen, changes, `seed ${seed}: ${JSON.stringify(sequence)}`);
    }
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers('a navigation span for each pushState/replaceState that changes the URL, none otherwise (6 generated sequences)', urlChangesOnly);
